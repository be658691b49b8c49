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
