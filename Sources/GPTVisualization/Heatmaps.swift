import Foundation

/// Attention as heatmaps: one panel per (layer, head), query tokens down, key tokens across.
public struct AttentionHeatmaps: Sendable {
    public let title: String
    public let tokens: [String]
    /// weights[layer][head] is T × T, row-major (query × key).
    public let weights: [[[Float]]]

    public init(title: String, tokens: [String], weights: [[[Float]]]) {
        self.title = title
        self.tokens = tokens
        self.weights = weights
    }

    /// One panel's SVG group at (x, y), `cell` pixels per cell.
    func panel(layer: Int, head: Int, x: Double, y: Double, cell: Double, labels: Bool, id: String? = nil) -> String {
        let T = tokens.count
        let values = weights[layer][head]
        var out = "<g\(id.map { " id=\"\($0)\"" } ?? "") transform=\"translate(\(x),\(y))\">"
        out += "<text x=\"0\" y=\"-6\" font-size=\"12\">layer \(layer), head \(head)</text>"
        for q in 0..<T {
            for k in 0..<T {
                let value = Double(values[q * T + k])
                let shade = Int((1 - value) * 255)
                out += "<rect class=\"cell\" x=\"\(Double(k) * cell)\" y=\"\(Double(q) * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\"><title>"
                out += Markup.escape("query \(Markup.visible(tokens[q])) → key \(Markup.visible(tokens[k])): \(String(format: "%.3f", value))")
                out += "</title></rect>"
            }
        }
        if labels {
            for (index, token) in tokens.enumerated() {
                let label = Markup.escape(Markup.visible(token))
                out += "<text x=\"-4\" y=\"\(Double(index) * cell + cell * 0.75)\" font-size=\"\(min(11, cell))\" text-anchor=\"end\">\(label)</text>"
                out += "<text transform=\"translate(\(Double(index) * cell + cell * 0.75),\(Double(T) * cell + 4)) rotate(90)\" font-size=\"\(min(11, cell))\">\(label)</text>"
            }
        }
        return out + "</g>\n"
    }

    /// Every layer × head as a grid (or the selected ones), axes labelled with the tokens.
    public func svg(layers: [Int]? = nil, heads: [Int]? = nil) -> String {
        let layerList = layers ?? Array(weights.indices)
        let headList = heads ?? Array(weights[0].indices)
        let T = tokens.count
        let single = layerList.count == 1 && headList.count == 1
        let cell = single ? max(8, min(28, 560 / Double(max(T, 1)))) : max(3, min(14, 220 / Double(max(T, 1))))
        let margin = single ? 110.0 : 90.0
        let panelSize = Double(T) * cell
        let gap = margin
        let width = margin + Double(headList.count) * (panelSize + gap)
        let height = 60 + Double(layerList.count) * (panelSize + gap) + 40
        var out = Markup.svgStart(width: width, height: height, title: title, titleBaseline: 24, titleSize: 16) + """
            <text x="\(width / 2)" y="\(height - 12)" text-anchor="middle" font-size="12">key token (attended to) →   ·   query token (attending) ↓   ·   darker = more attention (0 … 1)</text>

            """
        for (row, layer) in layerList.enumerated() {
            for (column, head) in headList.enumerated() {
                out += panel(
                    layer: layer, head: head, x: margin + Double(column) * (panelSize + gap),
                    y: 60 + Double(row) * (panelSize + gap), cell: cell, labels: true)
            }
        }
        return out + "</svg>\n"
    }

    /// A page with a layer and head picker over one heatmap, drawn by `PictureScript` from the weights
    /// carried as data (each row's keys up to the query, 4 decimals): hover a cell for its value.
    public func html(layer: Int? = nil, head: Int? = nil) -> String {
        let T = tokens.count
        let data = weights.map { heads in
            "[" + heads.map { values in
                "[" + (0..<T).map { q in
                    "[" + (0...q).map { String(format: "%.4g", values[q * T + $0]) }.joined(separator: ",") + "]"
                }.joined(separator: ",") + "]"
            }.joined(separator: ",\n") + "]"
        }.joined(separator: ",\n")
        let labels = tokens.map(EmbeddingMap.scriptString).joined(separator: ",")
        let layerOptions = weights.indices.map { "<option value=\"\($0)\"\($0 == (layer ?? 0) ? " selected" : "")>\($0)</option>" }.joined()
        let headOptions = weights[0].indices.map { "<option value=\"\($0)\"\($0 == (head ?? 0) ? " selected" : "")>\($0)</option>" }.joined()
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Markup.escape(title))</title>
            <style>body{font-family:sans-serif;margin:20px} rect.cell:hover{stroke:crimson;stroke-width:2}</style></head>
            <body><h1 style="font-size:18px">\(Markup.escape(title))</h1>
            <p>Layer <select id="layer">\(layerOptions)</select> Head <select id="head">\(headOptions)</select>
            — rows are query tokens, columns key tokens; hover a cell for its weight.</p>
            <svg id="heatmap" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif"></svg>
            <script>\(PictureScript.source)</script>
            <script>
            var tokens = [\(labels)];
            var weights = [\(data)];
            function show() {
              var l = +document.getElementById('layer').value, h = +document.getElementById('head').value;
              Pictures.heatmap(document.getElementById('heatmap'), tokens, weights[l][h], {size: 620});
            }
            document.getElementById('layer').addEventListener('change', show);
            document.getElementById('head').addEventListener('change', show);
            show();
            </script>
            </body></html>

            """
    }
}
