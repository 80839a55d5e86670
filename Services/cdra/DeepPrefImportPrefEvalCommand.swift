import ArgumentParser
import DeepPref
import DeepPrefFormats
import Foundation

/// `cdra deeppref import-prefeval --dir DIR --out FILE.jsonl`
struct DeepPrefImportPrefEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-prefeval",
        abstract: "Convert PrefEval explicit-preference files into DeepPref JSONL, one topic per file.")

    @Option(help: "Directory holding PrefEval's explicit_preference/*.json files.")
    var dir: String

    @Option(help: "Output JSONL file.")
    var out: String

    func run() throws {
        let pack = try KnowledgePack.builtin()
        let pairs = try PrefEvalExplicitImporter(pack: pack).importDirectory(URL(fileURLWithPath: dir))
        try DeepPrefJSONL.encode(pairs).write(to: URL(fileURLWithPath: out))
        var perTopic: [String: Int] = [:]
        for p in pairs { perTopic[p.topic, default: 0] += 1 }
        for (topic, n) in perTopic.sorted(by: { $0.key < $1.key }) { StandardError.write("  \(topic): \(n)") }
        StandardError.write("wrote \(pairs.count) pairs to \(out)")
    }
}
