import Foundation
#if canImport(Darwin)
import Darwin
#endif

/// The process's resident memory now, in bytes (0 when the system does not say): unlike the peak
/// (`ru_maxrss`), it leaves out buffers freed earlier, such as a benchmark's probe.
public func residentMemoryBytes() -> Int {
    #if os(Linux)
    // /proc/self/statm: total and resident pages.
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #elseif canImport(Darwin)
    var info = mach_task_basic_info()
    var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
    let status = withUnsafeMutablePointer(to: &info) {
        $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
            task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
        }
    }
    return status == KERN_SUCCESS ? Int(info.resident_size) : 0
    #else
    return 0
    #endif
}

/// The process's peak resident memory in bytes since it started or since the last
/// `resetPeakResidentMemory()` (Linux: VmHWM; elsewhere the lifetime peak, `ru_maxrss`).
public func peakResidentMemoryBytes() -> Int {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return kilobytes * 1024
    #else
    var usage = rusage()
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)  // bytes on macOS
    #endif
}

/// Starts a new peak (Linux: writing 5 to /proc/self/clear_refs resets VmHWM to the current
/// resident size); returns whether the system allowed it.
@discardableResult
public func resetPeakResidentMemory() -> Bool {
    #if os(Linux)
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    #else
    return false
    #endif
}
