import ArgumentParser
import Foundation
import GPTEmbeddings
import GPTFormats
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTTraining
import GPTVisualization

/// Writes an SVG or HTML picture (by the output's extension) atomically.
func writePicture(_ out: String, svg: () -> String, html: () -> String) throws {
    let lower = out.lowercased()
    guard lower.hasSuffix(".svg") || lower.hasSuffix(".html") else {
        throw ValidationError("--out must end in .svg or .html (got \(out))")
    }
    try AtomicFile.write(Data((lower.hasSuffix(".html") ? html() : svg()).utf8), to: URL(fileURLWithPath: out))
    print("wrote \(out)")
}

/// The prompt's tokens (cropped to the context) and their texts.
func promptTokens(_ prompt: String, tokenizer: any Tokenizer, model: GPT) throws -> [Int] {
    guard !prompt.isEmpty else { throw ValidationError("--prompt is empty; give some text") }
    let tokens = try tokenizer.encode(prompt)
    guard !tokens.isEmpty else { throw ValidationError("--prompt encodes to no tokens") }
    if tokens.count > model.configuration.contextLength {
        Terminal.notice("note: the prompt has \(tokens.count) tokens; keeping the last \(model.configuration.contextLength)")
    }
    return Array(tokens.suffix(model.configuration.contextLength))
}

struct VisualizeEmbeddings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings", abstract: "The token embeddings projected with PCA or t-SNE, each point labelled.")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "pca | tsne.") var method = "pca"
    @Option(parsing: .unconditional, help: "2 or 3 (the HTML page of a 3-D map can be rotated).") var dimensions = 2
    @Option(help: "A token to show (repeatable); default: the --top most frequent in the training data, else the first ids.")
    var token: [String] = []
    @Option(parsing: .unconditional, help: "How many tokens without --token (at most 2,000).") var top = 300
    @Option(parsing: .unconditional, help: "t-SNE perplexity.") var perplexity: Float = 30
    @Option(parsing: .unconditional, help: "t-SNE seed.") var seed: UInt64 = 1
    @Option(help: "Output .svg or .html.") var out: String
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard ["pca", "tsne"].contains(method) else { throw ValidationError("--method must be pca or tsne (got \(method))") }
        guard dimensions == 2 || dimensions == 3 else { throw ValidationError("--dimensions must be 2 or 3") }
        guard top >= 2 && top <= 2000 else { throw ValidationError("--top must be between 2 and 2000 (got \(top))") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: nil, use: .dense)
        let C = gpt.configuration.embeddingSize
        var ids: [Int] = []
        if token.isEmpty {
            ids = TokenCounts.mostFrequent(in: directory, count: top) ?? Array(0..<min(top, gpt.configuration.vocabularySize))
        } else {
            for text in token {
                let encoded = try? tokenizer.encode(text)
                guard let encoded, encoded.count == 1 else {
                    throw ValidationError("'\(text)' is not a single token of the model's vocabulary; pick a token `gpt tokenize` shows")
                }
                ids.append(encoded[0])
            }
        }
        let vectors = ids.map { id in (0..<C).map { gpt.parameters[gpt.layout.tokenEmbedding + id * C + $0] } }
        let coordinates: [[Double]]
        if method == "pca" {
            coordinates = PrincipalComponents(points: vectors, components: dimensions).projections
        } else {
            coordinates = try TSNE(dimensions: dimensions, perplexity: perplexity, seed: seed).embed(vectors, parallelism: threads.parallelism)
        }
        // Nearest tokens by cosine similarity of their embeddings (one row per token id).
        let V = gpt.configuration.vocabularySize
        let vocabulary = WordVectors(
            words: (0..<V).map { tokenizer.decode([$0]) }, dimensions: C,
            values: Array(UnsafeBufferPointer(start: gpt.parameters.pointer + gpt.layout.tokenEmbedding, count: V * C)))
        let points = zip(ids, coordinates).map { id, point in
            EmbeddingMap.Point(
                coordinates: point, label: tokenizer.decode([id]),
                neighbours: vocabulary.nearest(toRow: id, top: 5).map { tokenizer.decode([$0.row]) })
        }
        let map = EmbeddingMap(
            title: "Token embeddings of \(directory.lastPathComponent) (\(method == "pca" ? "PCA" : "t-SNE"), \(ids.count) tokens)",
            method: method == "pca" ? "principal component" : "t-SNE", points: points)
        try writePicture(out, svg: map.svg, html: map.html)
    }
}

struct VisualizeAttention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention", abstract: "Attention weights as heatmaps (query × key tokens), every layer × head by default.")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "Prompt text.") var prompt: String
    @Option(parsing: .unconditional, help: "Only this layer.") var layer: Int?
    @Option(parsing: .unconditional, help: "Only this head.") var head: Int?
    @Option(help: "Output .svg or .html (the page lets you pick a layer and head).") var out: String
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: nil)
        let c = gpt.configuration
        if let layer, !(0..<c.layerCount).contains(layer) { throw ValidationError("--layer must be in 0..<\(c.layerCount) (got \(layer))") }
        if let head, !(0..<c.headCount).contains(head) { throw ValidationError("--head must be in 0..<\(c.headCount) (got \(head))") }
        let tokens = try promptTokens(prompt, tokenizer: tokenizer, model: gpt)
        let weights = try InferenceSession(model: gpt, parallelism: Parallelism(threads: 1))
            .attentionWeights(tokens: tokens.map(Int32.init))
        let heatmaps = AttentionHeatmaps(
            title: "Attention of \(directory.lastPathComponent) on \"\(prompt.prefix(60))\"", tokens: tokens.map { tokenizer.decode([$0]) },
            weights: weights)
        try writePicture(
            out, svg: { heatmaps.svg(layers: layer.map { [$0] }, heads: head.map { [$0] }) },
            html: { heatmaps.html(layer: layer, head: head) })
    }
}

struct VisualizeNextToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next-token", abstract: "The most likely next tokens at several temperatures, side by side, with the entropy of each.")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "Prompt text.") var prompt: String
    @Option(help: "Comma-separated temperatures (> 0).") var temperatures = "0.5,1,2"
    @Option(parsing: .unconditional, help: "Bars per temperature.") var top = 15
    @Option(help: "Output .svg or .html.") var out: String
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions

    func run() throws {
        let values = try temperatures.split(separator: ",").map { text -> Float in
            guard let value = Float(text.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
                throw ValidationError("--temperatures takes positive numbers separated by commas (got \(temperatures))")
            }
            return value
        }
        guard !values.isEmpty, values.count <= 8 else {
            throw ValidationError("--temperatures takes 1 to 8 positive numbers separated by commas (got \"\(temperatures)\")")
        }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: nil, use: .dense)
        let tokens = try promptTokens(prompt, tokenizer: tokenizer, model: gpt)
        let session = InferenceSession(model: gpt, parallelism: Parallelism(threads: 1))
        let logits = Array(try session.forward(
            tokens: tokens.map(Int32.init), count: tokens.count, cache: KVCache(configuration: gpt.configuration)))
        let panels = values.map { temperature -> NextTokenChart.Panel in
            let distribution = NextTokenDistribution(logits: logits, temperature: temperature)
            return NextTokenChart.Panel(
                temperature: temperature, entropy: distribution.entropy,
                bars: distribution.top(top).map { (tokenizer.decode([$0.token]), $0.probability) })
        }
        let chart = NextTokenChart(title: "Next token after \"\(Markup.visible(String(prompt.suffix(40))))\"", panels: panels)
        try writePicture(out, svg: chart.svg, html: chart.html)
    }
}

struct VisualizeTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training", abstract: "Training and validation loss and the learning rate against the step, from a --log file.")

    @Option(help: "A JSON-lines log written by gpt train --log.") var log: String
    @Option(help: "Output .svg or .html.") var out: String

    func run() throws {
        var steps: [(Int, Double)] = [], rates: [(Int, Double)] = [], evaluations: [(Int, Double, Double)] = []
        for entry in try TrainingLog.read(path: log) {
            switch entry.kind {
            case .step:
                if let loss = entry.loss { steps.append((entry.step, loss)) }
                if let rate = entry.learningRate { rates.append((entry.step, rate)) }
            case .eval:
                if let train = entry.trainingLoss, let validation = entry.validationLoss {
                    evaluations.append((entry.step, train, validation))
                }
            case .skipped: continue
            }
        }
        guard !steps.isEmpty || !evaluations.isEmpty else {
            throw ValidationError("\(log) has no step or eval entries; write one with gpt train --log FILE")
        }
        let chart = TrainingChart(
            title: "Training: \(URL(fileURLWithPath: log).lastPathComponent)", steps: steps, evaluations: evaluations, learningRates: rates)
        try writePicture(out, svg: chart.svg, html: chart.html)
    }
}

struct Visualize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "viz", abstract: "Pictures of the inside: embeddings, attention, next-token distributions, training curves, word vectors.",
        subcommands: [VisualizeEmbeddings.self, VisualizeAttention.self, VisualizeNextToken.self, VisualizeTraining.self, VisualizeWords.self])
}

struct VisualizeWords: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "words",
        abstract: "Word vectors projected onto their first two principal components, as SVG or HTML.")

    @Option(help: "Vector file (word2vec text or binary).") var vectors: String
    @Option(help: "Comma-separated words, e.g. king,queen,man,woman.") var words: String
    @Option(help: "Output .svg or .html file.") var out: String

    func run() throws {
        let loaded = try WordVectors.read(from: vectors)
        let list = words.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard list.count >= 2 else { throw ValidationError("--words needs at least two words, comma-separated") }
        for word in list where !loaded.contains(word) {
            throw ValidationError("'\(word)' is not in \(vectors) (\(loaded.words.count) words)")
        }
        let points = list.map { Array(loaded.vector($0)!) }
        let pca = PrincipalComponents(points: points, components: 2)
        let total = pca.variances.reduce(0, +)
        func share(_ index: Int) -> String {
            index < pca.variances.count && total > 0 ? String(format: " (%.0f%% of the pair's variance)", 100 * pca.variances[index] / total) : ""
        }
        let plot = ScatterPlot(
            title: "Word vectors: \(URL(fileURLWithPath: vectors).lastPathComponent)",
            xLabel: "principal component 1" + share(0), yLabel: "principal component 2" + share(1),
            points: zip(list, pca.projections).map { word, projection in
                let nearest = (try? loaded.similar(to: word, top: 3).map(\.word).joined(separator: ", ")) ?? ""
                return ScatterPlot.Point(x: projection[0], y: projection.count > 1 ? projection[1] : 0, label: word, detail: "nearest: \(nearest)")
            })
        try writePicture(out, svg: { plot.svg() }, html: plot.html)
    }
}
