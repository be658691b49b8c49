/// The pictures as a small JavaScript component that draws into an `<svg>` from plain data: bars
/// (next-token probabilities), a heatmap (attention, with its colour scale) and a labelled scatter
/// (an embedding map). Pages that change what they show without reloading use it — the server's
/// playground, and the attention page of `gpt viz`, which carries its weights as data rather than
/// as one drawing per head. Self-contained: no library, no network.
public enum PictureScript {
    public static let source = #"""
        var Pictures = (function () {
          var ns = 'http://www.w3.org/2000/svg';
          // A token as text a reader can see: spaces, newlines and tabs get symbols.
          function visible(piece) {
            if (piece === '') return '\u2205';
            return piece.replace(/ /g, '\u2423').replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5');
          }
          function node(name, attributes, parent, text) {
            var element = document.createElementNS(ns, name);
            for (var key in attributes) element.setAttribute(key, attributes[key]);
            if (text !== undefined) element.textContent = text;
            if (parent) parent.appendChild(element);
            return element;
          }
          function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
          function tip(parent, text) { node('title', {}, parent, text); }
          // Horizontal bars, one per item {label, value (0…1), note, muted}; the value printed beside.
          function bars(svg, items, options) {
            options = options || {};
            clear(svg);
            var width = options.width || 420, row = 20, left = 90, right = 60;
            svg.setAttribute('width', width); svg.setAttribute('height', items.length * row + 8);
            var largest = Math.max.apply(null, items.map(function (item) { return item.value; }).concat([1e-12]));
            items.forEach(function (item, index) {
              var y = 4 + index * row, length = (width - left - right) * item.value / largest;
              var group = node('g', {'class': 'bar' + (item.muted ? ' muted' : '')}, svg);
              tip(group, visible(item.label) + ': ' + (100 * item.value).toFixed(2) + '%' + (item.note ? ' \u2014 ' + item.note : ''));
              node('text', {x: left - 6, y: y + 14, 'text-anchor': 'end', 'font-size': 13, 'font-family': 'monospace'}, group, visible(item.label));
              node('rect', {x: left, y: y + 2, width: Math.max(length, 0.5), height: row - 5,
                            fill: item.muted ? '#c8c8c8' : 'steelblue'}, group);
              node('text', {x: left + length + 4, y: y + 14, 'font-size': 11, fill: '#444'}, group,
                   (100 * item.value).toFixed(item.value < 0.001 ? 3 : 1) + '%');
            });
          }
          // A query × key heatmap over `tokens`; rows[q] holds the weights of keys 0…q. Key labels
          // run along the top, query labels down the left, a colour scale at the bottom.
          function heatmap(svg, tokens, rows, options) {
            options = options || {};
            clear(svg);
            var count = tokens.length, cell = Math.max(6, Math.min(28, Math.floor((options.size || 560) / Math.max(count, 1))));
            var left = 80, top = 70, size = cell * count;
            svg.setAttribute('width', Math.max(left + size + 20, left + 500)); svg.setAttribute('height', top + size + 60);
            function colour(value) {
              var shade = Math.round(255 * (1 - Math.sqrt(Math.max(0, Math.min(1, value)))));
              return 'rgb(' + shade + ',' + shade + ',255)';
            }
            var font = Math.min(12, Math.max(7, cell - 2));
            for (var q = 0; q < count; q++) {
              for (var k = 0; k < count; k++) {
                var value = k <= q ? (rows[q][k] || 0) : 0;
                var rect = node('rect', {'class': 'cell', x: left + k * cell, y: top + q * cell, width: cell, height: cell,
                                         fill: k <= q ? colour(value) : '#f4f4f4'}, svg);
                if (k <= q) tip(rect, 'query ' + visible(tokens[q]) + ' \u2192 key ' + visible(tokens[k]) + ': ' + value.toFixed(4));
              }
              node('text', {x: left - 4, y: top + q * cell + cell * 0.75, 'text-anchor': 'end', 'font-size': font,
                            'font-family': 'monospace'}, svg, visible(tokens[q]));
              node('text', {transform: 'translate(' + (left + q * cell + cell * 0.7) + ',' + (top - 4) + ') rotate(-60)',
                            'font-size': font, 'font-family': 'monospace'}, svg, visible(tokens[q]));
            }
            var y = top + size + 16;
            node('text', {x: left, y: y + 10, 'font-size': 11}, svg, '0');
            for (var i = 0; i <= 50; i++) node('rect', {x: left + 12 + i * 4, y: y, width: 4, height: 12, fill: colour(i / 50)}, svg);
            node('text', {x: left + 218, y: y + 10, 'font-size': 11}, svg, '1   (attention weight; rows: query, columns: key)');
          }
          // A scatter of points {x, y, label, note}; `background` points are grey and labelled on hover only.
          function scatter(svg, points, background, options) {
            options = options || {};
            clear(svg);
            var width = options.width || 520, height = options.height || 420, pad = 30;
            svg.setAttribute('width', width); svg.setAttribute('height', height);
            var all = points.concat(background);
            var xs = all.map(function (p) { return p.x; }), ys = all.map(function (p) { return p.y; });
            var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
            function sx(x) { return pad + (width - 2 * pad) * (x - x0) / Math.max(x1 - x0, 1e-12); }
            function sy(y) { return height - pad - (height - 2 * pad) * (y - y0) / Math.max(y1 - y0, 1e-12); }
            node('rect', {x: 0, y: 0, width: width, height: height, fill: 'white', stroke: '#ddd'}, svg);
            // A small vocabulary's background is labelled too (light), a large one's only on hover.
            var labelled = background.length <= 120;
            background.forEach(function (p) {
              var group = node('g', {'class': 'background'}, svg);
              tip(group, visible(p.label));
              node('circle', {cx: sx(p.x), cy: sy(p.y), r: 2.5, fill: '#ccc'}, group);
              if (labelled) node('text', {x: sx(p.x) + 4, y: sy(p.y) - 3, 'font-size': 10, fill: '#aaa', 'font-family': 'monospace'}, group, visible(p.label));
            });
            points.forEach(function (p) {
              var group = node('g', {'class': 'point'}, svg);
              tip(group, visible(p.label) + (p.note ? ' \u2014 ' + p.note : ''));
              node('circle', {cx: sx(p.x), cy: sy(p.y), r: 4.5, fill: 'crimson'}, group);
              node('text', {x: sx(p.x) + 6, y: sy(p.y) - 5, 'font-size': 12, 'font-family': 'monospace'}, group, visible(p.label));
            });
            if (options.caption) node('text', {x: pad, y: height - 8, 'font-size': 11, fill: '#555'}, svg, options.caption);
          }
          return {visible: visible, bars: bars, heatmap: heatmap, scatter: scatter};
        })();
        """#
}
