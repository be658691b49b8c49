import CWord2Vec
import Foundation
import GPTEmbeddings
import GPTTensor
import GPTTestSupport
import Testing

@Suite struct Word2VecGradientTests {
    /// One negative-sampling update moves the input and output vectors by −α·∇ of the loss
    /// −log σ(u·v⁺) − Σ log σ(−u·v⁻) (checked by finite differences; the sigmoid is tabulated as in word2vec).
    @Test func updateFollowsTheNegativeSamplingGradient() {
        let dimensions = 8
        var input = randomValues(dimensions, scale: 0.5, seed: 1)
        var output = randomValues(4 * dimensions, scale: 0.5, seed: 2)
        let targets: [Int32] = [2, 0, 3]
        let labels: [Float] = [1, 0, 0]
        func loss(_ input: [Float], _ output: [Float]) -> Double {
            gpt_word2vec_pair_loss(input, output, targets, labels, 3, Int32(dimensions))
        }
        let step: Float = 1e-3
        var numericalInput: [Float] = []
        for k in 0..<dimensions {
            var plus = input, minus = input
            plus[k] += step
            minus[k] -= step
            numericalInput.append(Float((loss(plus, output) - loss(minus, output)) / Double(2 * step)))
        }
        var numericalOutput: [Float] = []
        for k in 0..<(4 * dimensions) {
            var plus = output, minus = output
            plus[k] += step
            minus[k] -= step
            numericalOutput.append(Float((loss(input, plus) - loss(input, minus)) / Double(2 * step)))
        }
        let alpha: Float = 1e-3
        let (inputBefore, outputBefore) = (input, output)
        var error = [Float](repeating: 0, count: dimensions)
        gpt_word2vec_pair_update(&input, &output, targets, labels, 3, Int32(dimensions), alpha, &error)
        let inputStep = zip(input, inputBefore).map { ($0 - $1) / -alpha }
        let outputStep = zip(output, outputBefore).map { ($0 - $1) / -alpha }
        expectGradientMatches(analytic: inputStep, numerical: numericalInput, tolerance: 2e-2, "input vector")
        expectGradientMatches(analytic: outputStep, numerical: numericalOutput, tolerance: 2e-2, "output vectors")
        #expect(outputStep[8..<16].allSatisfy { $0 == 0 })  // word 1 (row 1) was not a target
    }
}

@Suite struct WordVectorFileTests {
    static let fixtures = projectRoot.appendingPathComponent("Tests/GPTEmbeddingsTests/Fixtures")

    struct Expected: Decodable {
        let count: Int
        let dim: Int
        let most_similar: [String: [[Either]]]
        let analogies: [Analogy]
        struct Analogy: Decodable {
            let a: String, b: String, c: String
            let cosadd: [[Either]]
            let cosmul: [[Either]]
        }
    }
    enum Either: Decodable {
        case word(String), number(Float)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .word(text) } else { self = .number(try container.decode(Float.self)) }
        }
        var word: String? { if case .word(let w) = self { return w } else { return nil } }
        var number: Float? { if case .number(let n) = self { return n } else { return nil } }
    }

    @Test(arguments: ["gensim-small.txt", "gensim-small.bin"])
    func gensimFilesLoadAndGiveGensimSimilarities(file: String) throws {
        let vectors = try WordVectors.read(from: Self.fixtures.appendingPathComponent(file).path)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("gensim-small-expected.json")))
        #expect(vectors.words.count == expected.count && vectors.dimensions == expected.dim)
        for (word, neighbours) in expected.most_similar {
            let ours = try vectors.similar(to: word, top: neighbours.count)
            #expect(ours.map(\.word) == neighbours.map { $0[0].word! }, "\(word)")
            expectClose(ours.map(\.similarity), neighbours.map { $0[1].number! }, absolute: 2e-5, relative: 1e-5, word)
        }
        #expect(!expected.analogies.isEmpty)
        for analogy in expected.analogies {
            for (method, reference) in [(WordVectors.AnalogyMethod.add, analogy.cosadd), (.multiply, analogy.cosmul)] {
                let ours = try vectors.analogy(analogy.a, analogy.b, analogy.c, top: reference.count, method: method)
                #expect(ours.map(\.word) == reference.map { $0[0].word! }, "\(analogy.a) \(analogy.b) \(analogy.c) \(method)")
                expectClose(ours.map(\.similarity), reference.map { $0[1].number! }, absolute: 2e-5, relative: 1e-5, "\(method)")
            }
        }
    }

    @Test func ourFilesRoundTripInBothFormats() throws {
        let vectors = try WordVectors.read(from: Self.fixtures.appendingPathComponent("gensim-small.txt").path)
        let directory = temporaryDirectory("vectors")
        for format in WordVectors.FileFormat.allCases {
            let url = directory.appendingPathComponent("v.\(format == .binary ? "bin" : "txt")")
            try vectors.write(to: url, format: format)
            let back = try WordVectors.read(from: url.path)
            #expect(back.words == vectors.words)
            #expect(back.values == vectors.values, "\(format)")
        }
    }

    @Test func malformedAndTruncatedFilesAreClearErrors() throws {
        let directory = temporaryDirectory("bad-vectors")
        let truncated = Self.fixtures.appendingPathComponent("gensim-small-truncated.bin").path
        #expect(throws: Error.self) { try WordVectors.read(from: truncated) }
        let cases = ["": "header", "3 2\na 1 2\nb 1\n": "values", "2 2\na 1 2\n": "truncated", "2 2\na 1 x\nb 1 2\n": "number"]
        for (text, fragment) in cases {
            let url = directory.appendingPathComponent("bad-\(fragment).txt")
            try Data(text.utf8).write(to: url)
            do {
                _ = try WordVectors.read(from: url.path)
                Issue.record("no error for \(fragment)")
            } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        let vectors = try WordVectors.read(from: Self.fixtures.appendingPathComponent("gensim-small.txt").path)
        #expect(throws: EmbeddingError.self) { try vectors.similar(to: "zebra") }
    }
}

@Suite struct Word2VecTrainingTests {
    static let males = ["king", "man", "boy", "prince", "father", "brother", "uncle", "son", "husband", "lord"]
    static let females = ["queen", "woman", "girl", "princess", "mother", "sister", "aunt", "daughter", "wife", "lady"]

    /// Sentences where paired words share contexts except for one attribute: each sentence holds
    /// one word of pair i, two of pair i's topic words and two words of its gender, shuffled.
    static func plantedCorpus() -> String {
        var generator = RandomGenerator(seed: 11)
        var lines: [String] = []
        for _ in 0..<20_000 {
            let pair = generator.nextInt(below: 10)
            let female = generator.nextInt(below: 2) == 1
            let letter = String(UnicodeScalar(UInt8(97 + pair)))  // letters only: digits separate words
            let topic = ["t\(letter)a", "t\(letter)b", "t\(letter)c"].shuffled(using: &generator)
            let gender = (female ? ["she", "her", "hers"] : ["he", "him", "his"]).shuffled(using: &generator)
            var words = [female ? females[pair] : males[pair]] + topic.prefix(2) + gender.prefix(2)
            words.shuffle(using: &generator)
            lines.append(words.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: Word2VecSettings.Architecture.allCases)
    func plantedAnalogiesAreFound(architecture: Word2VecSettings.Architecture) throws {
        let corpus = try Word2VecCorpus(texts: [Self.plantedCorpus()], normalization: .lowerLetters, minCount: 1)
        var settings = Word2VecSettings()
        settings.architecture = architecture
        settings.dimensions = 30
        settings.window = 5
        settings.epochs = 10
        settings.sample = 0
        settings.alpha = architecture == .cbow ? 0.05 : 0.025
        let vectors = try Word2Vec.train(corpus: corpus, settings: settings, parallelism: Parallelism(threads: 2))
        let (males, females) = (Self.males, Self.females)
        var correct = 0, total = 0
        for i in males.indices { for j in males.indices where i != j {
            total += 1
            if try vectors.analogy(males[i], females[i], males[j], top: 1).first?.word == females[j] { correct += 1 }
        } }
        #expect(Double(correct) / Double(total) >= 0.9, "\(architecture): \(correct) / \(total)")
    }

    @Test func oneThreadIsReproducibleBitForBit() throws {
        let corpus = try Word2VecCorpus(texts: [String(Self.plantedCorpus().prefix(40_000))], normalization: .lowerLetters, minCount: 1)
        var settings = Word2VecSettings()
        settings.dimensions = 16
        settings.epochs = 2
        let a = try Word2Vec.train(corpus: corpus, settings: settings, parallelism: Parallelism(threads: 1))
        let b = try Word2Vec.train(corpus: corpus, settings: settings, parallelism: Parallelism(threads: 1))
        #expect(a.values == b.values)
        settings.seed = 2
        #expect(try Word2Vec.train(corpus: corpus, settings: settings, parallelism: Parallelism(threads: 1)).values != a.values)
    }

    @Test func badCorporaAreClearErrors() {
        #expect(throws: Error.self) { try Word2VecCorpus(texts: ["  \n ,,, \n"], normalization: .lowerLetters, minCount: 1) }
        #expect(throws: Error.self) { try Word2VecCorpus(texts: ["a b c"], normalization: .lowerLetters, minCount: 5) }
        var settings = Word2VecSettings()
        settings.window = 0
        #expect(throws: InvalidValue(owner: "Word2VecSettings", field: "window", rule: "must be between 1 and 10000", value: "0")) {
            try settings.validate()
        }
    }

    @Test func corpusNormalisationAndSentences() throws {
        let corpus = try Word2VecCorpus(texts: ["The cat's hat.\nthe CAT sat\n\n"], normalization: .lowerLetters, minCount: 1)
        #expect(corpus.words.prefix(2) == ["cat", "the"])
        #expect(corpus.sentenceCount == 2)
        #expect(corpus.rawWordCount == 7)
        // One long line (like text8) becomes sentences of at most 10,000 words, none lost.
        let long = try Word2VecCorpus(
            texts: [Array(repeating: "a b c d e", count: 5_000).joined(separator: " ")], normalization: .lowerLetters, minCount: 1)
        #expect(long.starts == [0, 10_000, 20_000, 25_000])
        #expect(long.wordCount == 25_000)
    }
}
