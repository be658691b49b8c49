import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTestSupport
import GPTTokenizer
import Testing

/// Models as GGUF files in llama.cpp's GPT-2 layout: an F32 file gives exactly the safetensors
/// model's logits; quantized files run their matrices in place (mapped) and agree with their own
/// dequantized weights; metadata carries the configuration and tokenizer both ways; files from
/// elsewhere that swift-gpt cannot run are one clear error each.
@Suite struct GGUFModelTests {
    let directory = temporaryDirectory("gguf-model")

    static func gpt2Tokenizer() throws -> BytePairTokenizer {
        try GPT2Files.load(from: sharedDataDirectory.appendingPathComponent("gpt2"))
    }

    static func model(_ configuration: GPTConfiguration, seed: UInt64 = 1) throws -> GPT {
        var generator = RandomGenerator(seed: seed)
        return try GPT(configuration: configuration, generator: &generator)
    }

    static let gpt2Shaped = GPTConfiguration(vocabularySize: 50257, contextLength: 32, embeddingSize: 64, layerCount: 2, headCount: 2)
    static let tokens: [Int32] = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 50256, 11]

    /// Logits of every position of `tokens`, and of one more token decoded after them.
    static func logits(_ model: GPT) throws -> (prefill: [Float], decode: [Float]) {
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let cache = KVCache(configuration: model.configuration)
        let prefill = Array(try session.forward(tokens: tokens, count: tokens.count, cache: cache, positions: .all))
        let decode = Array(try session.forward(tokens: [198], count: 1, cache: cache))
        return (prefill, decode)
    }

    @Test func f32FileGivesTheSafetensorsModelsLogitsExactly() throws {
        let model = try Self.model(Self.gpt2Shaped)
        let url = directory.appendingPathComponent("f32.gguf")
        let report = try GGUFExport.write(model, tokenizer: try Self.gpt2Tokenizer(), scheme: .uniform(.f32), name: "t", to: url)
        #expect(report.llamaIncompatibilities.isEmpty && report.fallbacks.isEmpty)
        let (loaded, tokenizer) = try GGUFModel.load(url)
        #expect(loaded.configuration == model.configuration && loaded.storesMatrices)
        #expect(try tokenizer.description.encoded() == (try Self.gpt2Tokenizer().description.encoded()))
        let (a, b) = (try Self.logits(model), try Self.logits(loaded))
        #expect(a.prefill.map(\.bitPattern) == b.prefill.map(\.bitPattern))
        #expect(a.decode.map(\.bitPattern) == b.decode.map(\.bitPattern))
    }

    @Test(arguments: [WeightType.q8_0, .q4_0, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K, .f16, .bf16])
    func quantizedFileRunsInPlaceAndAgreesWithItsDequantizedWeights(type: WeightType) throws {
        var configuration = Self.gpt2Shaped
        if type.isKQuant { configuration.embeddingSize = 256 }  // rows of whole super-blocks
        let model = try Self.model(configuration)
        let url = directory.appendingPathComponent("\(type).gguf")
        _ = try GGUFExport.write(model, tokenizer: try Self.gpt2Tokenizer(), scheme: .uniform(type), name: "t", to: url)
        let (mapped, _) = try GGUFModel.load(url)
        let (dense, _) = try GGUFModel.loadDense(url)
        #expect(!mapped.storesMatrices && dense.storesMatrices)
        #expect(mapped.parameterCount == model.parameterCount)
        let (a, b) = (try Self.logits(dense), try Self.logits(mapped))
        // Prefill multiplies dequantized tiles (only the summation order differs); decode quantizes
        // the activations of integer types to 8 bits.
        let prefillError = zip(a.prefill, b.prefill).map { abs($0 - $1) }.max()!
        let decodeError = zip(a.decode, b.decode).map { abs($0 - $1) }.max()!
        let scale = a.decode.map(abs).max()!
        #expect(prefillError <= 1e-4 * max(scale, 1), "\(type) prefill \(prefillError)")
        #expect(decodeError <= (type.isInteger ? 0.05 : 1e-4) * max(scale, 1), "\(type) decode \(decodeError) of \(scale)")
        // And the quantized model is close to the original.
        let original = try Self.logits(model)
        let drift = zip(original.decode, b.decode).map { abs($0 - $1) }.max()!
        #expect(drift <= 0.25 * max(scale, 1), "\(type) drift \(drift)")
    }

    @Test func llamaCppMetadataAloneDescribesTheModel() throws {
        var configuration = Self.gpt2Shaped
        configuration.vocabularySize = 50304  // padded, as nanoGPT does
        let model = try Self.model(configuration)
        let ours = directory.appendingPathComponent("ours.gguf")
        _ = try GGUFExport.write(model, tokenizer: try Self.gpt2Tokenizer(), scheme: .uniform(.q8_0), name: "t", to: ours)
        let file = try GGUFFile(contentsOf: ours)
        #expect(file.metadata["general.architecture"] == .string("gpt2"))
        #expect(file.metadata["tokenizer.ggml.model"] == .string("gpt2") && file.metadata["tokenizer.ggml.pre"] == .string("gpt-2"))
        #expect(file.metadata["tokenizer.ggml.tokens"]?.array?.count == 50304)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.array?.last == .string("[PAD50303]"))
        #expect(file.metadata["tokenizer.ggml.token_type"]?.array?[50256] == .int32(3))
        #expect(file.metadata["tokenizer.ggml.eos_token_id"] == .uint32(50256))
        #expect(file.metadata["general.quantization_version"] == .uint32(2) && file.metadata["general.file_type"] == .uint32(7))
        #expect(file.tensor("output.weight") != nil && file.tensor("blk.1.attn_qkv.weight")?.dimensions == [64, 192])
        #expect(file.tensor("position_embd.weight")?.type == .f32 && file.tensor("blk.0.attn_norm.bias")?.type == .f32)
        // Without swift-gpt's own keys (as llama.cpp's converter writes it): the same model.
        var writer = GGUFWriter()
        writer.metadata = file.metadata.filter { !$0.key.hasPrefix("swift_gpt.") }.map { ($0.key, $0.value) }
        writer.tensors = file.tensors.map { GGUFWriter.Tensor(name: $0.name, dimensions: $0.dimensions, type: $0.type, bytes: file.bytes(of: $0)) }
        let theirs = directory.appendingPathComponent("theirs.gguf")
        try writer.write(to: theirs)
        let (loaded, tokenizer) = try GGUFModel.load(theirs)
        #expect(loaded.configuration == configuration)
        #expect(tokenizer.vocabularySize == 50257)
        #expect(try Self.logits(loaded).decode == (try Self.logits(try GGUFModel.load(ours).0).decode))
    }

    @Test func swiftGPTModelsRoundTripThroughTheirOwnKeys() throws {
        let configuration = GPTConfiguration(
            vocabularySize: 40, contextLength: 16, embeddingSize: 32, layerCount: 1, headCount: 2, usesBias: false,
            position: .sinusoidal, normalization: .post, activation: .relu, tiesEmbeddings: false)
        let model = try Self.model(configuration)
        let tokenizer = CharacterTokenizer(scalars: (0..<40).map { Unicode.Scalar(0x41 + $0)! })
        let url = directory.appendingPathComponent("own.gguf")
        let report = try GGUFExport.write(model, tokenizer: tokenizer, scheme: .uniform(.f32), name: "own", to: url)
        #expect(report.llamaIncompatibilities.count == 3)
        #expect(try GGUFFile(contentsOf: url).metadata["general.architecture"] == .string("swift-gpt"))
        let (loaded, loadedTokenizer) = try GGUFModel.load(url)
        #expect(loaded.configuration == configuration)
        #expect(try loadedTokenizer.description.encoded() == tokenizer.description.encoded())
        let session = { (m: GPT) in InferenceSession(model: m, parallelism: Parallelism(threads: 1)) }
        let a = Array(try session(model).forward(tokens: [1, 2, 3], count: 3, cache: KVCache(configuration: configuration)))
        let b = Array(try session(loaded).forward(tokens: [1, 2, 3], count: 3, cache: KVCache(configuration: configuration)))
        #expect(a == b)
    }

    /// Rows that are not whole blocks fall back to F16, with a note.
    @Test func matricesOfOddWidthFallBackToHalfPrecision() throws {
        let configuration = GPTConfiguration(vocabularySize: 20, contextLength: 8, embeddingSize: 24, layerCount: 1, headCount: 2)
        let url = directory.appendingPathComponent("odd.gguf")
        let tokenizer = CharacterTokenizer(scalars: (0..<20).map { Unicode.Scalar(0x61 + $0)! })
        let report = try GGUFExport.write(try Self.model(configuration), tokenizer: tokenizer, scheme: .uniform(.q4_0), name: "odd", to: url)
        #expect(report.fallbacks.count == 5)  // token_embd, attn_qkv, attn_output, ffn_up, output (rows of 24); ffn_down (96) is Q4_0
        #expect(try GGUFFile(contentsOf: url).tensor("blk.0.ffn_down.weight")?.type == .q4_0)
        #expect(try GGUFFile(contentsOf: url).tensor("blk.0.ffn_up.weight")?.type == .f16)
        _ = try GGUFModel.load(url)
    }

    /// llama.cpp's Q4_K_M for GPT-2, tensor by tensor as `llama-quantize` b4747+ gives it for 12 layers;
    /// a K-quant whose rows are not whole super-blocks falls back as llama.cpp does.
    @Test func q4KMFollowsLlamaCppsRecipe() throws {
        let configuration = GPTConfiguration(vocabularySize: 300, contextLength: 8, embeddingSize: 256, layerCount: 12, headCount: 2)
        let tokenizer = CharacterTokenizer(scalars: (0..<300).map { Unicode.Scalar(0x100 + $0)! })
        let url = directory.appendingPathComponent("q4km.gguf")
        let report = try GGUFExport.write(try Self.model(configuration), tokenizer: tokenizer, scheme: .q4KM, name: "m", to: url)
        #expect(report.fallbacks.isEmpty)
        let file = try GGUFFile(contentsOf: url)
        #expect(file.metadata["general.file_type"] == .uint32(15))
        #expect(file.tensor("output.weight")?.type == .q6_K && file.tensor("token_embd.weight")?.type == .q4_K)
        for layer in 0..<12 {
            #expect(file.tensor("blk.\(layer).attn_qkv.weight")?.type == .q5_K)
            #expect(file.tensor("blk.\(layer).attn_output.weight")?.type == .q4_K)
            #expect(file.tensor("blk.\(layer).ffn_up.weight")?.type == .q4_K)
            #expect(file.tensor("blk.\(layer).ffn_down.weight")?.type == ([0, 3, 6, 9, 10, 11].contains(layer) ? .q6_K : .q4_K))
        }
        _ = try GGUFModel.load(url)

        let narrow = GPTConfiguration(vocabularySize: 300, contextLength: 8, embeddingSize: 96, layerCount: 1, headCount: 2)
        let fallback = try GGUFExport.write(try Self.model(narrow), tokenizer: tokenizer, scheme: .uniform(.q6_K), name: "n", to: url)
        #expect(fallback.fallbacks.count == 6 && fallback.fallbacks.allSatisfy { $0.hasSuffix("written as Q8_0") })  // rows of 96 and 384
        #expect(try GGUFFile(contentsOf: url).tensor("blk.0.ffn_down.weight")?.type == .q8_0)
    }

    /// Files swift-gpt cannot run say which part is wrong.
    @Test func filesItCannotRunAreOneClearError() throws {
        let model = try Self.model(Self.gpt2Shaped)
        let good = directory.appendingPathComponent("good.gguf")
        _ = try GGUFExport.write(model, tokenizer: try Self.gpt2Tokenizer(), scheme: .uniform(.q8_0), name: "t", to: good)
        let file = try GGUFFile(contentsOf: good)
        func variant(_ name: String, metadata: (inout [String: GGUFValue]) -> Void = { _ in },
                     tensors: (inout [GGUFWriter.Tensor]) -> Void = { _ in }) throws -> URL {
            var values = file.metadata.filter { $0.key != "swift_gpt.config" }
            metadata(&values)
            var list = file.tensors.map { GGUFWriter.Tensor(name: $0.name, dimensions: $0.dimensions, type: $0.type, bytes: file.bytes(of: $0)) }
            tensors(&list)
            var writer = GGUFWriter()
            writer.metadata = values.map { ($0.key, $0.value) }
            writer.tensors = list
            let url = directory.appendingPathComponent(name + ".gguf")
            try writer.write(to: url)
            return url
        }
        func message(_ url: URL) -> String {
            do {
                _ = try GGUFModel.load(url)
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(try variant("llama") { $0["general.architecture"] = .string("llama") }).contains("a llama model; swift-gpt runs GPT-2 models"))
        #expect(message(try variant("spm") { $0["tokenizer.ggml.model"] = .string("llama") }).contains("has a llama tokenizer"))
        #expect(message(try variant("no-layers") { $0["gpt2.block_count"] = nil }).contains("gpt2.block_count is missing"))
        #expect(message(try variant("missing", tensors: { $0.removeAll { $0.name == "blk.1.ffn_up.weight" } })).contains("lacks tensor blk.1.ffn_up.weight"))
        #expect(message(try variant("wide") { $0["gpt2.embedding_length"] = .uint32(128) }).contains("has dimensions"))
        let q41 = try variant("q4_1", tensors: { list in
            let index = list.firstIndex { $0.name == "blk.0.ffn_down.weight" }!
            let tensor = list[index]
            list[index] = GGUFWriter.Tensor(name: tensor.name, dimensions: tensor.dimensions, type: .q4_1, bytes: Data(count: tensor.dimensions.reduce(1, *) / 32 * 20))
        })
        #expect(message(q41).contains("is Q4_1, which swift-gpt does not compute with"))
    }
}
