import ArgumentParser
import Foundation
import GPTTensor

/// `gpt`: train, run and inspect GPT models.
struct GPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "Train, sample from, evaluate and benchmark GPT models on the CPU.",
        version: "swift-gpt 0.1 (Swift \(swiftVersion))",
        subcommands: [Train.self, Finetune.self, Distill.self, Sample.self, Evaluate.self, Info.self, Quantize.self, Export.self, LoRACommand.self, Tokenize.self, TokenizerCommand.self, Word2VecCommand.self, Visualize.self, Serve.self, Bench.self]
    )
}

@main
enum Main {
    static func main() async {
        do {
            var command = try GPTCommand.parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            Ranks.communicator.finish()
        } catch {
            // One rank of a data-parallel run: say which, and end them all.
            if Ranks.communicator.isDistributed, let code = error as? ExitCode {
                Ranks.communicator.finish()  // every rank stopped together (Ctrl-C): the run is saved
                exit(code.rawValue)
            }
            if Ranks.communicator.isDistributed {
                Ranks.fail(GPTCommand.message(for: error).split(whereSeparator: \.isNewline).joined(separator: " "), error: error)
            }
            // Help and version requests print as usual; every other error is one line.
            if GPTCommand.exitCode(for: error) == .success || error is CleanExit {
                GPTCommand.exit(withError: error)
            }
            // A setting out of range, named by the library's field: say it with the flag (a usage error).
            if let invalid = error as? InvalidValue {
                Terminal.error(FlagNames.message(for: invalid))
                exit(ExitCode.validationFailure.rawValue)
            }
            // One line, whatever produced it: argument parsing, validation or the libraries.
            let message = GPTCommand.message(for: error)
                .split(whereSeparator: \.isNewline).joined(separator: " ")
            if !message.isEmpty {
                Terminal.error(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            }
            let code = GPTCommand.exitCode(for: error)
            exit(code == .success ? 1 : code.rawValue)
        }
    }
}

/// The compiler this binary was built with.
private let swiftVersion: String = {
    #if swift(>=6.3)
    "6.3"
    #elseif swift(>=6.2)
    "6.2"
    #else
    "6.x"
    #endif
}()
