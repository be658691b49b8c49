import Foundation
import GPTTensor

extension CachedForward {
    /// Recomputes the attention probabilities of this pass's new positions from the queries and the
    /// cached keys (softmax(q · k / √head size) over keys 0 … past + i) and hands each head's
    /// count × (past + count) block to `observer`. Only pictures ask for it; generation never does.
    func observe(_ qkv: UnsafePointer<Float>, _ observer: AttentionObserver) {
        let (C, NH) = (model.configuration.embeddingSize, model.configuration.headCount)
        let HS = C / NH
        let past = cache.length
        let keys = past + count
        let scale = 1 / Float(HS).squareRoot()
        let (keyCache, _) = cache.pointers(layer: layer)
        var block = [Float](repeating: 0, count: count * keys)
        for b in 0..<cache.batch {
            for h in 0..<NH {
                block.withUnsafeMutableBufferPointer { out in
                    for i in 0..<count {
                        let query = qkv + (b * count + i) * 3 * C + h * HS
                        let row = out.baseAddress! + i * keys
                        var largest = -Float.infinity
                        for k in 0...(past + i) {
                            let key = keyCache + ((b * NH + h) * cache.capacity + k) * HS
                            var dot: Float = 0
                            for d in 0..<HS { dot += query[d] * key[d] }
                            row[k] = dot * scale
                            largest = max(largest, row[k])
                        }
                        var sum: Float = 0
                        for k in 0...(past + i) {
                            row[k] = exp(row[k] - largest)
                            sum += row[k]
                        }
                        for k in 0...(past + i) { row[k] /= sum }
                        for k in (past + i + 1)..<keys { row[k] = 0 }
                    }
                    observer(layer, b, h, UnsafeBufferPointer(out))
                }
            }
        }
    }
}

extension InferenceSession {
    /// Every layer's and head's attention over `tokens` (one sequence from position 0), through the
    /// inference path (so quantized models show theirs): weights[layer][head] is T × T, row-major
    /// (query × key), zero above the diagonal.
    public func attentionWeights(tokens: [Int32]) throws -> [[[Float]]] {
        let c = model.configuration
        var weights = [[[Float]]](repeating: [[Float]](repeating: [], count: c.headCount), count: c.layerCount)
        _ = try forward(
            tokens: tokens, count: tokens.count, cache: KVCache(configuration: c, batch: 1)
        ) { layer, _, head, probabilities in
            weights[layer][head] = Array(probabilities)
        }
        return weights
    }
}
