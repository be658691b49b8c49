import Foundation
import GPTFormats
import GPTTensor
import GPTTokenizer

/// Writes a model as a GGUF v3 file in llama.cpp's GPT-2 layout: matrices in one weight type
/// (quantized along each row's input dimension, bit for bit ggml's blocks), vectors and the
/// position table in F32, GPT-2's hyperparameters and tokenizer in llama.cpp's metadata keys, and
/// swift-gpt's own config.json (and, for character and word tokenizers, its tokenizer) besides.
public enum GGUFExport {
    /// What the export did, for the command to tell the user.
    public struct Report: Sendable {
        /// Why llama.cpp will not run the file (empty: it will).
        public var llamaIncompatibilities: [String] = []
        /// Matrices written in another type than asked, with the reason.
        public var fallbacks: [String] = []
        public var bytes = 0
    }

    /// Writes `model` (which must store its matrices) to `url` atomically, matrices as `scheme` says.
    public static func write(
        _ model: GPT, tokenizer: any Tokenizer, scheme: QuantizationScheme, name: String, to url: URL,
        parallelism: Parallelism = Parallelism(threads: 1)
    ) throws -> Report {
        guard model.storesMatrices else { throw ModelError("a quantized model cannot be re-quantized; quantize the original model") }
        let configuration = model.configuration
        var report = Report()
        var writer = GGUFWriter()
        let bytePair = tokenizer as? BytePairTokenizer
        if !configuration.isGPT2Compatible {
            report.llamaIncompatibilities.append(
                "its \(configuration.position) positions, \(configuration.normalization)-norm blocks and \(configuration.activation) MLP are not GPT-2's")
        }
        if !configuration.usesBias {
            report.llamaIncompatibilities.append("it has no biases, which llama.cpp's GPT-2 requires")
        }
        if bytePair == nil {
            report.llamaIncompatibilities.append("its \(tokenizer.kind) tokenizer is not a byte-level BPE")
        }
        let runsInLlama = report.llamaIncompatibilities.isEmpty
        writer.metadata = [
            ("general.architecture", .string(runsInLlama ? "gpt2" : GGUFNames.ownArchitecture)),
            ("general.name", .string(name)),
            ("general.file_type", .uint32(scheme.fileType)),
            ("general.quantization_version", .uint32(2)),
            ("gpt2.context_length", .uint32(UInt32(configuration.contextLength))),
            ("gpt2.embedding_length", .uint32(UInt32(configuration.embeddingSize))),
            ("gpt2.feed_forward_length", .uint32(UInt32(configuration.mlpSize))),
            ("gpt2.block_count", .uint32(UInt32(configuration.layerCount))),
            ("gpt2.attention.head_count", .uint32(UInt32(configuration.headCount))),
            ("gpt2.attention.layer_norm_epsilon", .float32(configuration.layerNormEpsilon)),
            (GGUFNames.configurationKey, .string(String(decoding: try configuration.huggingFaceJSON(), as: UTF8.self))),
        ]
        if let bytePair {
            writer.metadata += tokenizerMetadata(bytePair, vocabularySize: configuration.vocabularySize)
        } else {
            writer.metadata.append((GGUFNames.tokenizerKey, .string(String(decoding: try tokenizer.description.encoded(), as: UTF8.self))))
        }
        let pointer = UnsafePointer(model.parameters.pointer)
        for entry in GGUFNames.entries(configuration) {
            let tensorName = entry.ours ?? "wte.weight"  // a tied output.weight repeats the token embedding
            guard let tensor = model.layout.tensor(named: tensorName) else {
                throw ModelError("the model has no tensor \(tensorName); it cannot be exported")
            }
            let shape = tensor.shape
            // GGUF's dimensions run fastest first: [in, out] for a matrix stored as out rows of in.
            let (rows, columns) = shape.count == 1 ? (1, shape[0]) : entry.transposed ? (shape[1], shape[0]) : (shape[0], shape[1])
            var values = [Float](repeating: 0, count: rows * columns)
            let source = pointer + tensor.offset
            if entry.transposed {
                for r in 0..<rows { for c in 0..<columns { values[r * columns + c] = source[c * rows + r] } }
            } else {
                values.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source, count: rows * columns) }
            }
            var tensorType = entry.isMatrix ? scheme.type(of: entry.gguf, layerCount: configuration.layerCount) : .f32
            if let fallback = tensorType.fallback(columns: columns) {
                report.fallbacks.append(
                    "\(entry.gguf): rows of \(columns) are not whole \(tensorType) blocks of \(tensorType.blockSize); written as \(fallback)")
                tensorType = fallback
            }
            let bytes = values.withUnsafeBufferPointer {
                Data(tensorType.quantize($0.baseAddress!, rows: rows, columns: columns, parallelism: parallelism))
            }
            let dimensions = shape.count == 1 ? [columns] : [columns, rows]
            writer.tensors.append(GGUFWriter.Tensor(name: entry.gguf, dimensions: dimensions, type: GGMLType(tensorType), bytes: bytes))
            report.bytes += bytes.count
        }
        try writer.write(to: url)
        return report
    }

    /// llama.cpp's tokenizer keys for a byte-level BPE: tokens by id in GPT-2's printable form,
    /// specials as control tokens, ids past the tokenizer (a padded vocabulary) as unused [PAD…].
    static func tokenizerMetadata(_ tokenizer: BytePairTokenizer, vocabularySize: Int) -> [(key: String, value: GGUFValue)] {
        var tokens = [String](repeating: "", count: vocabularySize)
        var types = [GGUFValue](repeating: .int32(1), count: vocabularySize)
        for (token, id) in tokenizer.encoderJSON where id < vocabularySize { tokens[id] = token }
        for id in tokenizer.specialTokens.values where id < vocabularySize { types[id] = .int32(3) }
        for id in tokenizer.vocabularySize..<max(tokenizer.vocabularySize, vocabularySize) {
            tokens[id] = "[PAD\(id)]"
            types[id] = .int32(5)
        }
        var metadata: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .array(tokens.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(types)),
            ("tokenizer.ggml.merges", .array(tokenizer.mergeLines.map { .string($0) })),
        ]
        if let end = tokenizer.endOfTextToken {
            metadata += [("tokenizer.ggml.bos_token_id", .uint32(UInt32(end))), ("tokenizer.ggml.eos_token_id", .uint32(UInt32(end)))]
        }
        return metadata
    }
}

extension GGMLType {
    /// The GGUF type code of a weight type (the same ggml numbers).
    init(_ type: WeightType) { self.init(rawValue: UInt32(type.rawValue))! }
}
