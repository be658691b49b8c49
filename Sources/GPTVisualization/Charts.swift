import Foundation

/// Next-token probabilities at several temperatures, side by side, with each one's entropy.
public struct NextTokenChart: Sendable {
    public struct Panel: Sendable {
        public let temperature: Float
        public let entropy: Double
        /// (token text, probability), most likely first.
        public let bars: [(String, Double)]

        public init(temperature: Float, entropy: Double, bars: [(String, Double)]) {
            self.temperature = temperature
            self.entropy = entropy
            self.bars = bars
        }
    }

    public let title: String
    public let panels: [Panel]

    public init(title: String, panels: [Panel]) {
        self.title = title
        self.panels = panels
    }

    public func svg() -> String {
        let barHeight = 18.0, panelWidth = 300.0, labelWidth = 90.0
        let rows = panels.map(\.bars.count).max() ?? 0
        let width = 20 + Double(panels.count) * (panelWidth + 30)
        let height = 110 + Double(rows) * (barHeight + 4) + 50
        var out = Markup.svgStart(width: width, height: height, title: title, titleBaseline: 24, titleSize: 16)
        for (index, panel) in panels.enumerated() {
            let x0 = 20 + Double(index) * (panelWidth + 30)
            out += "<g transform=\"translate(\(x0),60)\">"
            out += "<text x=\"\(panelWidth / 2)\" y=\"0\" text-anchor=\"middle\" font-size=\"13\">temperature \(panel.temperature) — entropy \(String(format: "%.2f", panel.entropy)) nats</text>"
            let scale = panelWidth - labelWidth - 50
            for (row, bar) in panel.bars.enumerated() {
                let y = 20 + Double(row) * (barHeight + 4)
                let length = max(1, bar.1 * scale)
                let label = Markup.escape(Markup.visible(bar.0))
                out += "<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight * 0.75)\" text-anchor=\"end\" font-size=\"12\">\(label)</text>"
                out += "<rect class=\"bar\" x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(String(format: "%.1f", length))\" height=\"\(barHeight)\" fill=\"steelblue\"><title>\(label): \(String(format: "%.4f", bar.1))</title></rect>"
                out += "<text x=\"\(labelWidth + length + 4)\" y=\"\(y + barHeight * 0.75)\" font-size=\"11\">\(String(format: "%.3f", bar.1))</text>"
            }
            let axisY = 20 + Double(rows) * (barHeight + 4) + 16
            out += "<text x=\"\(labelWidth + scale / 2)\" y=\"\(axisY)\" text-anchor=\"middle\" font-size=\"12\">probability</text>"
            out += "</g>\n"
        }
        out += "<text x=\"20\" y=\"\(height - 12)\" font-size=\"12\">tokens on the left of each panel (␣ = space, ↵ = newline); bars: probability of being the next token</text>\n"
        return out + "</svg>\n"
    }

    public func html() -> String { Page.html(title: title, body: svg(), note: "Hover a bar for its exact probability.") }
}

/// Training and validation loss and the learning rate against the step.
public struct TrainingChart: Sendable {
    public let title: String
    public let steps: [(Int, Double)]
    public let evaluations: [(Int, Double, Double)]
    public let learningRates: [(Int, Double)]

    public init(title: String, steps: [(Int, Double)], evaluations: [(Int, Double, Double)], learningRates: [(Int, Double)]) {
        self.title = title
        self.steps = steps
        self.evaluations = evaluations
        self.learningRates = learningRates
    }

    public func svg() -> String {
        let (width, height, margin) = (860.0, 520.0, 70.0)
        let iterations = (steps.map(\.0) + evaluations.map(\.0)).max() ?? 1
        let losses = steps.map(\.1) + evaluations.flatMap { [$0.1, $0.2] }
        let (low, high) = ((losses.min() ?? 0) * 0.95, (losses.max() ?? 1) * 1.02)
        let maximumRate = learningRates.map(\.1).max() ?? 1
        func px(_ step: Int) -> Double { margin + Double(step) / Double(max(iterations, 1)) * (width - 2 * margin) }
        func py(_ loss: Double) -> Double { height - margin - (loss - low) / max(high - low, 1e-12) * (height - 2 * margin) }
        func pyRate(_ rate: Double) -> Double { height - margin - rate / max(maximumRate, 1e-30) * (height - 2 * margin) }
        func path(_ points: [(Double, Double)]) -> String {
            points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(String(format: "%.1f,%.1f", $0.element.0, $0.element.1))" }.joined(separator: " ")
        }
        var out = Markup.svgStart(width: width, height: height, title: title, titleBaseline: 26, titleSize: 16) + """
            <line x1="\(margin)" y1="\(height - margin)" x2="\(width - margin)" y2="\(height - margin)" stroke="black"/>
            <line x1="\(margin)" y1="\(margin)" x2="\(margin)" y2="\(height - margin)" stroke="black"/>
            <line x1="\(width - margin)" y1="\(margin)" x2="\(width - margin)" y2="\(height - margin)" stroke="gray"/>
            <text x="\(width / 2)" y="\(height - 25)" text-anchor="middle" font-size="13">step</text>
            <text x="18" y="\(height / 2)" text-anchor="middle" font-size="13" transform="rotate(-90 18 \(height / 2))">loss (nats)</text>
            <text x="\(width - 18)" y="\(height / 2)" text-anchor="middle" font-size="13" fill="gray" transform="rotate(90 \(width - 18) \(height / 2))">learning rate (max \(String(format: "%.2e", maximumRate)))</text>

            """
        for tick in 0...4 {
            let loss = low + (high - low) * Double(tick) / 4
            out += "<text x=\"\(margin - 6)\" y=\"\(py(loss) + 4)\" text-anchor=\"end\" font-size=\"11\">\(String(format: "%.2f", loss))</text>"
            let step = iterations * tick / 4
            out += "<text x=\"\(px(step))\" y=\"\(height - margin + 16)\" text-anchor=\"middle\" font-size=\"11\">\(step)</text>\n"
        }
        if !learningRates.isEmpty {
            out += "<path d=\"\(path(learningRates.map { (px($0.0), pyRate($0.1)) }))\" fill=\"none\" stroke=\"lightgray\" stroke-width=\"1.5\"/>\n"
        }
        if !steps.isEmpty {
            out += "<path d=\"\(path(steps.map { (px($0.0), py($0.1)) }))\" fill=\"none\" stroke=\"steelblue\" stroke-width=\"1\" opacity=\"0.7\"/>\n"
        }
        if !evaluations.isEmpty {
            out += "<path d=\"\(path(evaluations.map { (px($0.0), py($0.1)) }))\" fill=\"none\" stroke=\"navy\" stroke-width=\"2\"/>\n"
            out += "<path d=\"\(path(evaluations.map { (px($0.0), py($0.2)) }))\" fill=\"none\" stroke=\"crimson\" stroke-width=\"2\"/>\n"
            for evaluation in evaluations {
                out += "<circle cx=\"\(px(evaluation.0))\" cy=\"\(py(evaluation.2))\" r=\"3\" fill=\"crimson\"><title>step \(evaluation.0): val \(String(format: "%.4f", evaluation.2)), train \(String(format: "%.4f", evaluation.1))</title></circle>\n"
            }
        }
        let legend = [("steelblue", "training loss (each step)"), ("navy", "training loss (evaluation)"), ("crimson", "validation loss"), ("lightgray", "learning rate (right axis)")]
        for (index, entry) in legend.enumerated() {
            let y = margin + 10 + Double(index) * 18
            out += "<line x1=\"\(width - margin - 230)\" y1=\"\(y)\" x2=\"\(width - margin - 205)\" y2=\"\(y)\" stroke=\"\(entry.0)\" stroke-width=\"3\"/><text x=\"\(width - margin - 198)\" y=\"\(y + 4)\" font-size=\"12\">\(entry.1)</text>\n"
        }
        return out + "</svg>\n"
    }

    public func html() -> String { Page.html(title: title, body: svg(), note: "Hover a validation point for its values.") }
}

/// A self-contained HTML page around an SVG.
enum Page {
    /// `style`: extra CSS rules after the page's own.
    static func html(title: String, body: String, note: String, style: String = "") -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(Markup.escape(title))</title>
        <style>body{font-family:sans-serif;margin:20px}\(style)</style></head>
        <body>
        \(body)
        <p>\(Markup.escape(note))</p>
        </body></html>

        """
    }
}
