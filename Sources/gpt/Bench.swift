import ArgumentParser
import Foundation
import GPTTensor
import GPTFormats
import GPTGeneration
import GPTModel
import GPTTokenizer
import GPTTraining

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [BenchTrain.self, BenchLoRA.self, BenchDataParallel.self, BenchTokenize.self, BenchGenerate.self, BenchServe.self])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training speed on random tokens: tokens/s, breakdown, GFLOP/s against sgemm, peak memory.",
        discussion: """
            --preset takes the training presets and gpt2-small (12 layers, 12 heads, 768 dims, vocabulary \
            50,257; batch 4, context 64 unless overridden). Model and batch flags override the preset.
            """)

    @Option(help: "shakespeare-char-cpu (default), shakespeare-char or gpt2-small.") var preset = "shakespeare-char-cpu"
    @Option(parsing: .unconditional, help: "Vocabulary size (default: 65 for the character presets, 50,257 for gpt2-small).")
    var vocabularySize: Int?
    @Option(parsing: .unconditional, help: "Timed steps.") var steps = 50
    @Option(parsing: .unconditional, help: "Untimed warmup steps.") var warmup = 5
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(parsing: .unconditional, help: "Sequences per step.") var batchSize: Int?
    @Option(name: .customLong("grad-accum"), parsing: .unconditional, help: "Micro-batches accumulated per step (default 1).")
    var gradientAccumulation: Int?
    @Option(help: "Linear layers' products: fp32 (default) | bf16 (needs AVX512-BF16, else fp32 with a notice).")
    var precision: Precision?
    @OptionGroup(title: "LoRA (train an adapter over the frozen model)") var lora: LoRAOptions
    @OptionGroup var kernels: KernelOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Data parallel (under mpirun)") var distributed: DistributedOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must be non-negative") }
        if let vocabularySize, vocabularySize < 2 { throw ValidationError("--vocabulary-size must be at least 2") }
    }

    func run() throws {
        // Under mpirun: every rank trains its share of the global batch; rank 0 reports.
        let communicator = try Ranks.start()
        var configuration: TrainingConfiguration
        var vocabulary = 65
        var reference: (String, Double)?
        if preset == "gpt2-small" {
            configuration = TrainingConfiguration()
            configuration.layerCount = 12
            configuration.headCount = 12
            configuration.embeddingSize = 768
            configuration.contextLength = 64
            configuration.batchSize = 4
            configuration.dropout = 0
            vocabulary = 50257
        } else {
            configuration = try TrainingConfiguration.preset(named: preset)
        }
        model.apply(to: &configuration)
        if let batchSize { configuration.batchSize = batchSize }
        if let gradientAccumulation { configuration.gradientAccumulation = gradientAccumulation }
        if let precision { configuration.precision = precision }
        configuration.maxIterations = max(configuration.maxIterations, steps + warmup)
        try configuration.validate()
        vocabulary = vocabularySize ?? vocabulary
        let unchangedPreset = try TrainingConfiguration.preset(named: "shakespeare-char-cpu")
            .with(maxIterations: configuration.maxIterations)
        if preset == "shakespeare-char-cpu" && configuration.with(precision: .fp32) == unchangedPreset {
            reference = ("nanoGPT (PyTorch 2.13, 2 threads) measured 23,000 tokens/s on an AMD EPYC Zen 5, 2026-11", 23_000)
        } else if preset == "gpt2-small" && configuration.contextLength == 64 && configuration.batchSize == 4
            && configuration.gradientAccumulation == 1
        {
            reference = ("llm.c's CPU trainer measured 81 tokens/s on an AMD EPYC Zen 5, 2026-11", 81)
        }

        let parallelism = threads.parallelism
        let adapter = lora.isEnabled ? lora.configuration(baseModel: preset) : nil
        if let adapter {
            do {
                try adapter.validate(for: configuration.modelConfiguration(vocabularySize: vocabulary))
            } catch let error as ModelError {
                throw ValidationError(error.message)
            }
            reference = nil
        }
        let benchmark = TrainingBenchmark(
            configuration: configuration, vocabularySize: vocabulary, parallelism: parallelism, kernelLevel: kernels.level,
            lora: adapter, dataParallelism: Ranks.dataParallelism(shardsOptimizer: distributed.shardOptimizer))
        let result = try benchmark.run(steps: steps, warmupSteps: warmup)
        if communicator.isDistributed { reference = nil }
        guard communicator.isWriter else { return }
        if let notice = result.precisionNotice, !json { Terminal.notice(notice) }
        let residentMiB = Double(result.residentBytes) / 1_048_576
        let peakMiB = Double(result.peakResidentBytes) / 1_048_576
        let ratio = result.achievedGigaflops / result.sgemmGigaflops
        let (m, k, n) = result.sgemmShape
        if json {
            var object: [String: Any] = [
                "preset": preset, "threads": parallelism.threads, "blas": BLAS.description, "kernels": kernels.level.description,
                "tokens_per_second": result.tokensPerSecond, "ms_per_step": result.timing.total * 1000,
                "forward_ms": result.timing.forward * 1000, "backward_ms": result.timing.backward * 1000,
                "optimizer_ms": result.timing.optimizer * 1000, "achieved_gflops": result.achievedGigaflops,
                "sgemm_gflops": result.sgemmGigaflops, "sgemm_fraction": ratio, "resident_memory_mib": residentMiB,
                "peak_memory_mib": peakMiB, "parameters": result.parameterCount,
                "trained_parameters": result.trainedParameterCount, "ranks": result.ranks,
                "communication_ms": result.timing.communication * 1000, "wait_ms": result.timing.wait * 1000,
                "precision": result.precision.rawValue, "precision_requested": configuration.precision.rawValue,
            ]
            if let bf16 = result.bf16Gigaflops {
                object["bf16_gemm_gflops"] = bf16
                object["bf16_gemm_fraction"] = result.achievedGigaflops / bf16
            }
            if let notice = result.precisionNotice { object["precision_notice"] = notice }
            if let allReduce = result.allReduce, let exchange = result.exchange {
                object["allreduce"] = ["bytes": allReduce.bytes, "seconds": allReduce.seconds]
                object["exchange"] = ["bytes": exchange.bytes, "seconds": exchange.seconds, "method": result.exchangeMethod]
            }
            if let adapter {
                object["lora"] = ["rank": adapter.rank, "alpha": adapter.alpha, "targets": adapter.targets.joined(separator: ",")]
            }
            object["cpu"] = MachineDescription.cpu
            object["ceilings"] = result.ceilings.json
            if let reference { object["reference"] = ["what": reference.0, "tokens_per_second": reference.1] }
            print(try JSONLine.encode(object))
            return
        }
        let c = configuration
        print("benchmark:   train \(preset): \(c.layerCount) layers, \(c.headCount) heads, \(c.embeddingSize) dims, context \(c.contextLength), batch \(c.batchSize), vocabulary \(vocabulary), \(Terminal.grouped(Double(result.parameterCount))) parameters")
        print("machine:     \(MachineDescription.cpu); \(Terminal.counted(parallelism.threads, "thread")), \(BLAS.description), C kernels \(kernels.level)")
        print("steps:       \(result.steps) timed after \(warmup) warmup")
        print("precision:   \(result.precision == .bf16 ? "bf16 products (bf16 inputs, fp32 sums; attention, norms, optimizer in fp32)" : "fp32")")
        if let adapter {
            print("trained:     a LoRA adapter (rank \(adapter.rank) on \(adapter.targets.joined(separator: ","))): \(Terminal.grouped(Double(result.trainedParameterCount))) parameters; the model frozen")
        }
        print("tokens/s:    \(Terminal.grouped(result.tokensPerSecond))" + (result.ranks > 1 ? " (all \(result.ranks) ranks' global batch)" : ""))
        if let allReduce = result.allReduce, let exchange = result.exchange {
            print(String(
                format: "ranks:       %d (%@); per step: communication inside backward %.2f ms, waiting after it %.2f ms",
                result.ranks, communicator.library ?? "MPI", result.timing.communication * 1000, result.timing.wait * 1000))
            print(String(
                format: "exchange:    %@ of gradients through %@ in %.3f s = %.2f GB/s; MPI_Allreduce of the same %.3f s = %.2f GB/s",
                Terminal.bytes(Double(exchange.bytes)), result.exchangeMethod, exchange.seconds,
                Double(exchange.bytes) / exchange.seconds / 1e9, allReduce.seconds, Double(allReduce.bytes) / allReduce.seconds / 1e9))
        }
        // A figure from another machine is a labelled reference, never a ratio (measure peers side by side).
        if let reference { print("reference:   \(reference.0) (not this machine; no ratio is drawn)") }
        print(String(format: "step:        %.2f ms = forward %.2f + backward %.2f + optimizer %.2f", result.timing.total * 1000, result.timing.forward * 1000, result.timing.backward * 1000, result.timing.optimizer * 1000))
        print(String(format: "achieved:    %.1f GFLOP/s (%@·parameters·tokens + attention)", result.achievedGigaflops, adapter == nil ? "6" : "4"))
        print(String(format: "sgemm:       %.1f GFLOP/s on %d×%d×%d (the model's largest product, same threads; the better probe) → %.0f%% of sgemm", result.sgemmGigaflops, m, k, n, ratio * 100))
        if let bf16 = result.bf16Gigaflops {
            print(String(format: "bf16 gemm:   %.1f GFLOP/s on the same shape (our vdpbf16ps kernel, B packed, same threads) → %.0f%% of it; bf16 / sgemm %.2f×", bf16, result.achievedGigaflops / bf16 * 100, bf16 / result.sgemmGigaflops))
        }
        print("ceilings:    \(result.ceilings.summary)")
        print(String(format: "memory:      %.0f MiB resident after the steps, peak %.0f MiB (model, training buffers and steps)", residentMiB, peakMiB))
    }
}

extension CeilingProbes {
    /// The probes for `--json`: before, after, drift and the verdict.
    var json: [String: Any] {
        [
            "sgemm_gflops_before": before.sgemmGigaflops, "sgemm_gflops_after": after.sgemmGigaflops,
            "bandwidth_gb_per_second_before": before.bandwidthGigabytes,
            "bandwidth_gb_per_second_after": after.bandwidthGigabytes, "drift": drift, "stable": isStable,
        ]
    }
}

extension TrainingConfiguration {
    func with(maxIterations: Int) -> TrainingConfiguration {
        var copy = self
        copy.maxIterations = maxIterations
        return copy
    }

    func with(precision: Precision) -> TrainingConfiguration {
        var copy = self
        copy.precision = precision
        return copy
    }
}

/// The process's peak resident memory in MiB.
func peakMemoryMiB() -> Double {
    Double(peakResidentMemoryBytes()) / 1_048_576
}

/// `--kernels LEVEL`: run the C kernels at a lower instruction level than the CPU's best.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("kernels"), help: "C kernel instruction level: baseline | avx2 | avx512 (default: the CPU's best).")
    var requested: KernelLevel?

    func validate() throws {
        if let requested, requested > KernelLevel.best {
            throw ValidationError("--kernels \(requested): this CPU runs at most \(KernelLevel.best)")
        }
    }

    var level: KernelLevel { requested ?? .best }
}

extension KernelLevel: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encoder throughput: MB/s of a tokenizer on files (concatenated in the order given), and the ids' sha256.")

    @Option(help: "Tokenizer: a directory with GPT-2's vocabulary files, or a tokenizer file.") var tokenizer: String
    @Argument(help: "Text files, concatenated in the order given.") var files: [String]
    @Option(parsing: .unconditional, help: "Timed runs (the best is reported).") var runs = 3
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        let loaded = try TokenizerLoader.load(tokenizer)
        var text = ""
        for file in files { text += try TextFile.read(file, keepingByteOrderMark: true) }  // the exact bytes, as tiktoken reads them
        let bytes = Double(text.utf8.count)
        var best = Double.infinity
        var ids: [Int] = []
        let threadCount = threads.count
        for _ in 0..<max(1, runs) {
            let start = monotonicSeconds()
            ids = try loaded.encode(text, specialTokens: .ordinary, threads: threadCount)
            best = min(best, monotonicSeconds() - start)
        }
        let packed = ids.map { UInt32($0).littleEndian }
        let digest = packed.withUnsafeBytes { SHA256.hex($0) }
        print("machine:     \(MachineDescription.cpu); \(Terminal.counted(threadCount, "thread"))")
        print(String(format: "encoded:     %.2f MB into %@ tokens", bytes / 1e6, Terminal.grouped(Double(ids.count))))
        print(String(format: "throughput:  %.2f MB/s (best of %d, %@)", bytes / best / 1e6, runs, Terminal.counted(threadCount, "thread")))
        print("ids sha256:  \(digest) (little-endian uint32)")
    }
}

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Cached generation speed: prefill tokens/s against sgemm, decode tokens/s against the memory-bandwidth bound.",
        discussion: """
            --preset shakespeare-char-cpu (default: prompt 16, decode at positions 16, 32, 63 of 64) or gpt2-small \
            (GPT-2-124M shapes, context 1024: prompt 256, decode at 16, 256, 1000). Weights are random; speed does not depend on them.
            """)

    @Option(help: "shakespeare-char-cpu or gpt2-small.") var preset = "shakespeare-char-cpu"
    @Option(help: "Measure this model (a directory or a .gguf file) instead of a preset's random weights.") var model: String?
    @Option(help: "Quantize the preset's random weights to this type first (through a GGUF file, as gpt quantize writes it).")
    var type: QuantizationScheme?
    @Option(parsing: .unconditional, help: "Prompt tokens for the prefill measurement.") var prompt: Int?
    @Option(parsing: .upToNextOption, help: "Positions to measure decoding at.") var positions: [Int] = []
    @Option(parsing: .unconditional, help: "Timed decode steps per position.") var steps = 16
    @OptionGroup var kernels: KernelOptions
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        var configuration: GPTConfiguration
        var prompt = self.prompt
        var positions = self.positions
        switch preset {
        case "shakespeare-char-cpu":
            configuration = GPTConfiguration(vocabularySize: 65, contextLength: 64, embeddingSize: 128, layerCount: 4, headCount: 4, usesBias: false)
            prompt = prompt ?? 16
            if positions.isEmpty { positions = [16, 32, 63] }
        case "gpt2-small":
            configuration = GPTConfiguration(vocabularySize: 50257, contextLength: 1024, embeddingSize: 768, layerCount: 12, headCount: 12)
            prompt = prompt ?? 256
            if positions.isEmpty { positions = [16, 256, 1000] }
        default:
            throw ValidationError("unknown preset '\(preset)'; use shakespeare-char-cpu or gpt2-small")
        }
        var measured: GPT?
        var name = preset
        if let model {
            guard type == nil else { throw ValidationError("--type quantizes a preset's random weights; a --model is measured as it is stored") }
            measured = try loadModelAndTokenizer(model: model, tokenizer: nil).0
            configuration = measured!.configuration
            let T = configuration.contextLength
            prompt = self.prompt ?? min(256, T / 2)
            if self.positions.isEmpty { positions = Array(Set([min(16, T - 1), T / 4, max(1, T - 24)])).sorted() }
            name = model
        } else if let type {
            measured = try Self.quantizedRandomModel(configuration, type: type)
            name += " \(type)"
        }
        let parallelism = threads.parallelism
        let benchmark = measured.map { GenerationBenchmark(model: $0, parallelism: parallelism, kernelLevel: kernels.level) }
            ?? GenerationBenchmark(configuration: configuration, parallelism: parallelism, kernelLevel: kernels.level)
        let result = try benchmark.run(promptTokens: prompt!, positions: positions, decodeSteps: steps)
        let preset = name
        let prefillShare = result.prefillGigaflops / result.sgemmGigaflops
        if json {
            let object: [String: Any] = [
                "preset": preset, "threads": parallelism.threads, "parameters": result.parameters,
                "prompt_tokens": result.promptTokens, "prefill_tokens_per_second": result.prefillTokensPerSecond,
                "prefill_gflops": result.prefillGigaflops, "sgemm_gflops": result.sgemmGigaflops,
                "read_bandwidth_gb_per_second": result.bandwidthGigabytes, "peak_memory_mib": peakMemoryMiB(),
                "ceilings": result.ceilings.json, "cpu": MachineDescription.cpu,
                "decode_breakdown_ms": Dictionary(uniqueKeysWithValues: result.breakdown.map { ($0.part, $0.seconds * 1e3) }),
                "decode": result.decodes.map {
                    ["position": $0.position, "tokens_per_second": $0.tokensPerSecond, "bound_tokens_per_second": $0.boundTokensPerSecond,
                     "share_of_bound": $0.tokensPerSecond / $0.boundTokensPerSecond, "bytes_per_token": $0.bytesPerToken]
                },
            ]
            print(try JSONLine.encode(object))
            return
        }
        let (m, k, n) = result.sgemmShape
        let weights = measured.map { GGUFModel.isGGUF(model ?? "") || type != nil ? " (\(Self.matrixTypes($0)) matrices)" : "" } ?? ""
        print("benchmark:   generate \(preset): \(Terminal.grouped(Double(result.parameters))) parameters\(weights), context \(configuration.contextLength)")
        print("machine:     \(MachineDescription.cpu); \(Terminal.counted(parallelism.threads, "thread")), \(BLAS.description), C kernels \(kernels.level)")
        print(String(format: "bandwidth:   %.1f GB/s read (the better of the probes before and after)", result.bandwidthGigabytes))
        print(String(format: "prefill:     %d tokens at %@ tokens/s = %.1f GFLOP/s, %.0f%% of sgemm (%.1f GFLOP/s on %d×%d×%d)", result.promptTokens, Terminal.grouped(result.prefillTokensPerSecond), result.prefillGigaflops, prefillShare * 100, result.sgemmGigaflops, m, k, n))
        for decode in result.decodes {
            print(String(format: "decode @%4d: %8.1f tokens/s; bound %8.1f tokens/s (%.1f MB read per token) → %.0f%% of the bound", decode.position, decode.tokensPerSecond, decode.boundTokensPerSecond, decode.bytesPerToken / 1e6, decode.tokensPerSecond / decode.boundTokensPerSecond * 100))
        }
        if let position = positions.first, !result.breakdown.isEmpty {
            let total = result.breakdown.reduce(0) { $0 + $1.seconds }
            let parts = result.breakdown.filter { $0.seconds > 0 }.map {
                String(format: "%@ %.2f", $0.part, $0.seconds * 1e3)
            }
            print(String(format: "per token:   %.2f ms at position %d, profiled: ", total * 1e3, position) + parts.joined(separator: ", ") + " ms (products include the join)")
        }
        print("ceilings:    \(result.ceilings.summary)")
        print(String(format: "peak memory: %.0f MiB (includes the 512 MiB bandwidth probe)", peakMemoryMiB()))
    }
}

extension BenchGenerate {
    /// The preset's random weights written as a `type` GGUF and loaded back (mapped, as a user's file).
    static func quantizedRandomModel(_ configuration: GPTConfiguration, type: QuantizationScheme) throws -> GPT {
        var generator = RandomGenerator(seed: 7)
        let dense = try GPT(configuration: configuration, generator: &generator)
        let tokenizer = CharacterTokenizer(scalars: (0..<configuration.vocabularySize).map { Unicode.Scalar(0x4E00 + $0)! })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-bench-\(getpid())-\(type).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try GGUFExport.write(
            dense, tokenizer: tokenizer, scheme: type, name: "bench", to: url, parallelism: Parallelism(threads: ProcessInfo.processInfo.activeProcessorCount))
        return try GGUFModel.load(url).0  // the mapping outlives the file's name
    }

    /// "Q4_0" or "Q4_0 + F16": the types of a loaded model's matrices.
    static func matrixTypes(_ model: GPT) -> String {
        var types: [String] = []
        let matrices = model.inferenceWeights.blocks.flatMap { block in BlockMatrix.allCases.map { block[$0] } } + [model.inferenceWeights.unembedding]
        for matrix in matrices {
            let name = (matrix as? QuantizedWeightMatrix)?.type.description ?? "F32"
            if !types.contains(name) { types.append(name) }
        }
        return types.joined(separator: " + ")
    }
}
