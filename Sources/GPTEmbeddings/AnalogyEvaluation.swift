import Foundation
import GPTFormats
import GPTTensor

/// The Google analogy test (questions-words.txt): for each line `a b c d`, is d the word
/// nearest to b − a + c (3CosAdd, the three inputs excluded)? As gensim 4's
/// `evaluate_word_analogies`: only the `restrictTo` most frequent words take part, matching is
/// case-insensitive, and questions with a word outside them are skipped.
public struct AnalogyEvaluation: Sendable {
    public struct Section: Sendable {
        public let name: String
        public var correct = 0
        public var incorrect = 0
        public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }
    }

    public let sections: [Section]
    public let skipped: Int

    public var correct: Int { sections.reduce(0) { $0 + $1.correct } }
    public var incorrect: Int { sections.reduce(0) { $0 + $1.incorrect } }
    public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }

    public static func evaluate(
        vectors: WordVectors, questions path: String, restrictTo limit: Int = 300_000, method: WordVectors.AnalogyMethod = .add
    ) throws -> AnalogyEvaluation {
        let text = try TextFile.read(path)
        // Lower-cased view of the first `limit` words (the first occurrence of a lower-cased form wins).
        let restricted = WordVectors(
            words: vectors.words.prefix(limit).map { $0.lowercased() }, dimensions: vectors.dimensions,
            values: Array(vectors.values.prefix(min(limit, vectors.words.count) * vectors.dimensions)))
        var sections: [Section] = []
        var skipped = 0
        var questions: [(section: Int, a: Int, b: Int, c: Int, d: Int)] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix(":") {
                sections.append(Section(name: line.dropFirst().trimmingCharacters(in: .whitespaces)))
                continue
            }
            let parts = line.split(separator: " ").map { $0.lowercased() }
            guard parts.count == 4 else { continue }
            if sections.isEmpty { sections.append(Section(name: "questions")) }
            let positions = parts.compactMap(restricted.position)
            guard positions.count == 4 else {
                skipped += 1
                continue
            }
            questions.append((sections.count - 1, positions[0], positions[1], positions[2], positions[3]))
        }
        // Score questions in blocks through BLAS: block (q × n) · unitᵀ (n × V).
        let n = restricted.dimensions
        let V = restricted.words.count
        let block = 256
        let unit = FloatBuffer(restricted.unit)
        let queries = FloatBuffer(count: 3 * block * n)
        let scores = FloatBuffer(count: 3 * block * V)
        for first in stride(from: 0, to: questions.count, by: block) {
            let chunk = Array(questions[first..<min(first + block, questions.count)])
            let q = chunk.count
            for (row, question) in chunk.enumerated() {
                for (slot, word) in [question.a, question.b, question.c].enumerated() {
                    (queries.pointer + (slot * block + row) * n).update(from: unit.pointer + word * n, count: n)
                }
            }
            if method == .add {
                // b − a + c, normalised, in the first slot.
                for row in 0..<q {
                    let target = queries.pointer + row * n
                    var norm: Float = 0
                    for k in 0..<n {
                        target[k] = queries[(block + row) * n + k] - target[k] + queries[(2 * block + row) * n + k]
                        norm += target[k] * target[k]
                    }
                    let inverse = 1 / max(norm.squareRoot(), 1e-12)
                    for k in 0..<n { target[k] *= inverse }
                }
                BLAS.multiply(transposeB: true, rows: q, columns: V, inner: n, queries.pointer, leadingA: n, unit.pointer, leadingB: n, scores.pointer, leadingC: V)
            } else {
                for slot in 0..<3 {
                    BLAS.multiply(
                        transposeB: true, rows: q, columns: V, inner: n, queries.pointer + slot * block * n, leadingA: n,
                        unit.pointer, leadingB: n, scores.pointer + slot * block * V, leadingC: V)
                }
            }
            for (row, question) in chunk.enumerated() {
                var best = -Float.infinity
                var answer = -1
                for word in 0..<V where word != question.a && word != question.b && word != question.c {
                    let score: Float
                    if method == .add {
                        score = scores[row * V + word]
                    } else {
                        score = WordVectors.AnalogyMethod.multiplicativeScore(
                            a: scores[row * V + word], b: scores[(block + row) * V + word], c: scores[(2 * block + row) * V + word])
                    }
                    if score > best { best = score; answer = word }
                }
                if answer == question.d { sections[question.section].correct += 1 } else { sections[question.section].incorrect += 1 }
            }
        }
        guard !sections.isEmpty else { throw FileFormatError("\(path) holds no analogy questions (lines 'a b c d')") }
        return AnalogyEvaluation(sections: sections, skipped: skipped)
    }
}
