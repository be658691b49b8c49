import ArgumentParser
import Foundation
import Synchronization

/// `gpt serve` as a process of its own for `gpt bench serve`: started on a free port, its CPU time
/// readable, stopped with SIGTERM (a graceful shutdown) when done.
final class ServerProcess {
    let process = Process()
    let port: Int

    init(model: String, parallel: Int, threads: Int) throws {
        guard let executable = Bundle.main.executableURL else { throw ValidationError("cannot find the gpt executable to start a server") }
        process.executableURL = executable
        process.arguments = [
            "serve", "--model", model, "--port", "0", "--parallel", "\(parallel)", "--max-queue", "\(4 * parallel)",
            "--threads", "\(threads)",
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The server says where it listens on standard error; read until then (a minute at most).
        let found = Mutex<Int?>(nil)
        let said = Mutex("")
        let ready = DispatchSemaphore(value: 0)
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                ready.signal()
                return
            }
            let text = said.withLock { $0 += String(decoding: data, as: UTF8.self); return $0 }
            if found.withLock({ $0 }) == nil, let range = text.range(of: "listening on http://127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                found.withLock { $0 = Int(digits) }
                ready.signal()
            }
        }
        _ = ready.wait(timeout: .now() + 60)
        guard let port = found.withLock({ $0 }) else {
            process.terminate()
            throw ValidationError("gpt serve did not start: \(said.withLock { $0 }.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        self.port = port
    }

    /// The share of one core the server used over `seconds`, from /proc (Linux; 0 elsewhere).
    func cpuShare(over seconds: Double) -> Double {
        func ticks() -> Double? {
            guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command name: state is field 3, utime and stime fields 14 and 15.
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return user + system
        }
        guard let start = ticks() else { return 0 }
        Thread.sleep(forTimeInterval: seconds)
        guard let end = ticks() else { return 0 }
        return (end - start) / Double(sysconf(Int32(_SC_CLK_TCK))) / seconds
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
