import Foundation
import GPTTensor

/// Picks the next token from a row of logits by running `SamplingParameters`' chain over a
/// candidate set (token ids with their current logits). Its candidate buffers are reused from
/// token to token, so a step does not allocate per candidate.
public struct Sampler {
    public let parameters: SamplingParameters
    private var ids: [Int32] = []
    private var values: [Float] = []
    private var probabilities: [Float] = []
    private var keys: [Float] = []
    private var indices: [Int] = []
    /// Where `select` gathers the kept candidates before swapping them in.
    private var spareIds: [Int32] = []
    private var spareValues: [Float] = []
    private var spareProbabilities: [Float] = []
    /// Candidates are still all tokens in id order (so index == id).
    private var isIdentity = true
    /// Candidates are sorted by descending logit.
    private var isSorted = false

    /// The temperature the last `sample` drew at (0 when it was greedy): with a schedule or dynamic
    /// temperature, what the chain actually used.
    public private(set) var lastTemperature: Float = 1

    public init(parameters: SamplingParameters = SamplingParameters()) {
        self.parameters = parameters
    }

    /// The next token. `history` is every token so far (prompt and generated), `step` the index of
    /// the token being generated among `steps` (for the temperature schedule).
    public mutating func sample(
        _ logits: UnsafeBufferPointer<Float>, history: [Int] = [], step: Int = 0, steps: Int = 1,
        generator: inout RandomGenerator
    ) -> Int {
        let count = logits.count
        ids.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        for index in 0..<count {
            ids.append(Int32(index))
            values.append(logits[index])
        }
        isIdentity = true
        isSorted = false
        var forced: Int?
        for (token, bias) in parameters.logitBias where token >= 0 && token < count {
            values[token] += bias
            if bias == .infinity { forced = min(forced ?? token, token) }
        }
        if let forced {  // a bias of +infinity forces its token (the lowest id if several)
            lastTemperature = 0
            return forced
        }
        if parameters.isGreedy {
            applyPenalties(history: history)
            lastTemperature = 0
            return argmax()
        }
        var temperature: Float = 1
        lastTemperature = 1
        for stage in parameters.order {
            switch stage {
            case .penalties: applyPenalties(history: history)
            case .topK: if parameters.topK > 0 && parameters.topK < ids.count { keepLargest(parameters.topK) }
            case .typicalP: if parameters.typicalP < 1 { keepTypical(parameters.typicalP) }
            case .topP: if parameters.topP < 1 { keepNucleus(parameters.topP) }
            case .minP: if parameters.minP > 0 { keepAboveMinimum(parameters.minP) }
            case .temperature:
                temperature = currentTemperature(step: step, steps: steps)
                lastTemperature = temperature
                if temperature < SamplingParameters.greedyTemperature { return argmax() }
            }
        }
        return draw(temperature: temperature, generator: &generator)
    }

    // MARK: - Stages

    private mutating func applyPenalties(history: [Int]) {
        let p = parameters
        guard p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0, p.penaltyWindow > 0 else { return }
        var counts: [Int: Int] = [:]
        for token in history.suffix(p.penaltyWindow) { counts[token, default: 0] += 1 }
        func penalise(_ index: Int, _ occurrences: Int) {
            var value = values[index]
            if p.repetitionPenalty != 1 { value = value > 0 ? value / p.repetitionPenalty : value * p.repetitionPenalty }
            value -= p.presencePenalty + p.frequencyPenalty * Float(occurrences)
            values[index] = value
        }
        if isIdentity {
            for (token, occurrences) in counts where token >= 0 && token < values.count { penalise(token, occurrences) }
        } else {
            for index in ids.indices { if let occurrences = counts[Int(ids[index])] { penalise(index, occurrences) } }
        }
        isSorted = false  // the penalised logits may be out of order now
    }

    /// Keeps the k largest logits, sorted descending.
    private mutating func keepLargest(_ k: Int) {
        // A min-heap of the k best (value, index) seen so far.
        var heap: [(Float, Int)] = []
        heap.reserveCapacity(k)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].0 < heap[smallest].0 { smallest = left }
                if right < heap.count && heap[right].0 < heap[smallest].0 { smallest = right }
                if smallest == parent { return }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        for index in values.indices {
            let value = values[index]
            if heap.count < k {
                heap.append((value, index))
                var child = heap.count - 1
                while child > 0 && heap[child].0 < heap[(child - 1) / 2].0 {
                    heap.swapAt(child, (child - 1) / 2)
                    child = (child - 1) / 2
                }
            } else if value > heap[0].0 {
                heap[0] = (value, index)
                siftDown(0)
            }
        }
        heap.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        let keptIds = heap.map { ids[$0.1] }
        ids.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        ids.append(contentsOf: keptIds)
        values.append(contentsOf: heap.map(\.0))
        isIdentity = false
        isSorted = true
    }

    /// Softmax of the current candidates into `probabilities`.
    private mutating func computeProbabilities() {
        probabilities.removeAll(keepingCapacity: true)
        probabilities.append(contentsOf: repeatElement(0, count: values.count))
        values.withUnsafeBufferPointer { v in
            probabilities.withUnsafeMutableBufferPointer { p in
                Kernels.softmax(probabilities: p.baseAddress!, logits: v.baseAddress!, count: v.count, inverseTemperature: 1)
            }
        }
    }

    /// Keeps the smallest set of most likely tokens whose probability mass reaches `p`.
    private mutating func keepNucleus(_ p: Float) {
        computeProbabilities()
        if !isSorted {
            // Only tokens above a threshold can be in the nucleus: find a threshold whose tokens
            // already hold mass ≥ p, then sort just those.
            let maximum = probabilities.max() ?? 0
            var threshold = maximum / 64
            while true {
                var mass: Float = 0
                for probability in probabilities where probability >= threshold { mass += probability }
                if mass >= p || threshold == 0 { break }
                threshold = threshold > 1e-30 ? threshold / 64 : 0
            }
            indices.removeAll(keepingCapacity: true)
            for index in probabilities.indices where probabilities[index] >= threshold { indices.append(index) }
            indices.sort { probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : ids[$0] < ids[$1] }
            select(indices[...], sorted: true)
        }
        var mass: Float = 0
        var keep = 0
        while keep < probabilities.count {
            mass += probabilities[keep]
            keep += 1
            if mass >= p { break }
        }
        truncate(keep)
    }

    /// Keeps tokens whose probability is at least `fraction` of the most likely one's.
    private mutating func keepAboveMinimum(_ fraction: Float) {
        computeProbabilities()
        let threshold = (probabilities.max() ?? 0) * fraction
        indices.removeAll(keepingCapacity: true)
        for index in probabilities.indices where probabilities[index] >= threshold { indices.append(index) }
        if indices.count < ids.count { select(indices[...], sorted: isSorted) }
    }

    /// Locally typical sampling: keeps the tokens whose surprise is closest to the entropy,
    /// up to probability mass `p`.
    private mutating func keepTypical(_ p: Float) {
        computeProbabilities()
        var entropy: Float = 0
        for probability in probabilities where probability > 0 { entropy -= probability * log(probability) }
        keys.removeAll(keepingCapacity: true)
        for probability in probabilities { keys.append(probability > 0 ? abs(-log(probability) - entropy) : .infinity) }
        indices.removeAll(keepingCapacity: true)
        indices.append(contentsOf: probabilities.indices)
        indices.sort { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : ids[$0] < ids[$1] }
        var mass: Float = 0
        var keep = 0
        while keep < indices.count {
            mass += probabilities[indices[keep]]
            keep += 1
            if mass >= p { break }
        }
        select(indices[..<keep], sorted: false)
    }

    private func currentTemperature(step: Int, steps: Int) -> Float {
        var base = parameters.temperature
        if let final = parameters.finalTemperature, steps > 1 {
            base += (final - base) * Float(step) / Float(steps - 1)
        }
        let range = parameters.dynamicTemperatureRange
        guard range > 0, values.count > 1 else { return base }
        // Entropy of the candidates at temperature 1, normalised by its maximum log(count).
        var maximum = -Float.infinity
        for value in values { maximum = max(maximum, value) }
        var sum: Float = 0
        var weighted: Float = 0
        for value in values {
            let e = exp(value - maximum)
            sum += e
            weighted += e * (value - maximum)
        }
        let entropy = log(sum) - weighted / sum
        let normalised = min(1, max(0, entropy / log(Float(values.count))))
        let low = max(0, base - range)
        let high = base + range
        return low + (high - low) * pow(normalised, parameters.dynamicTemperatureExponent)
    }

    // MARK: - Helpers

    /// Keeps the candidates at `chosen`, in that order; `sorted` says whether that order is by
    /// descending logit.
    private mutating func select(_ chosen: ArraySlice<Int>, sorted: Bool) {
        spareIds.removeAll(keepingCapacity: true)
        spareValues.removeAll(keepingCapacity: true)
        spareProbabilities.removeAll(keepingCapacity: true)
        for index in chosen {
            spareIds.append(ids[index])
            spareValues.append(values[index])
            if !probabilities.isEmpty { spareProbabilities.append(probabilities[index]) }
        }
        swap(&ids, &spareIds)
        swap(&values, &spareValues)
        swap(&probabilities, &spareProbabilities)
        isIdentity = false
        isSorted = sorted
    }

    private mutating func truncate(_ keep: Int) {
        guard keep < ids.count else { return }
        ids.removeSubrange(keep...)
        values.removeSubrange(keep...)
        if probabilities.count > keep { probabilities.removeSubrange(keep...) }
        isIdentity = false
    }

    private func argmax() -> Int {
        var best = 0
        for index in values.indices where values[index] > values[best] { best = index }
        return Int(ids[best])
    }

    private mutating func draw(temperature: Float, generator: inout RandomGenerator) -> Int {
        probabilities.removeAll(keepingCapacity: true)
        probabilities.append(contentsOf: repeatElement(0, count: values.count))
        values.withUnsafeBufferPointer { v in
            probabilities.withUnsafeMutableBufferPointer { p in
                Kernels.softmax(probabilities: p.baseAddress!, logits: v.baseAddress!, count: v.count, inverseTemperature: 1 / temperature)
            }
        }
        let target = generator.nextFloat()
        var cumulative: Float = 0
        for index in probabilities.indices {
            cumulative += probabilities[index]
            if target < cumulative { return Int(ids[index]) }
        }
        var last = probabilities.count - 1
        while last > 0 && probabilities[last] == 0 { last -= 1 }
        return Int(ids[last])
    }
}
