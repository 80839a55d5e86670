import Foundation

/// Progress and diagnostics go to stderr so stdout and output files stay clean.
enum StandardError {
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
