import ArgumentParser
import Foundation

/// `cdra experiment`: the policy study (SFT vs GRPO vs CDPA over seeds and reward settings), run
/// by `policy-trainer experiment`, which this hands every argument to.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run the policy study (`policy-trainer experiment`; see its --help for the options).")

    @Argument(parsing: .captureForPassthrough, help: "Options for `policy-trainer experiment`.")
    var arguments: [String] = []

    func run() throws {
        let trainer = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("policy-trainer").path
        guard FileManager.default.isExecutableFile(atPath: trainer) else {
            throw ValidationError("policy-trainer is not built beside cdra (\(trainer)); run `swift build -c release`")
        }
        let argv = [trainer, "experiment"] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(trainer, &cArgs)
        throw ValidationError("could not start \(trainer): \(String(cString: strerror(errno)))")
    }
}
