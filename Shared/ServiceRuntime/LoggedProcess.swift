import Foundation

/// Starts a child process with its standard output and error going to a fresh log file, as the
/// benchmarks and the end-to-end tests run service replicas.
public enum LoggedProcess {
    /// Creates (or empties) `logURL`, creating its directory, and runs `executable` with the
    /// arguments and environment, both streams into that file.
    public static func start(executable: URL, arguments: [String], environment: [String: String],
                             logURL: URL) throws -> Process {
        try FileManager.default.createDirectory(at: logURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}
