import ArgumentParser
import Foundation

/// Reads a training corpus: plain text, or JSONL whose lines are objects with a "text" field
/// (documents are joined with a blank line).
enum Corpus {
    static func load(_ path: String) throws -> String {
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        guard path.hasSuffix(".jsonl") else { return raw }
        var docs: [String] = []
        for (n, line) in raw.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let text = obj["text"] as? String else {
                throw ValidationError("\(path):\(n + 1): expected a JSON object with a \"text\" string")
            }
            docs.append(text)
        }
        return docs.joined(separator: "\n\n")
    }
}

/// Formats seconds as 1h02m03s / 2m03s / 3.4s.
func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "?" }
    if s < 60 { return String(format: "%.1fs", s) }
    let t = Int(s)
    return t >= 3600 ? String(format: "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60) : String(format: "%dm%02ds", t / 60, t % 60)
}

/// Peak resident set size of this process in MiB (VmHWM from /proc/self/status).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

/// Monotonic seconds.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
