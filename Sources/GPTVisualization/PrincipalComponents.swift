/// Principal component analysis by power iteration with deflation: the top `components`
/// directions of a centred point cloud and the points projected onto them. Deterministic
/// (a fixed start vector); each component's sign is chosen so its largest coordinate is positive.
public struct PrincipalComponents: Sendable {
    /// components × dimensions, unit rows.
    public let axes: [[Double]]
    /// Variance along each axis.
    public let variances: [Double]
    /// points × components.
    public let projections: [[Double]]

    public init(points: [[Float]], components: Int = 2, iterations: Int = 500) {
        let count = points.count
        let dimensions = points.first?.count ?? 0
        var mean = [Double](repeating: 0, count: dimensions)
        for point in points { for k in 0..<dimensions { mean[k] += Double(point[k]) / Double(max(count, 1)) } }
        let centred = points.map { point in (0..<dimensions).map { Double(point[$0]) - mean[$0] } }
        var axes: [[Double]] = []
        var variances: [Double] = []
        for component in 0..<min(components, dimensions) {
            var vector = (0..<dimensions).map { 1 / Double($0 + component + 1) }
            var eigenvalue = 0.0
            for _ in 0..<iterations {
                // w = Xᵀ X v / n, with earlier axes projected out.
                var next = [Double](repeating: 0, count: dimensions)
                for row in centred {
                    var dot = 0.0
                    for k in 0..<dimensions { dot += row[k] * vector[k] }
                    for k in 0..<dimensions { next[k] += dot * row[k] }
                }
                for axis in axes {
                    let dot = zip(axis, next).reduce(0) { $0 + $1.0 * $1.1 }
                    for k in 0..<dimensions { next[k] -= dot * axis[k] }
                }
                let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 1e-300 else { break }
                eigenvalue = norm / Double(max(count, 1))
                vector = next.map { $0 / norm }
            }
            if let largest = vector.indices.max(by: { abs(vector[$0]) < abs(vector[$1]) }), vector[largest] < 0 {
                vector = vector.map { -$0 }
            }
            axes.append(vector)
            variances.append(eigenvalue)
        }
        self.axes = axes
        self.variances = variances
        projections = centred.map { row in axes.map { axis in zip(axis, row).reduce(0) { $0 + $1.0 * $1.1 } } }
    }
}
