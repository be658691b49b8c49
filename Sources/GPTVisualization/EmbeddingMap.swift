import Foundation

/// Token embeddings projected to 2 or 3 dimensions. The SVG is a labelled scatter (3-D points
/// drawn from a fixed viewpoint); the HTML page shows the token and its nearest neighbours on
/// hover, and a 3-D map can be rotated by dragging.
public struct EmbeddingMap: Sendable {
    public struct Point: Sendable {
        public let coordinates: [Double]
        public let label: String
        public let neighbours: [String]

        public init(coordinates: [Double], label: String, neighbours: [String]) {
            self.coordinates = coordinates
            self.label = label
            self.neighbours = neighbours
        }
    }

    public let title: String
    public let method: String
    public let points: [Point]

    public init(title: String, method: String, points: [Point]) {
        self.title = title
        self.method = method
        self.points = points
    }

    var dimensions: Int { points.first?.coordinates.count ?? 2 }

    /// 2-D positions: the map itself, or a fixed oblique view of a 3-D map.
    func flat() -> [(Double, Double)] {
        points.map { point in
            let c = point.coordinates
            guard c.count == 3 else { return (c[0], c.count > 1 ? c[1] : 0) }
            let (a, b) = (0.6, 0.4)  // rotation about y, then x
            let x = c[0] * cos(a) + c[2] * sin(a)
            let z = -c[0] * sin(a) + c[2] * cos(a)
            return (x, c[1] * cos(b) - z * sin(b))
        }
    }

    public func svg() -> String {
        let positions = flat()
        let plot = ScatterPlot(
            title: title, xLabel: "\(method) 1\(dimensions == 3 ? " (3-D map, fixed view)" : "")", yLabel: "\(method) 2",
            points: zip(points, positions).map { point, position in
                ScatterPlot.Point(x: position.0, y: position.1, label: point.label, detail: "nearest: " + point.neighbours.map(Markup.visible).joined(separator: ", "))
            })
        return plot.svg(width: 900, height: 700)
    }

    public func html() -> String {
        if dimensions == 2 {
            return Page.html(title: title, body: svg(), note: "Hover a point for the token and its nearest neighbours by cosine similarity.")
        }
        // 3-D: points as JSON (escaped for a script element), redrawn on drag.
        var rows: [String] = []
        for point in points {
            let label = Self.scriptString(Markup.visible(point.label))
            let neighbours = Self.scriptString(point.neighbours.map(Markup.visible).joined(separator: ", "))
            rows.append("[\(point.coordinates.map { String(format: "%.5f", $0) }.joined(separator: ",")),\(label),\(neighbours)]")
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Markup.escape(title))</title>
            <style>body{font-family:sans-serif;margin:20px} svg{border:1px solid #ccc;cursor:grab}</style></head>
            <body><h1 style="font-size:18px">\(Markup.escape(title))</h1>
            <p>\(Markup.escape(method)) map in 3-D: drag to rotate; hover a point for the token and its nearest neighbours.</p>
            <svg id="map" xmlns="http://www.w3.org/2000/svg" width="900" height="700" font-family="sans-serif"></svg>
            <script>
            var points = [\(rows.joined(separator: ",\n"))];
            var yaw = 0.6, pitch = 0.4, svg = document.getElementById('map'), ns = 'http://www.w3.org/2000/svg';
            var extent = 1e-9;
            points.forEach(function (p) { for (var k = 0; k < 3; k++) extent = Math.max(extent, Math.abs(p[k])); });
            function draw() {
              while (svg.firstChild) svg.removeChild(svg.firstChild);
              var projected = points.map(function (p) {
                var x = p[0] * Math.cos(yaw) + p[2] * Math.sin(yaw), z = -p[0] * Math.sin(yaw) + p[2] * Math.cos(yaw);
                var y = p[1] * Math.cos(pitch) - z * Math.sin(pitch), depth = p[1] * Math.sin(pitch) + z * Math.cos(pitch);
                return [450 + 300 * x / extent, 350 - 300 * y / extent, depth, p[3], p[4]];
              }).sort(function (a, b) { return a[2] - b[2]; });
              projected.forEach(function (p) {
                var g = document.createElementNS(ns, 'g'), c = document.createElementNS(ns, 'circle');
                var t = document.createElementNS(ns, 'text'), title = document.createElementNS(ns, 'title');
                c.setAttribute('cx', p[0]); c.setAttribute('cy', p[1]); c.setAttribute('r', 4); c.setAttribute('fill', 'steelblue');
                t.setAttribute('x', p[0] + 6); t.setAttribute('y', p[1] - 6); t.setAttribute('font-size', 11); t.textContent = p[3];
                title.textContent = p[3] + ' \\u2014 nearest: ' + p[4];
                g.appendChild(title); g.appendChild(c); g.appendChild(t); svg.appendChild(g);
              });
            }
            var dragging = null;
            svg.addEventListener('mousedown', function (e) { dragging = [e.clientX, e.clientY]; });
            window.addEventListener('mouseup', function () { dragging = null; });
            window.addEventListener('mousemove', function (e) {
              if (!dragging) return;
              yaw += (e.clientX - dragging[0]) * 0.01; pitch += (e.clientY - dragging[1]) * 0.01;
              dragging = [e.clientX, e.clientY]; draw();
            });
            draw();
            </script>
            </body></html>

            """
    }

    /// A JavaScript string literal safe inside <script> (no "</script>", no raw control characters).
    static func scriptString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "<": result += "\\u003c"
            case ">": result += "\\u003e"
            case "&": result += "\\u0026"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
