import Foundation
import GPTTensor

/// Progress of long work on stderr: "42.0% | 12,345 tokens/s | 0:03 elapsed | ETA 0:04", redrawn
/// in place on a terminal (at most ten times a second), as a plain line every five seconds
/// otherwise (a log or a pipe gets a few lines, not thousands).
final class ProgressLine {
    private let unit: String
    private let start = monotonicSeconds()
    private var lastDraw = -1.0
    private var shown = false

    init(unit: String) {
        self.unit = unit
    }

    func update(done: Int, total: Int) {
        let elapsed = monotonicSeconds() - start
        let terminal = Terminal.standardErrorIsTerminal
        guard elapsed - lastDraw >= (terminal ? 0.1 : 5) || (done == total && shown) else { return }
        if !terminal && !shown && elapsed < 5 { return }  // short work stays quiet in logs
        lastDraw = elapsed
        let rate = Double(done) / max(elapsed, 1e-9)
        let line = String(
            format: "%.1f%% | %@ %@/s | %@ elapsed | ETA %@", 100 * Double(done) / Double(max(total, 1)),
            Terminal.grouped(rate), unit, Terminal.duration(elapsed),
            Terminal.duration(Double(total - done) / max(rate, 1e-9)))
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        } else {
            Terminal.notice(line)
        }
        shown = true
    }

    /// Clears the live line (plain lines stay).
    func finish() {
        if shown && Terminal.standardErrorIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
