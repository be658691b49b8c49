import CKernels

/// The MLP's nonlinearity.
public enum Activation: String, Codable, Sendable, CaseIterable {
    /// GELU with GPT-2's tanh approximation ("gelu_new").
    case gelu
    case relu
}

extension Kernels {
    public static func activationForward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        count: Int, activation: Activation, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 4096) { _, range in
            let start = range.lowerBound
            switch activation {
            case .gelu: context.elementwise.gelu_forward(output + start, input + start, range.count)
            case .relu: context.elementwise.relu_forward(output + start, input + start, range.count)
            }
        }
    }

    /// Accumulates d input += f′(input) · d out.
    public static func activationBackward(
        inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, count: Int, activation: Activation, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 4096) { _, range in
            let start = range.lowerBound
            switch activation {
            case .gelu: context.elementwise.gelu_backward(inputGradient + start, input + start, outputGradient + start, range.count)
            case .relu: context.elementwise.relu_backward(inputGradient + start, input + start, outputGradient + start, range.count)
            }
        }
    }

    /// out = a + b (the residual connection's forward; its backward passes the gradient to both).
    public static func add(
        output: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        count: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 8192) { _, range in
            let start = range.lowerBound
            context.elementwise.add(output + start, a + start, b + start, range.count)
        }
    }

    /// out += a.
    public static func accumulate(
        _ output: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 8192) { _, range in
            let start = range.lowerBound
            context.elementwise.accumulate(output + start, a + start, range.count)
        }
    }

    /// Inverted dropout (writes): keeps each element with probability 1 − p and scales it by
    /// 1 / (1 − p). The mask is a pure function of (seed, element index): calling it again
    /// with the same seed on the gradient is exactly its backward.
    public static func dropout(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int,
        probability: Float, seed: UInt64, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 8192) { _, range in
            let start = range.lowerBound
            context.elementwise.dropout(output + start, input + start, range.count, seed, UInt64(start), probability)
        }
    }
}
