import CKernels
import CQuantized

/// The instruction set a kernel table was compiled for. Every C kernel is compiled at each level
/// (`gpt_levels.h`); a `KernelContext` runs the best level this CPU supports unless asked for a lower
/// one, so tests and benchmarks can run every level on one machine.
public enum KernelLevel: Int, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    case baseline = 0
    case avx2 = 1
    case avx512 = 2

    /// The highest level this CPU runs.
    public static let best = KernelLevel(rawValue: Int(gpt_supported_level())) ?? .baseline

    /// Every level this CPU runs, lowest first.
    public static var supported: [KernelLevel] { allCases.filter { $0 <= best } }

    public static func < (left: KernelLevel, right: KernelLevel) -> Bool { left.rawValue < right.rawValue }

    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// The level named `name` ("baseline", "avx2", "avx512").
    public init?(name: String) {
        guard let level = KernelLevel.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }

    /// This level if the CPU runs it, else the best one it does.
    public var usable: KernelLevel { min(self, .best) }

    /// The elementwise and decode kernels of this level.
    var elementwise: gpt_elementwise { gpt_elementwise_for_level(Int32(rawValue)).pointee }
    var decode: gpt_decode { gpt_decode_for_level(Int32(rawValue)).pointee }
    var batched: gpt_batched { gpt_batched_for_level(Int32(rawValue)).pointee }
    var quantized: gpt_quantized { gpt_quantized_for_level(Int32(rawValue)).pointee }
}
