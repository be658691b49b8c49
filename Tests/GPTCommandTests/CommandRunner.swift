import Foundation
import GPTTestSupport
import Testing

/// Runs the built `gpt` executable as a user would.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

enum CLI {
    /// The `gpt` binary built beside this test bundle.
    static let executable: URL = {
        var candidates: [URL] = []
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("gpt"))
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gpt"))
        for configuration in ["release", "debug"] {
            candidates.append(projectRoot.appendingPathComponent(".build/\(configuration)/gpt"))
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// Runs `gpt arguments…` to completion (or kills it after `timeout` seconds).
    @discardableResult
    static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:], timeout: Double = 300
    ) throws -> CommandResult {
        let process = try start(arguments, input: input, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        while process.process.isRunning && Date() < deadline { usleep(20_000) }
        if process.process.isRunning { process.process.terminate() }
        return process.finish()
    }

    final class Running: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        let error = Pipe()
        var outputData = Data()
        var errorData = Data()
        let lock = NSLock()

        func finish() -> CommandResult {
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
            error.fileHandleForReading.readabilityHandler = nil
            lock.lock()
            outputData += output.fileHandleForReading.readDataToEndOfFile()
            errorData += error.fileHandleForReading.readDataToEndOfFile()
            lock.unlock()
            return CommandResult(
                status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                standardError: String(decoding: errorData, as: UTF8.self))
        }

        var standardErrorSoFar: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: errorData, as: UTF8.self)
        }
    }

    /// Token caches of test runs go to a temporary directory, never the user's.
    static let cacheDirectory = temporaryDirectory("gpt-test-cache").path

    /// Starts `gpt arguments…` (or `launcher arguments…`, e.g. mpirun running gpt).
    static func start(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:], launcher: URL? = nil
    ) throws -> Running {
        let running = Running()
        running.process.executableURL = launcher ?? executable
        running.process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        variables["XDG_CACHE_HOME"] = cacheDirectory
        for (key, value) in environment { variables[key] = value }
        running.process.environment = variables
        running.process.standardOutput = running.output
        running.process.standardError = running.error
        running.output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            running.lock.lock()
            running.outputData += data
            running.lock.unlock()
        }
        running.error.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            running.lock.lock()
            running.errorData += data
            running.lock.unlock()
        }
        let inputPipe = Pipe()
        running.process.standardInput = inputPipe
        try running.process.run()
        if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try? inputPipe.fileHandleForWriting.close()
        return running
    }
}

/// Expects a failed run whose stderr is one line starting with "error:" and containing `fragment`.
func expectCleanFailure(
    _ result: CommandResult, mentioning fragment: String, status: Int32? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status != 0, "exit status 0; stderr: \(result.standardError)", sourceLocation: sourceLocation)
    if let status {
        #expect(result.status == status, "exit status \(result.status), not \(status)", sourceLocation: sourceLocation)
    }
    let lines = result.standardError.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(lines.count == 1, "stderr is not one line: \(result.standardError)", sourceLocation: sourceLocation)
    #expect(lines.first?.hasPrefix("error: ") == true, "stderr: \(result.standardError)", sourceLocation: sourceLocation)
    #expect(
        result.standardError.lowercased().contains(fragment.lowercased()),
        "stderr lacks '\(fragment)': \(result.standardError)", sourceLocation: sourceLocation)
    #expect(!result.standardError.contains("Fatal error"), sourceLocation: sourceLocation)
}
