import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// The read-only attention hook sees the probabilities the forward pass mixes the values with.
@Suite struct AttentionHookTests {
    @Test func hookEqualsAnIndependentComputationAndIsCausal() throws {
        let configuration = GPTConfiguration(vocabularySize: 11, contextLength: 8, embeddingSize: 8, layerCount: 2, headCount: 2)
        var generator = RandomGenerator(seed: 4)
        let model = try GPT(configuration: configuration, generator: &generator)
        for index in 0..<model.parameters.count { model.parameters[index] *= 10 }  // sharper attention
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9]
        let T = tokens.count
        var seen: [String: [Float]] = [:]
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let loss = try session.forward(tokens: tokens, targets: tokens, batch: 1, length: T) { layer, batch, head, probabilities in
            seen["\(layer).\(batch).\(head)"] = Array(probabilities)
        }
        #expect(seen.count == configuration.layerCount * configuration.headCount)
        // The hook changes nothing.
        let again = try session.forward(tokens: tokens, targets: tokens, batch: 1, length: T)
        #expect(loss == again)
        for probabilities in seen.values {
            for q in 0..<T {
                let row = probabilities[(q * T)..<((q + 1) * T)]
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                #expect(row.dropFirst(q + 1).allSatisfy { $0 == 0 })
            }
        }
        // Layer 0 recomputed from the parameters: LN₁(embedding) → Q, K → softmax(QKᵀ/√HS) with the causal mask.
        let C = configuration.embeddingSize, HS = configuration.headSize
        let p = model.layout.blocks[0]
        func weight(_ offset: Int, _ index: Int) -> Double { Double(model.parameters[offset + index]) }
        var qkv = [[Double]](repeating: [Double](repeating: 0, count: 3 * C), count: T)
        for t in 0..<T {
            let x = (0..<C).map { weight(model.layout.tokenEmbedding, Int(tokens[t]) * C + $0) + weight(model.layout.positionEmbedding!, t * C + $0) }
            let mean = x.reduce(0, +) / Double(C)
            let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
            let normed = (0..<C).map { (x[$0] - mean) / (variance + 1e-5).squareRoot() * weight(p.firstNormWeight, $0) + weight(p.firstNormBias!, $0) }
            for o in 0..<(3 * C) {
                qkv[t][o] = weight(p.qkvBias!, o) + (0..<C).reduce(0) { $0 + normed[$1] * weight(p.qkvWeight, $1 * 3 * C + o) }
            }
        }
        for head in 0..<configuration.headCount {
            let hooked = seen["0.0.\(head)"]!
            for q in 0..<T {
                let scores = (0...q).map { k in
                    (0..<HS).reduce(0.0) { $0 + qkv[q][head * HS + $1] * qkv[k][C + head * HS + $1] } / Double(HS).squareRoot()
                }
                let maximum = scores.max()!
                let total = scores.reduce(0) { $0 + exp($1 - maximum) }
                for k in 0...q {
                    #expect(abs(Double(hooked[q * T + k]) - exp(scores[k] - maximum) / total) < 1e-4, "head \(head) [\(q), \(k)]")
                }
            }
        }
    }

    /// The inference path's weights (what the server's playground and `gpt viz attention` show, for
    /// quantized models too) equal the training pass's, also when the prompt arrives in two parts.
    @Test func inferencePathShowsTheSameAttention() throws {
        let configuration = GPTConfiguration(vocabularySize: 11, contextLength: 8, embeddingSize: 8, layerCount: 2, headCount: 2)
        var generator = RandomGenerator(seed: 5)
        let model = try GPT(configuration: configuration, generator: &generator)
        for index in 0..<model.parameters.count { model.parameters[index] *= 10 }
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9, 2]
        let T = tokens.count
        var trained: [String: [Float]] = [:]
        _ = try TrainingSession(model: model, parallelism: Parallelism(threads: 1)).forward(
            tokens: tokens, targets: tokens, batch: 1, length: T
        ) { layer, _, head, probabilities in trained["\(layer).\(head)"] = Array(probabilities) }
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 1))
        let inferred = try session.attentionWeights(tokens: tokens)
        #expect(inferred.count == 2 && inferred.allSatisfy { $0.count == 2 })
        // The last 3 positions after the first 4 are in the cache: rows 4…6 of the same matrices.
        let cache = KVCache(configuration: configuration)
        _ = try session.forward(tokens: Array(tokens[..<4]), count: 4, cache: cache)
        var tail: [String: [Float]] = [:]
        _ = try session.forward(tokens: Array(tokens[4...]), count: 3, cache: cache) { layer, _, head, probabilities in
            tail["\(layer).\(head)"] = Array(probabilities)
        }
        for layer in 0..<2 {
            for head in 0..<2 {
                let reference = trained["\(layer).\(head)"]!
                #expect(zip(inferred[layer][head], reference).allSatisfy { abs($0 - $1) < 1e-5 }, "layer \(layer) head \(head)")
                #expect(zip(tail["\(layer).\(head)"]!, reference[(4 * T)...]).allSatisfy { abs($0 - $1) < 1e-5 })
            }
        }
    }
}
