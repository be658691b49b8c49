/// A weight matrix as the inference path uses it: out = input · W (+ bias). Dense Float
/// storage implements it today; a quantized matrix (int8, 4-bit …) can implement the same
/// product over its own storage without the model code changing.
public protocol WeightMatrix: Sendable {
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Bytes read per product (for bandwidth bounds).
    var storageBytes: Int { get }

    /// out (rows × outputSize) = input (rows × inputSize) · W + bias.
    func apply(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext)
}

/// Float32 weights in place in the model's parameter buffer: [in, out] as GPT-2's Conv1D, or
/// [out, in] (`outputMajor`) as nn.Linear and the unembedding.
public struct DenseWeightMatrix: WeightMatrix, @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let inputSize: Int
    public let outputSize: Int
    public let outputMajor: Bool

    public init(pointer: UnsafePointer<Float>, inputSize: Int, outputSize: Int, outputMajor: Bool = false) {
        self.pointer = pointer
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.outputMajor = outputMajor
    }

    public var storageBytes: Int { inputSize * outputSize * 4 }

    public func apply(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext
    ) {
        Kernels.linearForward(
            output: output, input: input, weight: pointer, bias: bias, rows: rows, inputSize: inputSize,
            outputSize: outputSize, weightIsOutputMajor: outputMajor, context: context)
    }
}
