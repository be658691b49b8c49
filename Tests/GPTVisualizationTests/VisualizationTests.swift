import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GPTVisualization
import Testing

@Suite struct VisualizationTests {
    @Test func principalComponentsMatchAKnownCloud() {
        // Points along (1, 1) with a little spread along (1, −1).
        let points: [[Float]] = [[2, 2], [-2, -2], [1, 1.2], [-1, -0.8], [0.1, -0.1]]
        let pca = PrincipalComponents(points: points, components: 2)
        let axis = pca.axes[0]
        #expect(abs(abs(axis[0]) - 0.7071) < 0.02 && abs(abs(axis[1]) - 0.7071) < 0.02)
        #expect(pca.variances[0] > 10 * pca.variances[1])
        #expect(pca.projections.count == 5)
    }

    @Test func svgIsWellFormedXMLAndEscapesText() throws {
        let plot = ScatterPlot(
            title: "A & B", xLabel: "x <1>", yLabel: "y",
            points: [.init(x: 0, y: 0, label: "</script>", detail: "a\"b"), .init(x: 1, y: 2, label: " \n", detail: "")])
        let svg = plot.svg()
        let document = try XMLDocument(data: Data(svg.utf8))
        #expect(document.rootElement()?.name == "svg")
        #expect(svg.contains("&lt;/script&gt;") && svg.contains("A &amp; B") && svg.contains("␣↵"))
        #expect(plot.html().contains("<!DOCTYPE html>"))
    }
}

@Suite struct ProjectionTests {
    struct Reference: Decodable {
        let data: [[Float]]
        let axes: [[Double]]
        let variances: [Double]
        let projections: [[Double]]
    }

    @Test func principalComponentsMatchNumpyUpToSign() throws {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url.appendingPathComponent("Fixtures/pca.json")))
        let pca = PrincipalComponents(points: reference.data, components: 3, iterations: 2000)
        for component in 0..<3 {
            let sign: Double = zip(pca.axes[component], reference.axes[component]).reduce(0) { $0 + $1.0 * $1.1 } < 0 ? -1 : 1
            for (ours, theirs) in zip(pca.axes[component], reference.axes[component]) {
                #expect(abs(sign * ours - theirs) < 1e-4, "axis \(component)")
            }
            #expect(abs(pca.variances[component] - reference.variances[component]) < 1e-3 * reference.variances[component])
            for (row, point) in reference.projections.enumerated() {
                #expect(abs(sign * pca.projections[row][component] - point[component]) < 1e-3, "projection \(row), \(component)")
            }
        }
    }

    @Test func tsneKeepsNeighbourhoodsOfClusteredData() throws {
        // Five Gaussian clusters in 12 dimensions.
        var state: UInt64 = 9
        func normal() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u1 = max(Double(state >> 11) / 9_007_199_254_740_992.0, 1e-12)
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u2 = Double(state >> 11) / 9_007_199_254_740_992.0
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        let centres = (0..<5).map { _ in (0..<12).map { _ in normal() * 6 } }
        let points = (0..<200).map { index in centres[index % 5].map { $0 + normal() } }
        let map = try TSNE(dimensions: 2, perplexity: 20, iterations: 600, seed: 3).embed(points, parallelism: .init(threads: 2))
        let trust = TSNE.trustworthiness(input: points, map: map, neighbours: 10)
        #expect(trust >= 0.9, "trustworthiness \(trust)")
        #expect(throws: InvalidValue.self) { try TSNE(perplexity: 30).embed(Array(points.prefix(20)), parallelism: .init(threads: 1)) }
    }
}

import GPTTensor
