/// What a reader got out of a file: the good records, in file order, and the problems.
public struct RecordBatch<Record> {
    public var records: [Record]
    public var problems: [RecordProblem]

    public init(records: [Record] = [], problems: [RecordProblem] = []) {
        self.records = records
        self.problems = problems
    }
}

extension RecordBatch: Sendable where Record: Sendable {}
extension RecordBatch: Equatable where Record: Equatable {}
