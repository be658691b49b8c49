import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTraining

extension QuantizationScheme: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model as a GGUF file with its matrices in a smaller type (llama.cpp reads GPT-2 models).",
        discussion: """
            Types: \(QuantizationScheme.names.joined(separator: ", ")). Matrices (the token embedding and unembedding \
            included) take the type, quantized along each row's input dimension in ggml's blocks (the 32-element types \
            with ggml's reference rounding); Q4_K_M is llama.cpp's mix for GPT-2 (attn_qkv Q5_K, output and some \
            ffn_down Q6_K, the rest Q4_K). A K-quant for rows that are not whole blocks of 256 falls back as \
            llama.cpp does (Q5_0, Q5_1, Q8_0), with a note. LayerNorms, biases and the position table stay F32. With --eval-data the original and the \
            quantized model are scored on that text: both perplexities, the mean KL divergence of their next-token \
            distributions and how often their top tokens agree (as llama-perplexity --kl-divergence reports).
            """)

    @Option(help: "Model directory.") var model: String
    @Option(help: "Weight type for the matrices, or q4_k_m.") var type: QuantizationScheme
    @Option(help: "Output file (.gguf).") var out: String
    @Flag(help: "Replace the file in --out if it exists.") var overwrite = false
    @Option(help: "Text to compare the two models on (UTF-8).") var evalData: String?
    @Option(parsing: .unconditional, help: "Score at most this many tokens of --eval-data.") var evalTokens: Int?
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard GGUFModel.isGGUF(out) else { throw ValidationError("--out must name a .gguf file (got '\(out)')") }
        if let evalTokens, evalTokens < 2 { throw ValidationError("--eval-tokens must be at least 2 (got \(evalTokens))") }
        if evalTokens != nil && evalData == nil { throw ValidationError("--eval-tokens needs --eval-data") }
    }

    func run() throws {
        let output = URL(fileURLWithPath: out)
        if FileManager.default.fileExists(atPath: output.path) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it or choose another --out")
        }
        if GGUFModel.isGGUF(model) {
            throw ValidationError("\(model) is a GGUF file already; quantize from a model directory (gpt export writes one)")
        }
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: nil)
        let evaluationText = try evalData.map { try TextFile.read($0) }
        let name = URL(fileURLWithPath: model).standardized.lastPathComponent
        let start = monotonicSeconds()
        let report = try GGUFExport.write(
            gpt, tokenizer: tokenizer, scheme: type, name: name, to: output, parallelism: threads.parallelism)
        for fallback in report.fallbacks { Terminal.notice("note: \(fallback)") }
        let original = Double(gpt.parameterCount * 4)
        print(String(
            format: "wrote %@: %@ matrices, %@ (Float32: %@) in %.1f s", out, type.description,
            Terminal.bytes(Double(report.bytes)), Terminal.bytes(original), monotonicSeconds() - start))
        if report.llamaIncompatibilities.isEmpty {
            print("llama.cpp: runs it (general.architecture gpt2)")
        } else {
            print("llama.cpp: will not run it: \(report.llamaIncompatibilities.joined(separator: "; ")); swift-gpt reads it back exactly")
        }
        guard let evaluationText else { return }
        let (quantized, _) = try GGUFModel.load(output)
        let parallelism = threads.parallelism
        var ids = try tokenizer.encode(evaluationText, specialTokens: .ordinary, threads: parallelism.threads).map(Int32.init)
        if let evalTokens, ids.count > evalTokens { ids = Array(ids.prefix(evalTokens)) }
        let line = ProgressLine(unit: "tokens")
        let comparison = try QuantizationComparison.compare(
            original: gpt, quantized: quantized, tokens: ids, parallelism: parallelism) { line.update(done: $0, total: $1) }
        line.finish()
        print("compared on \(Terminal.counted(comparison.tokens, "token")) of \(evalData!):")
        print(String(format: "  perplexity:      %.4f (F32) → %.4f (%@), %+.2f%%", comparison.originalPerplexity,
            comparison.quantizedPerplexity, type.description,
            (comparison.quantizedPerplexity / comparison.originalPerplexity - 1) * 100))
        print(String(format: "  mean KL:         %.6f nats per token", comparison.meanKLDivergence))
        print(String(format: "  same top token:  %.2f%%", comparison.sameTopToken * 100))
    }
}
