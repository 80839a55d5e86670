import Foundation
import LanguageModel

/// The fixture written by Reference/reference.py, regenerated into a temporary directory.
struct ReferenceFixture {
    static let magic: Int32 = 20261130
    static let version: Int32 = 1

    let config: TransformerConfig
    let B: Int, T: Int
    let parameters: [Float]
    let inputs: [Int32], targets: [Int32], weights: [Float]
    let logits: [Float]
    let loss: Float
    let gradients: [Float]
    let trainWeights: [Float]
    let trainLosses: [Float]

    /// Runs `python3 Reference/reference.py <tmp>/fixture.bin` and parses the result.
    static func generate() throws -> ReferenceFixture {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Reference/reference.py")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-ref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("fixture.bin")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, out.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(message: "reference.py exited with \(process.terminationStatus)")
        }
        return try parse(Array(try Data(contentsOf: out)))
    }

    static func parse(_ bytes: [UInt8]) throws -> ReferenceFixture {
        var cursor = 0
        func int() throws -> Int32 {
            guard cursor + 4 <= bytes.count else { throw FixtureError(message: "fixture truncated") }
            let v = UInt32(bytes[cursor]) | UInt32(bytes[cursor + 1]) << 8 | UInt32(bytes[cursor + 2]) << 16 | UInt32(bytes[cursor + 3]) << 24
            cursor += 4
            return Int32(bitPattern: v)
        }
        func ints(_ n: Int) throws -> [Int32] { try (0..<n).map { _ in try int() } }
        func floats(_ n: Int) throws -> [Float] { try (0..<n).map { _ in Float(bitPattern: UInt32(bitPattern: try int())) } }
        guard try int() == magic else { throw FixtureError(message: "bad magic") }
        guard try int() == version else { throw FixtureError(message: "unsupported fixture version") }
        let h = try ints(7).map(Int.init)
        let config = TransformerConfig(vocabularySize: h[0], contextLength: h[1], layerCount: h[2], headCount: h[3], channelCount: h[4])
        let B = h[5], T = h[6], P = config.parameterCount, V = h[0]
        let parameters = try floats(P)
        let inputs = try ints(B * T), targets = try ints(B * T), weights = try floats(B * T)
        let logits = try floats(B * T * V), loss = try floats(1)[0]
        let gradients = try floats(P)
        let trainWeights = try floats(B * T)
        let steps = Int(try int())
        let trainLosses = try floats(steps)
        guard cursor == bytes.count else { throw FixtureError(message: "trailing bytes in fixture") }
        return ReferenceFixture(config: config, B: B, T: T, parameters: parameters, inputs: inputs, targets: targets,
                                weights: weights, logits: logits, loss: loss, gradients: gradients,
                                trainWeights: trainWeights, trainLosses: trainLosses)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
