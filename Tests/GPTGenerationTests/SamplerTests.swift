import Foundation
import GPTGeneration
import GPTTensor
import Testing

/// Each sampling stage, statistically with fixed seeds.
@Suite struct SamplerTests {
    let logits: [Float] = [0.1, 2.0, -1.0, 1.5, 0.0, 0.7, -0.3, 1.1]

    func probabilities(_ temperature: Float = 1) -> [Double] {
        let e = logits.map { exp(Double($0 / temperature)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    func draws(
        _ configure: (inout SamplingParameters) -> Void, count: Int = 20_000, seed: UInt64 = 1, history: [Int] = []
    ) -> [Int] {
        var parameters = SamplingParameters()
        configure(&parameters)
        var sampler = Sampler(parameters: parameters)
        var generator = RandomGenerator(seed: seed)
        return logits.withUnsafeBufferPointer { logits in
            (0..<count).map { _ in sampler.sample(logits, history: history, generator: &generator) }
        }
    }

    @Test func temperatureZeroIsGreedyAndFrequenciesFollowTheSoftmax() {
        #expect(draws({ $0.temperature = 0 }, count: 50).allSatisfy { $0 == 1 })
        for temperature: Float in [1, 0.5] {
            let counts = draws({ $0.temperature = temperature }, count: 40_000)
            let expected = probabilities(temperature).map { $0 * 40_000 }
            var chiSquare = 0.0
            for token in logits.indices {
                let observed = Double(counts.filter { $0 == token }.count)
                chiSquare += (observed - expected[token]) * (observed - expected[token]) / expected[token]
            }
            // 7 degrees of freedom: the 99.9% critical value is 24.3.
            #expect(chiSquare < 24.3, "temperature \(temperature): chi-square \(chiSquare)")
        }
    }

    @Test func topKNeverLeavesTheKBest() {
        #expect(Set(draws({ $0.topK = 3 })) == [1, 3, 7])
        #expect(Set(draws({ $0.topK = 1; $0.temperature = 5 })) == [1])
    }

    @Test func topPSamplesOnlyTheSmallestSetWithEnoughMass() {
        let p = probabilities()
        let order = logits.indices.sorted { logits[$0] > logits[$1] }
        for topP: Float in [0.3, 0.6, 0.9] {
            var mass = 0.0
            var nucleus = Set<Int>()
            for token in order {
                nucleus.insert(token)
                mass += p[token]
                if mass >= Double(topP) { break }
            }
            #expect(Set(draws({ $0.topP = topP })) == nucleus, "top-p \(topP)")
        }
    }

    @Test func stagesKeepTheirMeaningInAnyOrder() {
        // min-p keeps candidates in id order; a top-p after it must still take the most likely.
        let p = probabilities()
        let nucleus = Set([1, 3])  // 2.0 and 1.5: the first two by logit reach 0.5 of the mass
        #expect(p[1] + p[3] >= 0.5 && p[1] < 0.5)
        #expect(Set(draws({ $0.minP = 0.1; $0.topP = 0.5; $0.order = [.minP, .topP, .temperature] })) == nucleus)
        // A penalty after top-k reorders the candidates; top-p must see the new order.
        let penalised = draws({
            $0.topK = 3; $0.repetitionPenalty = 10; $0.topP = 0.5
            $0.order = [.topK, .penalties, .topP, .temperature]
        }, history: [1])
        #expect(Set(penalised) == [3])
    }

    @Test func minPDropsExactlyTheTokensBelowTheThreshold() {
        let p = probabilities()
        let maximum = p.max()!
        for minP: Float in [0.2, 0.5] {
            let kept = Set(logits.indices.filter { p[$0] >= Double(minP) * maximum })
            #expect(Set(draws({ $0.minP = minP }, count: 30_000)) == kept, "min-p \(minP)")
        }
    }

    @Test func typicalPAndPenaltiesAndBiasChangeTheDistributionAsDocumented() {
        // Typical-p with a small mass keeps the token whose surprise is closest to the entropy.
        let p = probabilities()
        let entropy = -p.reduce(0) { $0 + $1 * log($1) }
        let closest = logits.indices.min { abs(-log(p[$0]) - entropy) < abs(-log(p[$1]) - entropy) }!
        #expect(Set(draws({ $0.typicalP = 0.01 })) == [closest])
        // A ban through logit bias.
        #expect(!draws({ $0.logitBias = [1: -.infinity]; $0.temperature = 0 }, count: 5).contains(1))
        // A repetition penalty moves greedy off a token seen in the history.
        var parameters = SamplingParameters()
        parameters.temperature = 0
        parameters.repetitionPenalty = 10
        var sampler = Sampler(parameters: parameters)
        var generator = RandomGenerator(seed: 1)
        let choice = logits.withUnsafeBufferPointer { sampler.sample($0, history: [1], generator: &generator) }
        #expect(choice == 3)
    }

    @Test func dynamicTemperatureAndScheduleStayWithinTheirRange() {
        // The effective temperature moves within [T − range, T + range] with the candidates' entropy:
        // the top for a flat distribution, near the bottom for a peaked one, monotone in between.
        var dynamicParameters = SamplingParameters()
        (dynamicParameters.temperature, dynamicParameters.dynamicTemperatureRange) = (1, 0.5)
        var dynamic = Sampler(parameters: dynamicParameters)
        var random = RandomGenerator(seed: 4)
        func temperature(_ values: [Float]) -> Float {
            values.withUnsafeBufferPointer { _ = dynamic.sample($0, generator: &random) }
            return dynamic.lastTemperature
        }
        #expect(abs(temperature([Float](repeating: 0.3, count: 8)) - 1.5) < 1e-5)
        let peaked = temperature([30, 0, 0, 0, 0, 0, 0, 0])
        #expect(peaked >= 0.5 && peaked < 0.5 + 1e-3)
        var previous: Float = 0
        for spread: Float in [8, 4, 2, 1, 0.5] {
            let current = temperature(logits.map { $0 * spread })
            #expect(current >= 0.5 && current <= 1.5 && current > previous, "spread \(spread): \(current)")
            previous = current
        }
        #expect(Set(draws({ $0.temperature = 1; $0.dynamicTemperatureRange = 1 })).count > 3)
        var parameters = SamplingParameters()
        parameters.temperature = 2
        parameters.finalTemperature = 0
        var sampler = Sampler(parameters: parameters)
        var generator = RandomGenerator(seed: 1)
        let last = logits.withUnsafeBufferPointer { logits in
            (0..<50).map { _ in sampler.sample(logits, step: 9, steps: 10, generator: &generator) }
        }
        #expect(Set(last) == [1])
    }

    @Test func presenceAndFrequencyPenaltiesCountTheWindow() {
        // Token 1 (2.0) leads token 3 (1.5) by 0.5; greedy shows which side of it the penalty lands.
        func greedy(history: [Int], _ configure: (inout SamplingParameters) -> Void) -> Int {
            draws({ $0.temperature = 0; configure(&$0) }, count: 1, history: history)[0]
        }
        #expect(greedy(history: [1, 1]) { $0.presencePenalty = 0.3 } == 1)  // once per token: 1.7
        #expect(greedy(history: [1, 1]) { $0.frequencyPenalty = 0.3 } == 3)  // per occurrence: 1.4
        #expect(greedy(history: [1]) { $0.frequencyPenalty = 0.3 } == 1)  // 1.7
        #expect(greedy(history: [1, 1]) { $0.presencePenalty = 0.6 } == 3)  // 1.4
        // Only the last `penaltyWindow` tokens count.
        #expect(greedy(history: [1, 1, 0, 0, 0]) { $0.frequencyPenalty = 5; $0.penaltyWindow = 3 } == 1)
        #expect(greedy(history: [0, 0, 1]) { $0.frequencyPenalty = 5; $0.penaltyWindow = 3 } == 3)
    }

    @Test func badParametersAreClearErrors() {
        var parameters = SamplingParameters()
        parameters.topP = 1.5
        // The error names the field and the rule, not a command-line flag.
        #expect(throws: InvalidValue(owner: "SamplingParameters", field: "topP", rule: "must be in (0, 1]", value: "1.5")) {
            try parameters.validate()
        }
        parameters.topP = 0
        #expect(throws: InvalidValue.self) { try parameters.validate() }
        parameters.topP = 1
        parameters.temperature = .nan
        #expect(throws: InvalidValue.self) { try parameters.validate() }
        #expect(throws: InvalidValue.self) { try SamplingParameters.parseOrder("top-k,nucleus") }
        var options = GenerationOptions()
        options.maxTokens = 0
        #expect(throws: InvalidValue(owner: "GenerationOptions", field: "maxTokens", rule: "must be at least 1", value: "0")) {
            try options.validate()
        }
    }
}
