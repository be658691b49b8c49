/// A weight matrix as the inference path uses it: out = input · W (+ bias). Dense Float32 storage
/// (`DenseWeightMatrix`) and ggml's half-precision and quantized types (`QuantizedWeightMatrix`)
/// implement it, so the model code never knows how its weights are stored.
public protocol WeightMatrix: Sendable {
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Bytes read per product (for bandwidth bounds).
    var storageBytes: Int { get }

    /// out (rows × outputSize) = input (rows × inputSize) · W + bias.
    func apply(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext)

    /// input gradient (rows × inputSize) += output gradient (rows × outputSize) · Wᵀ: the backward of
    /// `apply` through a frozen matrix (training an adapter over it).
    func accumulateInputGradient(
        _ inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, rows: Int, context: KernelContext)

    /// The `inputSize` weights that produce each output in `outputs` (an embedding table's rows,
    /// when the token embedding is read as the unembedding matrix it is tied to).
    func copyWeights(ofOutputs outputs: UnsafePointer<Int32>, count: Int, into destination: UnsafeMutablePointer<Float>)
}

/// Float32 weights in place in the model's parameter buffer (or a mapped file): [in, out] as GPT-2's Conv1D, or
/// [out, in] (`outputMajor`) as nn.Linear and the unembedding.
public struct DenseWeightMatrix: WeightMatrix, @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let inputSize: Int
    public let outputSize: Int
    public let outputMajor: Bool
    /// Whatever owns the memory `pointer` points into when it is not the model's (a mapped file).
    private let owner: (any Sendable)?

    public init(pointer: UnsafePointer<Float>, inputSize: Int, outputSize: Int, outputMajor: Bool = false, owner: (any Sendable)? = nil) {
        self.pointer = pointer
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.outputMajor = outputMajor
        self.owner = owner
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

    public func accumulateInputGradient(
        _ inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, rows: Int, context: KernelContext
    ) {
        Kernels.linearInputGradient(
            inputGradient: inputGradient, outputGradient: outputGradient, weight: pointer, rows: rows, inputSize: inputSize,
            outputSize: outputSize, weightIsOutputMajor: outputMajor, context: context)
    }

    public func copyWeights(ofOutputs outputs: UnsafePointer<Int32>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for index in 0..<count {
            let output = Int(outputs[index])
            let row = destination + index * inputSize
            if outputMajor {
                row.update(from: pointer + output * inputSize, count: inputSize)
            } else {
                for input in 0..<inputSize { row[input] = pointer[input * outputSize + output] }
            }
        }
    }
}
