import GPTTensor

/// Keys and values of every layer for the positions seen so far, so that generation
/// runs one new token per step instead of recomputing the whole context.
///
/// Layout per layer: (batch, heads, capacity, head size) for keys and for values, so that one
/// head's keys are one contiguous stream when decoding reads them; row b of the batch is one
/// sequence (a sample or a beam). All rows hold the same number of positions.
public final class KVCache: @unchecked Sendable {
    public let batch: Int
    /// The most positions a row can hold (the model's context length).
    public let capacity: Int
    let channels: Int
    let heads: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Positions filled in every row.
    public internal(set) var length = 0
    /// Room for one layer's keys or values while `reorder` permutes rows (made on first use).
    private lazy var reorderScratch = FloatBuffer(count: batch * capacity * channels)

    public init(configuration: GPTConfiguration, batch: Int = 1) {
        self.batch = batch
        capacity = configuration.contextLength
        channels = configuration.embeddingSize
        heads = configuration.headCount
        let size = batch * capacity * configuration.embeddingSize
        keys = (0..<configuration.layerCount).map { _ in FloatBuffer(count: size) }
        values = (0..<configuration.layerCount).map { _ in FloatBuffer(count: size) }
    }

    public func reset() {
        length = 0
    }

    /// Row r afterwards holds what row `sources[r]` held (beam search keeps its best beams).
    public func reorder(_ sources: [Int]) {
        precondition(sources.count == batch, "KVCache.reorder: one source per row")
        guard sources != Array(0..<batch) else { return }
        // Per head, only the positions in use are copied.
        let headSize = channels / heads
        let headBlock = capacity * headSize
        let used = length * headSize
        let scratch = reorderScratch
        for buffers in [keys, values] {
            for buffer in buffers {
                for row in 0..<batch {
                    for head in 0..<heads {
                        (scratch.pointer + (row * heads + head) * used)
                            .update(from: buffer.pointer + (sources[row] * heads + head) * headBlock, count: used)
                    }
                }
                for row in 0..<batch {
                    for head in 0..<heads {
                        (buffer.pointer + (row * heads + head) * headBlock)
                            .update(from: scratch.pointer + (row * heads + head) * used, count: used)
                    }
                }
            }
        }
    }

    /// Makes this cache hold what `source` holds (same shape): the positions in use of every row,
    /// layer and head — choices of one prompt share its prefill this way.
    public func copy(from source: KVCache) {
        precondition(
            source.batch == batch && source.capacity == capacity && source.keys.count == keys.count
                && source.channels == channels, "KVCache.copy: caches of different shapes")
        let headSize = channels / heads
        let used = source.length * headSize
        for (targets, sources) in [(keys, source.keys), (values, source.values)] {
            for (target, from) in zip(targets, sources) {
                for block in 0..<(batch * heads) {
                    (target.pointer + block * capacity * headSize).update(from: from.pointer + block * capacity * headSize, count: used)
                }
            }
        }
        length = source.length
    }

    /// Bytes of keys and values this cache holds at full length.
    public var bytes: Int { 2 * keys.count * batch * capacity * channels * MemoryLayout<Float>.size }

    /// Layer `layer`'s key and value storage.
    func pointers(layer: Int) -> (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        (keys[layer].pointer, values[layer].pointer)
    }
}
