import Foundation

/// The Compose stack as docker-compose itself reads it, next to the files it comes from.
///
/// The services come from `docker-compose config` (the `docker-compose` 1.29 apt package that
/// Compose/local/install.sh installs): it resolves the anchors and merge keys and substitutes
/// `.env` exactly as `docker-compose up` would, and prints block-style YAML that ``YAMLNode``
/// reads. The raw compose.yaml text is kept too, for what substitution hides (which `${VAR}`s it
/// references, literals it should not hold).
struct ComposeStack: Sendable {
    /// The package directory: this file is <root>/Tests/ComposeTests/ComposeStack.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    var composeText: String
    var env: EnvFile
    /// `docker-compose config`'s `services`, by name.
    var services: [String: YAMLNode]
    var dockerfile: String
    var packageManifest: String

    /// Loaded once for every test.
    static let loaded = Result { try ComposeStack.load() }

    static func load() throws -> ComposeStack {
        let compose = root.appendingPathComponent("Compose/compose.yaml")
        let envURL = root.appendingPathComponent("Compose/.env")
        let normalized = try run(dockerCompose: ["--env-file", envURL.path, "-f", compose.path, "config"])
        guard let services = try YAMLNode.parse(normalized)["services"]?.entries else {
            throw Failure("docker-compose config printed no services")
        }
        return ComposeStack(
            composeText: try String(contentsOf: compose, encoding: .utf8),
            env: try EnvFile(String(contentsOf: envURL, encoding: .utf8)),
            services: services,
            dockerfile: try String(contentsOf: root.appendingPathComponent("Compose/Dockerfile"), encoding: .utf8),
            packageManifest: try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs docker-compose with PATH as the only variable: Compose prefers the caller's environment
    /// over .env, and the local stack's env.sh exports CDRA_KAFKA_BROKERS. Anything it writes to
    /// stderr (it only warns about a variable .env does not set) is a failure.
    static func run(dockerCompose arguments: [String]) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let executable = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent("docker-compose") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw Failure("docker-compose is not on PATH (Compose/local/install.sh installs the apt package)")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("compose-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdoutURL = scratch.appendingPathComponent("stdout"), stderrURL = scratch.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
              FileManager.default.createFile(atPath: stderrURL.path, contents: nil) else {
            throw Failure("cannot create files in \(scratch.path)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["PATH": path]
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        process.waitUntilExit()
        let output = try String(contentsOf: stdoutURL, encoding: .utf8)
        let errors = try String(contentsOf: stderrURL, encoding: .utf8)
        guard process.terminationStatus == 0, errors.isEmpty else {
            throw Failure("docker-compose \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(errors)")
        }
        return output
    }

    // MARK: - What the tests ask

    /// The services that run the cdra image (every service but postgres and kafka).
    var cdraServices: [String] {
        services.filter { $0.value["image"]?.string == "cdra:latest" }.keys.sorted()
    }

    /// A service's environment (docker-compose config prints it as a mapping).
    func environment(_ service: String) -> [String: String] {
        services[service]?["environment"]?.entries?.compactMapValues(\.string) ?? [:]
    }

    /// compose.yaml without its comment lines (docker-compose substitutes nothing in comments).
    var composeDefinitions: String {
        composeText.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.drop(while: { $0 == " " }).hasPrefix("#") }.joined(separator: "\n")
    }

    /// The names of the `${VAR}` (and `${VAR:-default}`, ...) compose.yaml references.
    var referencedVariables: Set<String> {
        Set(Self.matches(#"\$\{([A-Za-z_][A-Za-z0-9_]*)"#, in: composeDefinitions))
    }

    /// `$VAR` without braces (`$$` is an escaped dollar, not a reference).
    var unbracedReferences: [String] {
        Self.matches(#"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)"#, in: composeDefinitions)
    }

    /// The names of Package.swift's executable products.
    var executableProducts: Set<String> {
        Set(Self.matches(#"\.executable\(name:\s*"([^"]+)""#, in: packageManifest))
    }

    /// The executables the Dockerfile builds and copies into the image (its PRODUCTS argument).
    var dockerfileProducts: Set<String> {
        Set(Self.matches(#"(?m)^ARG PRODUCTS="([^"]*)""#, in: dockerfile).flatMap { $0.split(separator: " ").map(String.init) })
    }

    /// The image's default entrypoint (the Dockerfile's last ENTRYPOINT, in exec form).
    var dockerfileEntrypoint: [String] {
        guard let line = Self.matches(#"(?m)^ENTRYPOINT (\[.*\])$"#, in: dockerfile).last,
              let array = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String] else { return [] }
        return array
    }

    /// The first capture group of every match of `pattern`.
    static func matches(_ pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
