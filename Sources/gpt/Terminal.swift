import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The executable's output: results on stdout, notices and errors on stderr.
enum Terminal {
    static let standardErrorIsTerminal = isatty(STDERR_FILENO) != 0
    /// Set on the ranks of a data-parallel run other than rank 0: they print nothing but errors.
    nonisolated(unsafe) static var isQuiet = false

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    static func notice(_ message: String) {
        if isQuiet { return }
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Writes `text` to stdout immediately (for streamed generation).
    static func write(_ text: String) {
        if isQuiet { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// "1:05" or "1:02:03".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    /// "1 step", "2 steps": a count with its noun in the right number.
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(grouped(Double(count))) \(noun)\(count == 1 ? "" : "s")"
    }

    /// "13.4 kB", "96.6 MB", "1.2 GB".
    static func bytes(_ count: Double) -> String {
        if count >= 1e9 { return String(format: "%.1f GB", count / 1e9) }
        if count >= 1e6 { return String(format: "%.1f MB", count / 1e6) }
        return String(format: "%.1f kB", count / 1e3)
    }

    static func grouped(_ value: Double) -> String {
        let number = Int(value.rounded())
        let digits = String(number)
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }
}

/// Ctrl-C and SIGTERM set a flag that long-running commands poll (between steps, and between the
/// micro-batches of a step); a second one exits at once.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised: Int32 = 0
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            ignoreDefaultHandler(signalNumber)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.raise(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    private func raise(_ signalNumber: Int32) {
        lock.lock()
        let again = raised != 0
        raised = signalNumber
        lock.unlock()
        if again {
            // The second Ctrl-C: the user does not want to wait for the save.
            Terminal.error("interrupted again; exiting now without saving (the last checkpoint is kept)")
            _exit(128 + signalNumber)
        }
    }

    /// The signal received (SIGINT or SIGTERM), or nil.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return raised == 0 ? nil : raised
    }

    var isRaised: Bool { signal != nil }
}

/// Stops the default action of `signalNumber` (termination) so a dispatch source can handle it.
private func ignoreDefaultHandler(_ signalNumber: Int32) {
    signal(signalNumber, SIG_IGN)
}

/// A failure while running (exit status 1), as opposed to a bad flag (`ValidationError`, 64).
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
