import Foundation
import Testing

/// Docs/operations.md shows only code that compiles: each of its Swift blocks stands, word for word
/// (white space folded, `@main` aside), in OperationsDocExamples.swift, which this target builds.
@Suite struct OperationsDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func folded(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    @Test("every Swift example on the operations page is compiled code")
    func everyExampleCompiles() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("Docs/operations.md"), encoding: .utf8)
        let examples = try String(contentsOf: Self.root.appendingPathComponent("Tests/ServiceRuntimeTests/OperationsDocExamples.swift"),
                                  encoding: .utf8)
        let compiled = Self.folded(examples)
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```swift") { current = []; continue }
            if current != nil, line.hasPrefix("```") { blocks.append(current!.joined(separator: "\n")); current = nil; continue }
            current?.append(line)
        }
        #expect(blocks.count >= 3, "the page shows how to write a service, metrics and shutdown")
        for block in blocks {
            let code = Self.folded(block.replacingOccurrences(of: "@main\n", with: ""))
            #expect(compiled.contains(code), "this example on Docs/operations.md does not compile as shown:\n\(block)")
        }
    }
}
