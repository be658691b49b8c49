import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTestSupport
import GPTTokenizer
import Testing

/// LoRA adapters: gradients, the identity at step 0, merging, PEFT's files both ways, bad adapters.
@Suite struct LoRATests {
    static let tiny = GPTConfiguration(vocabularySize: 11, contextLength: 6, embeddingSize: 8, layerCount: 2, headCount: 2)

    /// A model and an adapter on every matrix with non-trivial weights (B not zero).
    func adapted(
        _ configuration: GPTConfiguration = tiny, rank: Int = 3, dropout: Float = 0,
        targets: [String] = ["c_attn", "c_proj", "c_fc", "lm_head"]
    ) throws -> (GPT, LoRAAdapter) {
        var generator = RandomGenerator(seed: 5)
        let model = try GPT(configuration: configuration, generator: &generator)
        for index in 0..<model.parameters.count { model.parameters[index] *= 5 }
        let adapter = try LoRAAdapter(
            configuration: LoRAConfiguration(rank: rank, alpha: 6, dropout: dropout, targets: targets), model: configuration,
            generator: &generator)
        for index in 0..<adapter.parameters.count { adapter.parameters[index] += (generator.nextFloat() - 0.5) * 0.5 }
        return (model, adapter)
    }

    func batch(_ generator: inout RandomGenerator, vocabulary: Int = 11) -> (tokens: [Int32], targets: [Int32]) {
        let tokens = (0..<10).map { _ in Int32(generator.nextInt(below: vocabulary)) }
        let targets = (0..<10).map { _ in Int32(generator.nextInt(below: vocabulary)) }
        return (tokens, targets)
    }

    @Test(arguments: [Float(0), 0.3])
    func adapterGradientsMatchFiniteDifferences(dropout: Float) throws {
        let (model, adapter) = try adapted(dropout: dropout)
        var generator = RandomGenerator(seed: 9)
        let (tokens, targets) = batch(&generator)
        let session = TrainingSession(model: model, adapter: adapter, parallelism: Parallelism(threads: 2))
        func loss() -> Double {
            Double(try! session.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true, dropoutSeed: 17))
        }
        _ = loss()
        session.zeroGradients()
        try session.backward()
        let analyticAll = session.adapterGradients.array
        for tensor in adapter.layout.tensors {
            let indices = Array(stride(from: 0, to: tensor.count, by: max(1, tensor.count / 10)))
            let numerical = numericalGradient(
                of: loss, perturbing: adapter.parameters.pointer + tensor.offset, indices: indices, step: 3e-3)
            expectGradientMatches(
                analytic: indices.map { analyticAll[tensor.offset + $0] }, numerical: numerical, tolerance: 2e-2,
                "dropout \(dropout) \(tensor.name)")
        }
    }

    @Test func theKernelPairMatchesFiniteDifferencesIncludingTheInput() throws {
        let (rows, input, output, rank) = (5, 7, 6, 3)
        var generator = RandomGenerator(seed: 3)
        func random(_ count: Int) -> FloatBuffer {
            let buffer = FloatBuffer(count: count)
            for index in 0..<count { buffer[index] = generator.nextFloat() * 2 - 1 }
            return buffer
        }
        let (x, a, b, weights) = (random(rows * input), random(rank * input), random(output * rank), random(rows * output))
        let (out, product) = (FloatBuffer(count: rows * output), FloatBuffer(count: rows * rank))
        let context = KernelContext(parallelism: Parallelism(threads: 2))
        // loss = Σ weights ⊙ out, so d out = weights.
        func loss() -> Double {
            out.zero()
            Kernels.loraForward(
                output: out.pointer, product: product.pointer, input: x.pointer, a: a.pointer, b: b.pointer, scale: 1.5,
                rows: rows, inputSize: input, outputSize: output, rank: rank, context: context)
            return (0..<(rows * output)).reduce(0.0) { $0 + Double(out[$1] * weights[$1]) }
        }
        _ = loss()
        let (dx, da, db, du) = (FloatBuffer(count: rows * input), FloatBuffer(count: rank * input), FloatBuffer(count: output * rank), FloatBuffer(count: rows * rank))
        Kernels.loraBackward(
            inputGradient: dx.pointer, aGradient: da.pointer, bGradient: db.pointer, productGradient: du.pointer,
            outputGradient: weights.pointer, product: product.pointer, input: x.pointer, a: a.pointer, b: b.pointer,
            scale: 1.5, rows: rows, inputSize: input, outputSize: output, rank: rank, context: context)
        for (name, values, gradient) in [("x", x, dx), ("A", a, da), ("B", b, db)] {
            let indices = Array(0..<values.count)
            let numerical = numericalGradient(of: loss, perturbing: values.pointer, indices: indices, step: 1e-2)
            expectGradientMatches(analytic: gradient.array, numerical: numerical, tolerance: 1e-2, name)
        }
    }

    @Test func aNewAdapterLeavesTheLogitsExactlyAsTheBaseModels() throws {
        var generator = RandomGenerator(seed: 2)
        let model = try GPT(configuration: Self.tiny, generator: &generator)
        let adapter = try LoRAAdapter(
            configuration: LoRAConfiguration(rank: 4, alpha: 8, targets: ["c_attn", "c_proj", "c_fc"]), model: Self.tiny,
            generator: &generator)
        #expect(adapter.layout.tensors.filter { $0.name.hasSuffix("lora_A.weight") }.allSatisfy { tensor in
            (0..<tensor.count).contains { adapter.parameters[tensor.offset + $0] != 0 }
        })
        let (tokens, targets) = batch(&generator)
        let plain = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let with = TrainingSession(model: model, adapter: adapter, parallelism: Parallelism(threads: 2))
        let lossPlain = try plain.loss(tokens: tokens, targets: targets, batch: 2, length: 5)
        let lossWith = try with.loss(tokens: tokens, targets: targets, batch: 2, length: 5)
        #expect(lossPlain == lossWith)
        #expect(Array(plain.allLogits) == Array(with.allLogits))
    }

    @Test func theMergedModelGivesTheAdaptedLogits() throws {
        let (model, adapter) = try adapted()
        var generator = RandomGenerator(seed: 4)
        let (tokens, _) = batch(&generator)
        let with = TrainingSession(model: model, adapter: adapter, parallelism: Parallelism(threads: 2))
        try with.forward(tokens: tokens, batch: 2, length: 5)
        let adaptedLogits = Array(with.allLogits)
        let copy = try GPT(configuration: model.configuration)
        copy.parameters.pointer.update(from: model.parameters.pointer, count: model.parameters.count)
        // lm_head is adapted: the merged model unties the output layer from the (unchanged) embedding.
        let merged = try adapter.merged(into: copy)
        #expect(!merged.configuration.tiesEmbeddings && model.configuration.tiesEmbeddings)
        let wte = model.layout.tensor(named: "wte.weight")!
        #expect(Array(merged.parameters.array[wte.offset..<(wte.offset + wte.count)]) == Array(model.parameters.array[wte.offset..<(wte.offset + wte.count)]))
        #expect(throws: ModelError.self) { try adapter.merge(into: copy) }
        let plain = TrainingSession(model: merged, parallelism: Parallelism(threads: 2))
        try plain.forward(tokens: tokens, batch: 2, length: 5)
        expectClose(Array(plain.allLogits), adaptedLogits, absolute: 1e-3, relative: 1e-4, "merged logits")
        // The cached inference path of the merged model agrees too.
        let session = InferenceSession(model: merged, parallelism: Parallelism(threads: 1))
        let last = Array(try session.forward(tokens: Array(tokens[0..<5]), count: 5, cache: KVCache(configuration: merged.configuration)))
        expectClose(last, Array(adaptedLogits[(4 * 11)..<(5 * 11)]), absolute: 1e-3, relative: 1e-4, "cached logits")
    }

    @Test func trainingChangesOnlyTheAdapter() throws {
        let (model, adapter) = try adapted()
        let before = model.parameters.array
        let session = TrainingSession(model: model, adapter: adapter, parallelism: Parallelism(threads: 2))
        var generator = RandomGenerator(seed: 8)
        let (tokens, targets) = batch(&generator)
        let first = try session.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true)
        for _ in 0..<20 {
            _ = try session.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true)
            session.zeroGradients()
            try session.backward()
            for index in 0..<adapter.parameters.count { adapter.parameters[index] -= 0.01 * session.adapterGradients[index] }
        }
        let last = try session.loss(tokens: tokens, targets: targets, batch: 2, length: 5)
        #expect(last < first)
        #expect(model.parameters.array == before)
    }

    @Test func savedAdaptersReadBackWithPEFTsNames() throws {
        let (_, adapter) = try adapted(targets: ["c_proj"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try AdapterDirectory.save(adapter, to: directory)
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(AdapterDirectory.weightsFile))
        #expect(file.tensors["base_model.model.transformer.h.1.attn.c_proj.lora_A.weight"]?.shape == [3, 8])
        #expect(file.tensors["base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight"]?.shape == [8, 3])
        #expect(file.tensors.count == 2 * 2 * 2)
        #expect(file.tensors["base_model.model.lm_head.lora_A.weight"] == nil)
        let loaded = try AdapterDirectory.load(directory, model: Self.tiny)
        #expect(loaded.configuration == adapter.configuration)
        #expect(loaded.parameters.array == adapter.parameters.array)
    }

    /// A quantized (Q8_0) base, mapped in place, and the same weights dequantized to Float32.
    func quantizedBase() throws -> (quantized: GPT, dense: GPT) {
        var configuration = Self.tiny
        configuration.embeddingSize = 32  // rows of whole Q8_0 blocks
        var generator = RandomGenerator(seed: 21)
        let model = try GPT(configuration: configuration, generator: &generator)
        for index in 0..<model.parameters.count { model.parameters[index] *= 5 }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qlora-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try GGUFExport.write(
            model, tokenizer: CharacterTokenizer(training: "abcdefghij"), scheme: .uniform(.q8_0), name: "t", to: url)
        return (try GGUFModel.load(url).0, try GGUFModel.loadDense(url).0)
    }

    @Test func adaptersTrainOverAQuantizedBaseInPlace() throws {
        let (quantized, dense) = try quantizedBase()
        #expect(!quantized.storesMatrices)
        var generator = RandomGenerator(seed: 22)
        let adapter = try LoRAAdapter(
            configuration: LoRAConfiguration(rank: 3, alpha: 6, targets: ["c_attn", "c_proj", "c_fc", "lm_head"]),
            model: quantized.configuration, generator: &generator)
        for index in 0..<adapter.parameters.count { adapter.parameters[index] += (generator.nextFloat() - 0.5) * 0.5 }
        let (tokens, targets) = batch(&generator)
        // The quantized products give the dequantized model's loss (both multiply the same weights in float).
        let onQuantized = TrainingSession(model: quantized, adapter: adapter, parallelism: Parallelism(threads: 2))
        let onDense = TrainingSession(model: dense, adapter: adapter, parallelism: Parallelism(threads: 2))
        let loss = try onQuantized.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true)
        #expect(abs(loss - (try onDense.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true))) < 1e-4)
        onDense.zeroGradients()
        try onDense.backward()
        onQuantized.zeroGradients()
        try onQuantized.backward()
        expectClose(onQuantized.adapterGradients.array, onDense.adapterGradients.array, absolute: 1e-4, relative: 1e-3, "adapter gradients")
        // And against finite differences through the quantized forward itself.
        func lossValue() -> Double {
            Double(try! onQuantized.loss(tokens: tokens, targets: targets, batch: 2, length: 5, training: true))
        }
        let analytic = onQuantized.adapterGradients.array
        for tensor in adapter.layout.tensors.prefix(4) + adapter.layout.tensors.suffix(2) {
            let indices = Array(stride(from: 0, to: tensor.count, by: max(1, tensor.count / 8)))
            let numerical = numericalGradient(
                of: lossValue, perturbing: adapter.parameters.pointer + tensor.offset, indices: indices, step: 3e-3)
            expectGradientMatches(
                analytic: indices.map { analytic[tensor.offset + $0] }, numerical: numerical, tolerance: 2e-2, "quantized \(tensor.name)")
        }
    }

    @Test func llamaCppAdapterFilesHoldPEFTsArraysUnderTheBaseTensorsNames() throws {
        let (_, adapter) = try adapted()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try LoRAGGUFExport.write(adapter, name: "test", to: url)
        let file = try GGUFFile(contentsOf: url)
        #expect(file.metadata["general.type"]?.string == "adapter" && file.metadata["adapter.type"]?.string == "lora")
        #expect(file.metadata["general.architecture"]?.string == "gpt2")
        #expect(file.metadata["adapter.lora.alpha"] == .float32(6))
        #expect(file.tensors.count == adapter.layout.tensors.count)
        let qkv = adapter.site(layer: 1, matrix: .qkv)!
        #expect(file.tensor("blk.1.attn_qkv.weight.lora_a")?.dimensions == [8, 3])
        #expect(file.tensor("blk.1.attn_qkv.weight.lora_b")?.dimensions == [3, 24])
        #expect(try file.floats("blk.1.attn_qkv.weight.lora_a") == Array(adapter.parameters.array[qkv.a..<(qkv.a + 24)]))
        #expect(file.tensor("blk.0.ffn_down.weight.lora_a")?.dimensions == [32, 3])
        #expect(file.tensor("output.weight.lora_b")?.dimensions == [3, 11])
        var noBias = Self.tiny
        noBias.usesBias = false
        let other = try LoRAAdapter(configuration: LoRAConfiguration(), model: noBias)
        #expect(throws: ModelError.self) { try LoRAGGUFExport.write(other, name: "x", to: url) }
    }

    @Test func badAdaptersAreRefusedInOneLine() throws {
        let (_, adapter) = try adapted()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try AdapterDirectory.save(adapter, to: directory)
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        var wider = Self.tiny
        wider.embeddingSize = 16
        #expect(message { _ = try AdapterDirectory.load(directory, model: wider) }.contains("different base model"))
        var deeper = Self.tiny
        deeper.layerCount = 3
        #expect(message { _ = try AdapterDirectory.load(directory, model: deeper) }.contains("lacks"))
        #expect(message { _ = try LoRAAdapter(configuration: LoRAConfiguration(targets: ["q_proj"]), model: Self.tiny) }
            .contains("unknown LoRA target module 'q_proj'"))
        #expect(message { _ = try LoRAAdapter(configuration: LoRAConfiguration(rank: 0), model: Self.tiny) }.contains("between 1 and 8"))
        #expect(message { _ = try LoRAAdapter(configuration: LoRAConfiguration(rank: 9), model: Self.tiny) }.contains("between 1 and 8"))
        #expect(message { _ = try AdapterDirectory.load(directory.appendingPathComponent("nope"), model: Self.tiny) }.contains("not found"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent(AdapterDirectory.weightsFile))
        #expect(message { _ = try AdapterDirectory.load(directory, model: Self.tiny) }.contains("incomplete"))
        try Data("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"c_attn\"], \"use_dora\": true}".utf8)
            .write(to: directory.appendingPathComponent(LoRAConfiguration.fileName))
        #expect(message { _ = try AdapterDirectory.load(directory, model: Self.tiny) }.contains("use_dora"))
        try Data("[1, 2]".utf8).write(to: directory.appendingPathComponent(LoRAConfiguration.fileName))
        #expect(message { _ = try AdapterDirectory.load(directory, model: Self.tiny) }.contains("not a JSON object"))
    }
}

/// Adapters against Hugging Face PEFT (fixture by Scripts/make_lora_fixture.py): PEFT's adapter
/// gives PEFT's logits here, and ours gave PEFT the logits we compute.
@Suite struct PEFTParityTests {
    let directory = projectRoot.appendingPathComponent("Tests/GPTModelTests/Fixtures/lora")

    func logits(adapter name: String?) throws -> [Float] {
        var model = try ModelDirectory.loadModel(directory.appendingPathComponent("base"))
        if let name {
            model = try AdapterDirectory.load(directory.appendingPathComponent(name), model: model.configuration).merged(into: model)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as! [String: Any]
        let ids = (json["input_ids"] as! [Int]).map(Int32.init)
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        try session.forward(tokens: ids, batch: json["batch"] as! Int, length: json["length"] as! Int)
        return Array(session.allLogits)
    }

    func expected(_ name: String) throws -> [Float] {
        try SafetensorsFile(contentsOf: directory.appendingPathComponent("expected.safetensors")).floats(name)
    }

    @Test func theBaseModelMatchesTransformers() throws {
        expectClose(try logits(adapter: nil), try expected("base_logits"), absolute: 1e-4, relative: 1e-4, "base")
    }

    @Test func peftsAdapterGivesPEFTsLogits() throws {
        let configuration = try AdapterDirectory.loadConfiguration(directory.appendingPathComponent("peft"))
        #expect(configuration.rank == 4 && configuration.alpha == 8 && Set(configuration.targets) == ["c_attn", "c_proj", "c_fc", "lm_head"])
        expectClose(try logits(adapter: "peft"), try expected("peft_logits"), absolute: 1e-4, relative: 1e-4, "peft")
    }

    @Test func ourAdapterGaveTheseLogitsInPEFT() throws {
        let ours = try logits(adapter: "ours")
        expectClose(ours, try expected("ours_logits"), absolute: 1e-4, relative: 1e-4, "ours")
        let base = try expected("base_logits")
        #expect(zip(ours, base).map { abs($0 - $1) }.max()! > 1e-2)
    }
}
