import Foundation
import GPTFormats
import GPTTensor
import GPTTokenizer

/// Reads a GPT-2 model from a GGUF file: one written by swift-gpt (`gpt quantize`), or by
/// llama.cpp's converter or `llama-quantize` for a GPT-2 model.
///
/// For inference the matrices stay where they are in the memory-mapped file and are multiplied in
/// their own type; only the vectors are copied. An all-F32 file becomes an ordinary dense model
/// (transposed back), so its logits equal the safetensors model's exactly. `dense` dequantizes
/// everything into an ordinary model, for what needs every weight as a float (pictures, export).
public enum GGUFModel {
    /// Whether `path` names a GGUF file (by its extension).
    public static func isGGUF(_ path: String) -> Bool { path.lowercased().hasSuffix(".gguf") }

    /// The model in `url` and its tokenizer, matrices kept in their stored types.
    public static func load(_ url: URL) throws -> (GPT, any Tokenizer) {
        try load(url, dense: false)
    }

    /// The model in `url` with every weight dequantized to Float32, and its tokenizer.
    public static func loadDense(_ url: URL) throws -> (GPT, any Tokenizer) {
        try load(url, dense: true)
    }

    /// The weight types of the file's matrices, most bytes first ("Q4_0", or "Q4_0 + F32").
    public static func matrixTypes(_ url: URL) throws -> [String] {
        let file = try GGUFFile(contentsOf: url)
        let configuration = try configuration(of: file)
        var bytes: [String: Int] = [:]
        for entry in GGUFNames.entries(configuration) where entry.isMatrix {
            if let tensor = file.tensor(entry.gguf) { bytes[tensor.type.description, default: 0] += tensor.byteRange.count }
        }
        return bytes.sorted { $0.value > $1.value }.map(\.key)
    }

    private static func load(_ url: URL, dense: Bool) throws -> (GPT, any Tokenizer) {
        try load(GGUFFile(contentsOf: url), dense: dense)
    }

    /// The model in a parsed GGUF file (its bytes stay where `file` holds them); `dense` dequantizes.
    public static func load(_ file: GGUFFile, dense: Bool) throws -> (GPT, any Tokenizer) {
        let url = file.url
        let configuration = try configuration(of: file)
        let tokenizer = try tokenizer(of: file)
        guard tokenizer.vocabularySize <= configuration.vocabularySize else {
            throw ModelError(
                "\(url.path): the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(configuration.vocabularySize); the file is corrupt")
        }
        var tensors: [String: GGUFFile.Tensor] = [:]
        for entry in GGUFNames.entries(configuration) {
            guard let tensor = file.tensor(entry.gguf) else {
                if entry.gguf == "output.weight" && configuration.tiesEmbeddings { continue }  // tied, and not repeated
                throw ModelError("\(url.path) lacks tensor \(entry.gguf), which its metadata implies; the file is incomplete")
            }
            let expected = try expectedDimensions(entry, configuration: configuration)
            guard tensor.dimensions == expected else {
                throw ModelError(
                    "\(url.path): tensor \(entry.gguf) has dimensions \(tensor.dimensions) but the metadata implies \(expected); the file is corrupt")
            }
            guard WeightType(rawValue: Int32(tensor.type.rawValue)) != nil else {
                throw ModelError(
                    "\(url.path): tensor \(entry.gguf) is \(tensor.type), which swift-gpt does not compute with (it reads \(WeightType.allCases.map(\.description).joined(separator: ", "))); quantize the original model with gpt quantize")
            }
            tensors[entry.gguf] = tensor
        }
        let allF32 = tensors.values.allSatisfy { $0.type == .f32 }
        let model = try dense || allF32
            ? denseModel(file, tensors: tensors, configuration: configuration)
            : mappedModel(file, tensors: tensors, configuration: configuration)
        return (model, tokenizer)
    }

    /// GGUF dimensions (fastest first) of an entry's tensor.
    private static func expectedDimensions(_ entry: GGUFNames.Entry, configuration: GPTConfiguration) throws -> [Int] {
        let (C, V) = (configuration.embeddingSize, configuration.vocabularySize)
        switch entry.gguf {
        case "token_embd.weight", "output.weight": return [C, V]
        case "position_embd.weight": return [C, configuration.contextLength]
        default: break
        }
        if let matrix = GGUFNames.blockMatrix(entry.gguf), entry.isMatrix {
            let shape = configuration.shape(of: matrix)
            return [shape.input, shape.output]
        }
        if entry.gguf.hasSuffix(".bias"), let matrix = GGUFNames.blockMatrix(entry.gguf) {
            return [configuration.shape(of: matrix).output]
        }
        return [C]
    }

    /// Copies one tensor as Float32 into `destination`, in our layout (transposed back when needed).
    private static func copy(
        _ tensor: GGUFFile.Tensor, of file: GGUFFile, transposed: Bool, into destination: UnsafeMutablePointer<Float>
    ) throws {
        let type = WeightType(rawValue: Int32(tensor.type.rawValue))!
        let columns = tensor.dimensions[0]
        let rows = tensor.elementCount / columns
        let values = UnsafeMutablePointer<Float>.allocate(capacity: tensor.elementCount)
        defer { values.deallocate() }
        file.withBytes(of: tensor) { type.dequantize($0, count: tensor.elementCount, into: values) }
        if let bad = UnsafeBufferPointer(start: values, count: tensor.elementCount).first(where: { !$0.isFinite }) {
            throw ModelError("\(file.url.path): tensor \(tensor.name) holds \(bad); the weights are corrupt")
        }
        if transposed {
            for r in 0..<rows { for c in 0..<columns { destination[c * rows + r] = values[r * columns + c] } }
        } else {
            destination.update(from: values, count: tensor.elementCount)
        }
    }

    private static func denseModel(
        _ file: GGUFFile, tensors: [String: GGUFFile.Tensor], configuration: GPTConfiguration
    ) throws -> GPT {
        let model = try GPT(configuration: configuration)
        for entry in GGUFNames.entries(configuration) {
            guard let ours = entry.ours, let tensor = tensors[entry.gguf], let target = model.layout.tensor(named: ours) else { continue }
            try copy(tensor, of: file, transposed: entry.transposed, into: model.parameters.pointer + target.offset)
        }
        return model
    }

    private static func mappedModel(
        _ file: GGUFFile, tensors: [String: GGUFFile.Tensor], configuration: GPTConfiguration
    ) throws -> GPT {
        func matrix(_ name: String) -> any WeightMatrix {
            let tensor = tensors[name]!
            let type = WeightType(rawValue: Int32(tensor.type.rawValue))!
            let (inputSize, outputSize) = (tensor.dimensions[0], tensor.elementCount / tensor.dimensions[0])
            let bytes = file.baseAddress + tensor.byteRange.lowerBound
            if type == .f32 {
                return DenseWeightMatrix(
                    pointer: bytes.assumingMemoryBound(to: Float.self), inputSize: inputSize, outputSize: outputSize,
                    outputMajor: true, owner: file.storage)
            }
            return QuantizedWeightMatrix(type: type, bytes: bytes, inputSize: inputSize, outputSize: outputSize, owner: file.storage)
        }
        let blocks = (0..<configuration.layerCount).map { layer in
            BlockWeights(
                qkv: matrix("blk.\(layer).attn_qkv.weight"), attentionProjection: matrix("blk.\(layer).attn_output.weight"),
                mlpUp: matrix("blk.\(layer).ffn_up.weight"), mlpDown: matrix("blk.\(layer).ffn_down.weight"))
        }
        let tokenEmbedding = matrix("token_embd.weight")
        let unembedding = tensors["output.weight"] != nil ? matrix("output.weight") : tokenEmbedding
        let model = try GPT(
            configuration: configuration,
            matrices: InferenceWeights(blocks: blocks, tokenEmbedding: tokenEmbedding, unembedding: unembedding))
        for entry in GGUFNames.entries(configuration) where !entry.isMatrix {
            guard let ours = entry.ours, let tensor = tensors[entry.gguf], let target = model.layout.tensor(named: ours) else { continue }
            try copy(tensor, of: file, transposed: false, into: model.parameters.pointer + target.offset)
        }
        return model
    }
}
