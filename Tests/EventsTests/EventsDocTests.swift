import Foundation
import Testing
import EventsTesting

/// Docs/events.md against `Schemas/events/*.avsc`: every schema has its section, every top-level
/// field is named in it, every field its tables list exists in the schema, and the topic table
/// gives each event type the schema's topic and key. A field added to a schema without a line in
/// the page, or one the page still lists after it left the schema, fails here.
@Suite struct EventsDocTests {
    static let page: String = {
        let url = AvroSchemaValidator.schemasDirectory
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Docs/events.md")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    struct Schema {
        let file: String
        let eventType: String
        let version: Int
        let topic: String
        let key: String
        let topLevelFields: [String]
        let allFields: Set<String>
    }

    static func schemas() throws -> [Schema] {
        let dir = AvroSchemaValidator.schemasDirectory
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".avsc") && $0 != "envelope.v1.avsc" }.sorted()
            .map { file in
                let data = try Data(contentsOf: dir.appendingPathComponent(file))
                let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(file)")
                var all = Set<String>()
                collectFields(json, into: &all)
                return Schema(file: file, eventType: try #require(json["cdra.event_type"] as? String, "\(file)"),
                              version: try #require(json["cdra.schema_version"] as? Int, "\(file)"),
                              topic: try #require(json["cdra.topic"] as? String, "\(file)"),
                              key: try #require(json["cdra.key"] as? String, "\(file)"),
                              topLevelFields: ((json["fields"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String },
                              allFields: all)
            }
    }

    /// Field names of every record at any depth (unions, arrays and maps walked through).
    static func collectFields(_ node: Any, into names: inout Set<String>) {
        if let array = node as? [Any] { for n in array { collectFields(n, into: &names) }; return }
        guard let object = node as? [String: Any] else { return }
        for field in (object["fields"] as? [[String: Any]]) ?? [] {
            if let name = field["name"] as? String { names.insert(name) }
            if let type = field["type"] { collectFields(type, into: &names) }
        }
        for key in ["items", "values", "type"] where object[key] != nil && !(object[key] is String) {
            collectFields(object[key]!, into: &names)
        }
    }

    /// The text of `### \`<event_type>\` v<N>` up to the next heading.
    static func section(_ schema: Schema) -> String? {
        let heading = "### `\(schema.eventType)` v\(schema.version)"
        guard let start = page.range(of: heading) else { return nil }
        let rest = page[start.upperBound...]
        let end = rest.range(of: "\n#")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    /// The first cell of each table row that is a backticked name (`| \`field\` | ...`).
    static func tableFields(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard line.hasPrefix("|"), cells.count > 2 else { return nil }
            let first = cells[1].trimmingCharacters(in: .whitespaces)
            guard first.hasPrefix("`"), first.hasSuffix("`"), first.count > 2 else { return nil }
            return String(first.dropFirst().dropLast())
        }
    }

    @Test func thePageAndTheSchemasAreThere() throws {
        #expect(!Self.page.isEmpty, "Docs/events.md not found")
        #expect(try Self.schemas().count >= 6)
    }

    @Test func everySchemaHasASectionNamingItsFields() throws {
        for schema in try Self.schemas() {
            let section = try #require(Self.section(schema), "Docs/events.md has no section for \(schema.file)")
            for field in schema.topLevelFields {
                #expect(section.contains("`\(field)`"), "Docs/events.md, \(schema.eventType) v\(schema.version): field `\(field)` is not described")
            }
            for listed in Self.tableFields(section) {
                #expect(schema.allFields.contains(listed),
                        "Docs/events.md, \(schema.eventType) v\(schema.version) lists `\(listed)`, which \(schema.file) does not have")
            }
        }
    }

    @Test func theTopicTableHasEachSchemasTopicAndKey() throws {
        let rows = Self.page.split(separator: "\n").filter { $0.hasPrefix("|") }
        for schema in try Self.schemas() {
            let row = rows.first { $0.contains("`\(schema.eventType)` v\(schema.version)") }
            let found = try #require(row, "Docs/events.md: no topic-table row for \(schema.eventType) v\(schema.version)")
            #expect(found.contains("`\(schema.topic)`"), "row for \(schema.eventType) does not name topic \(schema.topic): \(found)")
            // The key is a field path (`query.query_id`): the row names it whole.
            #expect(found.contains("`\(schema.key)`"), "row for \(schema.eventType) does not name key \(schema.key): \(found)")
        }
    }

    /// The checker itself: a schema field the page does not describe is found.
    @Test func anUndescribedFieldIsFound() {
        let schema = Schema(file: "x.v1.avsc", eventType: "x", version: 1, topic: "t", key: "k",
                            topLevelFields: ["a", "b"], allFields: ["a", "b"])
        let section = "\n| field | type |\n|---|---|\n| `a` | string |\n| `c` | long |\n"
        #expect(!section.contains("`b`"))
        #expect(Self.tableFields(section) == ["a", "c"])
        #expect(!schema.allFields.contains("c"))
    }
}
