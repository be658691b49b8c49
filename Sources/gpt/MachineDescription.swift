import Foundation

/// The CPU a benchmark ran on, as `lscpu` names it (model name, family, model), so that every figure
/// can be told apart by chip.
enum MachineDescription {
    static var cpu: String {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
            if line.isEmpty { break }
        }
        let name = fields["model name"] ?? "unknown CPU"
        if let family = fields["cpu family"], let model = fields["model"] { return "\(name) (family \(family), model \(model))" }
        return name
        #else
        var size = 0
        sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0)
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0)
        return String(cString: bytes)
        #endif
    }
}
