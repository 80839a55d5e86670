import DeepPref
import Foundation

/// Reads PrefEval's explicit-preference files (`<stem>.json`, each a list of
/// `{preference, question, explanation}`) and maps every file to one DeepPref topic with the pack's
/// `prefeval_topic_map` (the mapping and its reasons are in Docs/deeppref.md).
public struct PrefEvalExplicitImporter: Sendable {
    public let pack: KnowledgePack

    public init(pack: KnowledgePack) {
        self.pack = pack
    }

    private struct Record: Decodable {
        var preference: String
        var question: String
        var explanation: String?
    }

    /// The DeepPref topic of a PrefEval file stem, e.g. `travel_hotel` → `Local Services`.
    public func topic(forFileStem stem: String) -> String? { pack.lexicon.prefevalTopicMap[stem] }

    /// Every record of every `*.json` in `directory`, files in name order, records in file order.
    /// Ids are `prefeval-<stem>-<nnnn>` (1-based). Throws a ``PairFileError`` on an unmapped file or
    /// a bad record.
    public func importDirectory(_ directory: URL) throws -> [DeepPrefPair] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw PairFileError(.unreadable, "cannot list \(directory.path): \(error)")
        }
        if names.isEmpty { throw PairFileError(.unreadable, "no .json files in \(directory.path)") }
        var out: [DeepPrefPair] = []
        for name in names {
            let stem = String(name.dropLast(5))
            guard let topic = topic(forFileStem: stem) else {
                throw PairFileError(.unmappedTopic, "\(name): no DeepPref topic mapped for '\(stem)' (lexicon.json prefeval_topic_map)")
            }
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw PairFileError(.unreadable, "\(name): cannot read")
            }
            let records: [Record]
            do {
                records = try JSONDecoder().decode([Record].self, from: data)
            } catch {
                throw PairFileError(.malformed, "\(name): not a list of {preference, question, explanation}: \(error)")
            }
            for (i, r) in records.enumerated() {
                let n = String(i + 1)
                let id = "prefeval-\(stem)-" + String(repeating: "0", count: max(0, 4 - n.count)) + n
                out.append(DeepPrefPair(id: id, topic: topic, preference: r.preference, question: r.question,
                                        explanation: r.explanation ?? "", hiddenPreferences: [], split: nil,
                                        profileID: "profile-\(id)", riskTolerance: nil, source: "prefeval-explicit/\(stem)"))
            }
        }
        return out
    }
}
