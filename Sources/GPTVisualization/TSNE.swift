import CTSNE
import GPTTensor

/// Exact t-SNE (van der Maaten & Hinton): Gaussian affinities at a chosen perplexity in the
/// input space, Student-t similarities in the map, gradient descent with momentum, gains and
/// early exaggeration. O(n²) per iteration, threaded; fine up to a few thousand points.
public struct TSNE: Sendable {
    public var dimensions = 2
    public var perplexity: Float = 30
    public var iterations = 1000
    public var learningRate: Float = 200
    public var seed: UInt64 = 1

    public init(dimensions: Int = 2, perplexity: Float = 30, iterations: Int = 1000, seed: UInt64 = 1) {
        self.dimensions = dimensions
        self.perplexity = perplexity
        self.iterations = iterations
        self.seed = seed
    }

    /// The map coordinates of `points` (count × dimensions).
    public func embed(_ points: [[Float]], parallelism: Parallelism) throws -> [[Double]] {
        let n = points.count
        guard n >= 4 else { throw VisualizationError("t-SNE needs at least 4 points (got \(n))") }
        guard perplexity >= 1 && Float(n - 1) > 3 * perplexity else {
            throw InvalidValue(
                owner: "TSNE", field: "perplexity", rule: "must be between 1 and \((n - 1) / 3) for \(n) points",
                value: "\(perplexity)")
        }
        guard dimensions == 2 || dimensions == 3 else { throw VisualizationError("t-SNE maps to 2 or 3 dimensions") }
        let d = points[0].count
        let x = FloatBuffer(points.flatMap { $0 })
        let kernels = gpt_tsne_for_level(Int32(KernelLevel.best.rawValue)).pointee
        let affinities = FloatBuffer(count: n * n)
        parallelism.forEachChunk(of: n, minimumChunk: 8) { _, range in
            kernels.tsne_affinities(affinities.pointer, x.pointer, n, d, perplexity, range.lowerBound, range.upperBound)
        }
        // Symmetrise: P = (P + Pᵀ) / 2n.
        let P = FloatBuffer(count: n * n)
        for i in 0..<n {
            for j in 0..<n { P[i * n + j] = (affinities[i * n + j] + affinities[j * n + i]) / Float(2 * n) }
        }
        var generator = RandomGenerator(seed: seed)
        let dims = dimensions
        let y = FloatBuffer((0..<(n * dims)).map { _ in generator.nextNormal() * 1e-4 })
        let kernel = FloatBuffer(count: n * n)
        let gradient = FloatBuffer(count: n * dims)
        var velocity = [Float](repeating: 0, count: n * dims)
        var gains = [Float](repeating: 1, count: n * dims)
        let threads = parallelism.threads
        for iteration in 0..<iterations {
            var partials = [Double](repeating: 0, count: threads)
            partials.withUnsafeMutableBufferPointer { partials in
                parallelism.forEachChunk(of: n, minimumChunk: 8) { chunk, range in
                    partials[chunk] = kernels.tsne_kernel(kernel.pointer, y.pointer, n, dims, range.lowerBound, range.upperBound)
                }
            }
            let z = Float(max(partials.reduce(0, +), 1e-12))
            let exaggeration: Float = iteration < 250 ? 12 : 1
            parallelism.forEachChunk(of: n, minimumChunk: 8) { _, range in
                kernels.tsne_gradient(gradient.pointer, P.pointer, kernel.pointer, y.pointer, n, dims, exaggeration, 1 / z, range.lowerBound, range.upperBound)
            }
            let momentum: Float = iteration < 250 ? 0.5 : 0.8
            for index in 0..<(n * dims) {
                let g = gradient[index]
                gains[index] = (g > 0) != (velocity[index] > 0) ? gains[index] + 0.2 : max(0.01, gains[index] * 0.8)
                velocity[index] = momentum * velocity[index] - learningRate * gains[index] * g
                y[index] += velocity[index]
            }
            // Keep the map centred.
            for k in 0..<dims {
                var mean: Float = 0
                for i in 0..<n { mean += y[i * dims + k] }
                mean /= Float(n)
                for i in 0..<n { y[i * dims + k] -= mean }
            }
        }
        return (0..<n).map { i in (0..<dims).map { Double(y[i * dims + $0]) } }
    }

    /// Trustworthiness (Venna & Kaski) of a map: 1 when every point's k nearest map neighbours
    /// are also among its nearest input neighbours.
    public static func trustworthiness(input: [[Float]], map: [[Double]], neighbours k: Int) -> Double {
        let n = input.count
        func ranks(_ distance: (Int, Int) -> Double) -> [[Int]] {
            (0..<n).map { i in
                let order = (0..<n).filter { $0 != i }.sorted { distance(i, $0) < distance(i, $1) }
                var rank = [Int](repeating: 0, count: n)
                for (position, j) in order.enumerated() { rank[j] = position + 1 }
                return rank
            }
        }
        let inputRanks = ranks { a, b in zip(input[a], input[b]).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }
        let mapRanks = ranks { a, b in zip(map[a], map[b]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        var penalty = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i && mapRanks[i][j] <= k && inputRanks[i][j] > k {
                penalty += Double(inputRanks[i][j] - k)
            }
        }
        return 1 - 2 / Double(n * k * (2 * n - 3 * k - 1)) * penalty
    }
}

/// A problem with a picture request, phrased for the user.
public struct VisualizationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
