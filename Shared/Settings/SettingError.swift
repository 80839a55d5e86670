/// A setting that cannot be used as given. The message names the variable (or flag) it came from.
public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable or flag the value came from.
    public var variable: String
    /// What is wrong, as the second half of a sentence ("must be an integer in 1...10, not 'x'").
    public var problem: String

    public init(variable: String, _ problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable) \(problem)" }
}
