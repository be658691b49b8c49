import CWord2Vec
import Foundation
import GPTTensor

/// word2vec's settings (the `gpt word2vec train` flags).
public struct Word2VecSettings: Sendable {
    public enum Architecture: String, CaseIterable, Sendable {
        case skipgram
        case cbow
    }

    public var architecture = Architecture.skipgram
    public var dimensions = 100
    public var window = 5
    public var negatives = 5
    /// Frequent-word subsampling threshold (0: off), word2vec's formula.
    public var sample: Double = 1e-3
    public var epochs = 5
    public var alpha: Float = 0.025
    public var minAlpha: Float = 0.0001
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        let check = Validator(owner: "Word2VecSettings")
        try check.require(dimensions >= 1 && dimensions <= 10_000, "dimensions", "must be between 1 and 10000", dimensions)
        try check.require(window >= 1 && window <= 10_000, "window", "must be between 1 and 10000", window)
        try check.require(negatives >= 1 && negatives <= 1_000, "negatives", "must be between 1 and 1000", negatives)
        try check.require(sample >= 0 && sample.isFinite, "sample", "must be non-negative", sample)
        try check.require(epochs >= 1 && epochs <= 10_000, "epochs", "must be between 1 and 10000", epochs)
        // Larger rates diverge (the vectors overflow to NaN); word2vec and gensim use 0.025–0.05.
        try check.require(alpha > 0 && alpha <= 1, "alpha", "must be in (0, 1]", alpha)
        try check.require(minAlpha >= 0 && minAlpha <= alpha, "minAlpha", "must be in [0, alpha]", minAlpha)
    }
}

/// A problem with embeddings (settings, queries, files), phrased for the user.
public struct EmbeddingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Trains word vectors with negative sampling, skip-gram or CBOW, on all threads lock-free
/// (as word2vec and gensim); with one thread the same seed gives the same vectors bit for bit.
public enum Word2Vec {
    /// Progress: words processed so far (all epochs), and the total.
    public typealias Progress = (_ processed: Int, _ total: Int) -> Void

    public static func train(
        corpus: Word2VecCorpus, settings: Word2VecSettings, parallelism: Parallelism, progress: Progress = { _, _ in }
    ) throws -> WordVectors {
        try settings.validate()
        let V = corpus.words.count
        let n = settings.dimensions
        var generator = RandomGenerator(seed: settings.seed)
        let input = FloatBuffer(count: V * n)
        for index in 0..<(V * n) { input[index] = (generator.nextFloat() - 0.5) / Float(n) }
        let output = FloatBuffer(count: V * n)  // zero, as word2vec
        // Subsampling thresholds (word2vec's formula) and the unigram^0.75 table.
        let total = Double(corpus.wordCount)
        var thresholds = [UInt32](repeating: UInt32.max, count: V)
        if settings.sample > 0 {
            let limit = settings.sample * total
            for word in 0..<V {
                let count = Double(corpus.counts[word])
                let keep = (sqrt(count / limit) + 1) * limit / count
                thresholds[word] = keep >= 1 ? UInt32.max : UInt32(keep * 4_294_967_296.0)
            }
        }
        let powered = corpus.counts.map { pow(Double($0), 0.75) }
        let normaliser = powered.reduce(0, +)
        var cumulative = [UInt32](repeating: 0, count: V)
        var running = 0.0
        for word in 0..<V {
            running += powered[word]
            cumulative[word] = UInt32(min(2_147_483_647, (running / normaliser * 2_147_483_647).rounded()))
        }
        // Jobs of about 500k words (few barriers; a progress report after each), split across threads by sentences.
        var jobs: [Range<Int>] = []
        var start = 0
        while start < corpus.sentenceCount {
            var end = start
            while end < corpus.sentenceCount && corpus.starts[end] - corpus.starts[start] < 500_000 { end += 1 }
            jobs.append(start..<end)
            start = end
        }
        let totalWords = corpus.wordCount * settings.epochs
        let threads = parallelism.threads
        let scratch = FloatBuffer(count: threads * 2 * n)
        var states = (0..<threads).map { UInt64($0) &+ settings.seed &* 0x9E37_79B9_7F4A_7C15 }
        var done = 0
        cumulative.withUnsafeBufferPointer { cumulative in
            thresholds.withUnsafeBufferPointer { thresholds in
                corpus.ids.withUnsafeBufferPointer { ids in
                    corpus.starts.withUnsafeBufferPointer { starts in
                        var model = gpt_word2vec_model(
                            input: input.pointer, output: output.pointer, cumulative: cumulative.baseAddress!,
                            vocabulary: V, keep_threshold: thresholds.baseAddress!, dimensions: Int32(n),
                            window: Int32(settings.window), negatives: Int32(settings.negatives),
                            skipgram: settings.architecture == .skipgram ? 1 : 0)
                        withUnsafePointer(to: &model) { model in
                            states.withUnsafeMutableBufferPointer { states in
                                for _ in 0..<settings.epochs {
                                    for job in jobs {
                                        let jobWords = Int(starts[job.upperBound] - starts[job.lowerBound])
                                        // Split the job's sentences by words across threads.
                                        var bounds = [job.lowerBound]
                                        for t in 1..<threads {
                                            let target = starts[job.lowerBound] + Int64(jobWords * t / threads)
                                            var s = bounds.last!
                                            while s < job.upperBound && starts[s] < target { s += 1 }
                                            bounds.append(s)
                                        }
                                        bounds.append(job.upperBound)
                                        parallelism.forEachChunk(of: threads) { _, range in
                                            for t in range where bounds[t] < bounds[t + 1] {
                                                let before = done + Int(starts[bounds[t]] - starts[job.lowerBound])
                                                _ = gpt_word2vec_train(
                                                    model, ids.baseAddress!, starts.baseAddress!, bounds[t], bounds[t + 1],
                                                    states.baseAddress! + t, settings.alpha, settings.minAlpha, before,
                                                    totalWords, scratch.pointer + t * 2 * n)
                                            }
                                        }
                                        done += jobWords
                                        progress(done, totalWords)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let values = input.array
        guard values.allSatisfy(\.isFinite) else {
            throw EmbeddingError(
                "training diverged: the vectors overflowed to infinity or NaN with alpha \(settings.alpha); lower --alpha (word2vec uses 0.025 for skip-gram, 0.05 for CBOW)")
        }
        return WordVectors(words: corpus.words, dimensions: n, values: values)
    }
}
