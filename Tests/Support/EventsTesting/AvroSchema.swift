import Foundation

/// A parsed Avro schema: the part of the Avro 1.11 specification CDRA's event schemas use
/// (every primitive type, records, enums, arrays, maps, fixed, unions, named-type references
/// and logical types as annotations).
///
/// Named types are defined once and then referred to by full name, as Avro requires; a schema
/// may also refer to names supplied from outside (``init(json:externalTypes:)``), the way the
/// envelope schema refers to `cdra.events.Payload`.
public struct AvroSchema: Sendable, Equatable {
    /// An Avro type.
    public indirect enum Kind: Sendable, Equatable {
        case null, boolean, int, long, float, double, bytes, string
        case record(Record)
        case enumeration(Enumeration)
        case array(Kind)
        case map(Kind)
        case fixed(name: String, size: Int)
        case union([Kind])
        /// A named type used again after its definition; look it up with ``AvroSchema/resolve(_:)``.
        case reference(String)
        /// A primitive annotated with `logicalType` (e.g. `uuid` on a string).
        case logical(String, Kind)
    }

    /// A record type: named fields in order.
    public struct Record: Sendable, Equatable {
        /// Full name, e.g. `cdra.events.UserProfile`.
        public var name: String
        public var fields: [Field]
    }

    /// A field of a record.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var type: Kind
        /// The field's `default`, when it has one (`.null` for `"default": null`).
        public var defaultValue: JSONValue?
    }

    /// An enum type: its full name and symbols in order.
    public struct Enumeration: Sendable, Equatable {
        public var name: String
        public var symbols: [String]
    }

    /// The top-level type.
    public var root: Kind
    /// Every named type this schema defines or was given, by full name.
    public var namedTypes: [String: Kind]
    /// Attributes of the top-level object that Avro does not define (metadata such as
    /// `cdra.event_type`).
    public var properties: [String: JSONValue]

    // MARK: - Loading

    /// Reads and parses an `.avsc` file.
    public init(contentsOf url: URL, externalTypes: [String: Kind] = [:]) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AvroSchemaError(.schemaNotFound, path: "", "cannot read \(url.path): \(error.localizedDescription)")
        }
        let json: JSONValue
        do {
            json = try JSONValue(bytes: [UInt8](data))
        } catch let error as AvroSchemaError {
            throw AvroSchemaError(.invalidSchema, path: "", "\(url.lastPathComponent): \(error.reason)")
        }
        do {
            try self.init(json: json, externalTypes: externalTypes)
        } catch let error as AvroSchemaError {
            throw AvroSchemaError(error.code, path: error.path, "\(url.lastPathComponent): \(error.reason)")
        }
    }

    /// Parses a schema from its JSON form. `externalTypes` are named types defined elsewhere that
    /// this schema may refer to by full name.
    public init(json: JSONValue, externalTypes: [String: Kind] = [:]) throws {
        var parser = Parser(names: externalTypes)
        root = try parser.parse(json, namespace: nil, path: "")
        namedTypes = parser.names
        var properties: [String: JSONValue] = [:]
        if case .object(let fields) = json {
            for (key, value) in fields where !Parser.reservedAttributes.contains(key) { properties[key] = value }
        }
        self.properties = properties
    }

    /// Follows a reference to the named type's definition; other kinds come back unchanged.
    public func resolve(_ kind: Kind) -> Kind {
        var kind = kind
        var seen = Set<String>()
        while case .reference(let name) = kind, let target = namedTypes[name], seen.insert(name).inserted {
            kind = target
        }
        return kind
    }

    // MARK: - Parser

    private struct Parser {
        static let primitives: [String: Kind] = [
            "null": .null, "boolean": .boolean, "int": .int, "long": .long,
            "float": .float, "double": .double, "bytes": .bytes, "string": .string,
        ]
        static let reservedAttributes: Set<String> = [
            "type", "name", "namespace", "doc", "aliases", "fields", "symbols", "items", "values",
            "size", "default", "order", "logicalType",
        ]

        var names: [String: Kind]

        mutating func parse(_ json: JSONValue, namespace: String?, path: String) throws -> Kind {
            switch json {
            case .string(let name):
                return try named(name, namespace: namespace, path: path)
            case .array(let branches):
                return try union(branches, namespace: namespace, path: path)
            case .object(let fields):
                return try complex(fields, namespace: namespace, path: path)
            default:
                throw AvroSchemaError(.invalidSchema, path: path, "a type must be a name, an array or an object, not \(json.kindName)")
            }
        }

        func named(_ name: String, namespace: String?, path: String) throws -> Kind {
            if let primitive = Self.primitives[name] { return primitive }
            let full = Self.fullName(name, namespace: namespace)
            if names[full] != nil { return .reference(full) }
            if names[name] != nil { return .reference(name) }
            throw AvroSchemaError(.invalidSchema, path: path, "unknown type name '\(full)'")
        }

        mutating func union(_ branches: [JSONValue], namespace: String?, path: String) throws -> Kind {
            guard !branches.isEmpty else { throw AvroSchemaError(.invalidSchema, path: path, "empty union") }
            var kinds: [Kind] = []
            for branch in branches {
                let kind = try parse(branch, namespace: namespace, path: path)
                if case .union = kind { throw AvroSchemaError(.invalidSchema, path: path, "a union may not contain a union") }
                kinds.append(kind)
            }
            return .union(kinds)
        }

        mutating func complex(_ fields: [String: JSONValue], namespace: String?, path: String) throws -> Kind {
            guard let typeValue = fields["type"] else {
                throw AvroSchemaError(.invalidSchema, path: path, "type object without 'type'")
            }
            guard case .string(let type) = typeValue else {
                // {"type": {...}} or {"type": [...]}: a wrapped type.
                return try parse(typeValue, namespace: namespace, path: path)
            }
            let kind: Kind
            switch type {
            case "record", "error":
                kind = try record(fields, namespace: namespace, path: path)
            case "enum":
                let (full, _) = try declaredName(fields, namespace: namespace, path: path)
                guard case .array(let values)? = fields["symbols"] else {
                    throw AvroSchemaError(.invalidSchema, path: path, "enum \(full) has no 'symbols' array")
                }
                let symbols = try values.map { value -> String in
                    guard case .string(let s) = value, Self.isValidName(s) else {
                        throw AvroSchemaError(.invalidSchema, path: path, "enum \(full) has an invalid symbol \(value)")
                    }
                    return s
                }
                guard Set(symbols).count == symbols.count else {
                    throw AvroSchemaError(.invalidSchema, path: path, "enum \(full) repeats a symbol")
                }
                kind = .enumeration(Enumeration(name: full, symbols: symbols))
                try define(full, kind, path: path)
            case "array":
                guard let items = fields["items"] else { throw AvroSchemaError(.invalidSchema, path: path, "array without 'items'") }
                kind = .array(try parse(items, namespace: namespace, path: path + "[]"))
            case "map":
                guard let values = fields["values"] else { throw AvroSchemaError(.invalidSchema, path: path, "map without 'values'") }
                kind = .map(try parse(values, namespace: namespace, path: path + "{}"))
            case "fixed":
                let (full, _) = try declaredName(fields, namespace: namespace, path: path)
                guard let size = fields["size"]?.integerValue, size >= 0 else {
                    throw AvroSchemaError(.invalidSchema, path: path, "fixed \(full) has no valid 'size'")
                }
                kind = .fixed(name: full, size: Int(size))
                try define(full, kind, path: path)
            default:
                kind = try named(type, namespace: namespace, path: path)
            }
            if case .string(let logicalType)? = fields["logicalType"] { return .logical(logicalType, kind) }
            return kind
        }

        mutating func record(_ json: [String: JSONValue], namespace: String?, path: String) throws -> Kind {
            let (full, recordNamespace) = try declaredName(json, namespace: namespace, path: path)
            guard case .array(let fieldValues)? = json["fields"] else {
                throw AvroSchemaError(.invalidSchema, path: path, "record \(full) has no 'fields' array")
            }
            guard names[full] == nil else {
                throw AvroSchemaError(.invalidSchema, path: path, "type '\(full)' is defined twice")
            }
            // Define the name first so the record may refer to itself.
            names[full] = .record(Record(name: full, fields: []))
            var fields: [Field] = []
            for value in fieldValues {
                guard case .object(let f) = value, case .string(let name)? = f["name"], Self.isValidName(name) else {
                    throw AvroSchemaError(.invalidSchema, path: path, "record \(full) has a field without a valid 'name'")
                }
                let fieldPath = path.isEmpty ? name : path + "." + name
                guard !fields.contains(where: { $0.name == name }) else {
                    throw AvroSchemaError(.invalidSchema, path: fieldPath, "record \(full) repeats field '\(name)'")
                }
                guard let typeValue = f["type"] else {
                    throw AvroSchemaError(.invalidSchema, path: fieldPath, "field without 'type'")
                }
                let type = try parse(typeValue, namespace: recordNamespace, path: fieldPath)
                let defaultValue = f["default"]
                if let defaultValue {
                    try checkDefault(defaultValue, type: type, path: fieldPath)
                }
                fields.append(Field(name: name, type: type, defaultValue: defaultValue))
            }
            let kind = Kind.record(Record(name: full, fields: fields))
            names[full] = kind
            return kind
        }

        /// Avro: a field default must match the type, and for a union its first branch.
        func checkDefault(_ value: JSONValue, type: Kind, path: String) throws {
            var branch = type
            if case .union(let kinds) = type { branch = kinds[0] }
            let schema = AvroSchema(root: branch, namedTypes: names, properties: [:])
            do {
                try AvroSchemaValidator.validate(value, against: schema)
            } catch let error as AvroSchemaError {
                throw AvroSchemaError(.invalidSchema, path: path, "default \(value) does not match the field type (for a union, its first branch): \(error.reason)")
            }
        }

        func declaredName(_ json: [String: JSONValue], namespace: String?, path: String) throws -> (full: String, namespace: String?) {
            guard case .string(let name)? = json["name"] else {
                throw AvroSchemaError(.invalidSchema, path: path, "named type without 'name'")
            }
            var space = namespace
            if case .string(let ns)? = json["namespace"] { space = ns.isEmpty ? nil : ns }
            let full = Self.fullName(name, namespace: space)
            guard full.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Self.isValidName(String($0)) }) else {
                throw AvroSchemaError(.invalidSchema, path: path, "invalid name '\(full)'")
            }
            let lastDot = full.lastIndex(of: ".")
            return (full, lastDot.map { String(full[..<$0]) })
        }

        mutating func define(_ full: String, _ kind: Kind, path: String) throws {
            guard names[full] == nil else {
                throw AvroSchemaError(.invalidSchema, path: path, "type '\(full)' is defined twice")
            }
            names[full] = kind
        }

        static func fullName(_ name: String, namespace: String?) -> String {
            if name.contains(".") { return name }
            guard let namespace, !namespace.isEmpty else { return name }
            return namespace + "." + name
        }

        static func isValidName(_ s: String) -> Bool {
            guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
            return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
        }
    }

    init(root: Kind, namedTypes: [String: Kind], properties: [String: JSONValue]) {
        self.root = root
        self.namedTypes = namedTypes
        self.properties = properties
    }
}
