/// A labelled 2-D scatter plot as a self-contained SVG (or an HTML page holding it): title,
/// axis labels, one labelled point per item and a hover tooltip, every piece of text escaped.
public struct ScatterPlot: Sendable {
    public struct Point: Sendable {
        public let x: Double
        public let y: Double
        public let label: String
        /// Extra text shown on hover.
        public let detail: String

        public init(x: Double, y: Double, label: String, detail: String = "") {
            self.x = x
            self.y = y
            self.label = label
            self.detail = detail
        }
    }

    public let title: String
    public let xLabel: String
    public let yLabel: String
    public let points: [Point]

    public init(title: String, xLabel: String, yLabel: String, points: [Point]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
    }

    public func svg(width: Int = 800, height: Int = 600) -> String {
        let margin = 70.0
        let (w, h) = (Double(width), Double(height))
        let xs = points.map(\.x), ys = points.map(\.y)
        let (xMin, xMax) = (xs.min() ?? 0, xs.max() ?? 1)
        let (yMin, yMax) = (ys.min() ?? 0, ys.max() ?? 1)
        func px(_ x: Double) -> Double { margin + (x - xMin) / max(xMax - xMin, 1e-12) * (w - 2 * margin) }
        func py(_ y: Double) -> Double { h - margin - (y - yMin) / max(yMax - yMin, 1e-12) * (h - 2 * margin) }
        var out = Markup.svgStart(width: w, height: h, title: title, titleBaseline: 30, titleSize: 18) + """
            <line x1="\(margin)" y1="\(h - margin)" x2="\(w - margin)" y2="\(h - margin)" stroke="black"/>
            <line x1="\(margin)" y1="\(margin)" x2="\(margin)" y2="\(h - margin)" stroke="black"/>
            <text x="\(w / 2)" y="\(h - 25)" text-anchor="middle" font-size="14">\(Markup.escape(xLabel))</text>
            <text x="20" y="\(h / 2)" text-anchor="middle" font-size="14" transform="rotate(-90 20 \(h / 2))">\(Markup.escape(yLabel))</text>
            <circle cx="\(w - 250)" cy="\(h - 30)" r="4" fill="steelblue"/><text x="\(w - 240)" y="\(h - 26)" font-size="12">one point per item, labelled (hover for details)</text>

            """
        for point in points {
            let (x, y) = (px(point.x), py(point.y))
            let label = Markup.escape(Markup.visible(point.label))
            let hover = Markup.escape(Markup.visible(point.label) + (point.detail.isEmpty ? "" : " — " + point.detail))
            out += "<g class=\"point\"><title>\(hover)</title><circle cx=\(Markup.number(x)) cy=\(Markup.number(y)) r=\"4\" fill=\"steelblue\"/>"
            out += "<text x=\(Markup.number(x + 6)) y=\(Markup.number(y - 6)) font-size=\"12\">\(label)</text></g>\n"
        }
        return out + "</svg>\n"
    }

    /// A standalone HTML page with the SVG inline (hover a point for its details).
    public func html() -> String {
        Page.html(
            title: title, body: svg(), note: "Hover a point to see its label and details.",
            style: " .point:hover circle{fill:crimson;r:6}")
    }
}

/// Escaping and display of text from models and users in SVG and HTML.
public enum Markup {
    /// An SVG document's opening: the root element, a white background and the title centred at the top.
    static func svgStart(width: Double, height: Double, title: String, titleBaseline: Int, titleSize: Int) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="\(titleBaseline)" text-anchor="middle" font-size="\(titleSize)">\(escape(title))</text>

        """
    }

    /// Escapes &, <, >, " and ' for element text and attribute values.
    public static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Makes invisible characters visible: a space as ␣, a newline as ↵, a tab as ⇥, other controls as U+XXXX.
    public static func visible(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case " ": result += "␣"
            case "\n": result += "↵"
            case "\t": result += "⇥"
            case _ where scalar.properties.generalCategory == .control:
                result += "U+" + String(scalar.value, radix: 16, uppercase: true)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A quoted attribute number.
    static func number(_ value: Double) -> String {
        "\"" + String(format: "%.1f", value) + "\""
    }
}

import Foundation
