import CKernels

/// The number format of the linear layers' products in training. Everything else — master weights,
/// gradients, optimizer moments, LayerNorm, softmax, GELU, attention, the loss and the residual
/// stream — is fp32 in both.
public enum Precision: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// Products in fp32.
    case fp32
    /// Products of bf16-rounded inputs summed in fp32 (AVX512-BF16's vdpbf16ps): Q/K/V, the
    /// attention output projection, MLP up and down and the unembedding, forward and both backward
    /// products. Attention's score and value products stay fp32.
    case bf16

    public var description: String { rawValue }

    /// Whether bf16 products run at `level` on this CPU: the AVX-512 level with AVX512-BF16.
    public static func isBFloat16Available(at level: KernelLevel) -> Bool {
        level.usable >= .avx512 && gpt_bf16_supported() != 0
    }

    /// This precision where it runs at `level`, else fp32 — with the line that tells the user why.
    public func resolved(at level: KernelLevel) -> (precision: Precision, notice: String?) {
        guard self == .bf16, !Self.isBFloat16Available(at: level) else { return (self, nil) }
        let reason = level.usable < .avx512 && gpt_bf16_supported() != 0
            ? "the kernels run at the \(level.usable) level, below AVX-512" : "this CPU has no AVX512-BF16"
        return (.fp32, "bf16 products need AVX512-BF16 and \(reason): training in fp32")
    }
}
