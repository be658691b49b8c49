import GPTVisualization
import Hummingbird

extension ModelServer {
    /// `GET /`: the playground, one self-contained page (no CDN, no fonts from elsewhere).
    func playground() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: PlaygroundPage.html)))
    }
}

/// The playground: a prompt box showing its token boundaries as you type, streamed generation with
/// the sampler's sliders, the next-token probabilities at the cursor (recomputed in the page from the
/// logits as the temperature slider moves: the softmax with temperature made visible), and the
/// prompt's attention and embedding map — all drawn by the same picture component as `gpt viz`.
enum PlaygroundPage {
    static let html = #"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>swift-gpt playground</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
        <style>
        body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
        header{display:flex;gap:16px;align-items:baseline;padding:10px 18px;background:#223;color:#eee}
        header h1{font-size:18px;margin:0} header .info{font-size:13px;color:#bbc} header label{margin-left:auto;font-size:13px}
        main{display:grid;grid-template-columns:minmax(360px,1fr) minmax(420px,1fr);gap:18px;padding:16px 18px}
        section{background:white;border:1px solid #ddd;border-radius:6px;padding:12px 14px;margin-bottom:14px}
        h2{font-size:15px;margin:0 0 8px}
        textarea{width:100%;box-sizing:border-box;height:120px;font:14px monospace;padding:6px}
        #tokens{font:13px monospace;line-height:1.9;white-space:pre-wrap;word-break:break-all;margin-top:6px}
        #tokens span{border-radius:3px;padding:1px 0} #tokens span:nth-child(odd){background:#dbe8ff} #tokens span:nth-child(even){background:#ffe2c6}
        .controls{display:grid;grid-template-columns:repeat(2,1fr);gap:6px 18px;margin:10px 0;font-size:13px}
        .controls label{display:flex;align-items:center;gap:6px} .controls input[type=range]{flex:1}
        .controls output{min-width:36px;text-align:right;font-family:monospace}
        button{font-size:14px;padding:5px 14px;margin-right:6px}
        #output{white-space:pre-wrap;font:14px monospace;background:#f6f6f0;border:1px solid #e4e4d8;min-height:80px;padding:8px}
        #output .prompt{color:#888}
        .note{font-size:12px;color:#555;margin:4px 0 8px} #status{font-size:13px;color:#a00;min-height:18px}
        g.muted text{fill:#999} rect.cell:hover{stroke:crimson;stroke-width:2}
        </style></head>
        <body>
        <header><h1>swift-gpt playground</h1><span class="info" id="model">loading…</span>
        <label>API key <input id="key" type="password" size="18" placeholder="if the server needs one"></label></header>
        <main>
        <div>
        <section><h2>Prompt</h2>
        <textarea id="prompt" spellcheck="false" placeholder="Type a prompt: the bars show what the model expects next"></textarea>
        <div class="note"><span id="count">0 tokens</span> — each coloured span is one token (hover for its id)</div>
        <div id="tokens"></div>
        <div class="controls">
        <label>temperature <input type="range" id="temperature" min="0" max="2" step="0.05" value="0.8"><output for="temperature"></output></label>
        <label>top-k <input type="range" id="top_k" min="0" max="100" step="1" value="0"><output for="top_k"></output></label>
        <label>top-p <input type="range" id="top_p" min="0.05" max="1" step="0.01" value="1"><output for="top_p"></output></label>
        <label>min-p <input type="range" id="min_p" min="0" max="0.5" step="0.01" value="0"><output for="min_p"></output></label>
        <label>max tokens <input type="range" id="max_tokens" min="1" max="256" step="1" value="64"><output for="max_tokens"></output></label>
        <label>seed <input type="number" id="seed" value="1" min="0" style="width:90px"></label>
        </div>
        <button id="generate">Generate</button><button id="stop" disabled>Stop</button>
        <div id="status"></div>
        <pre id="output"></pre>
        </section>
        </div>
        <div>
        <section><h2>Next token at the cursor</h2>
        <div class="note" id="nextnote">Move the cursor or the temperature slider.</div>
        <svg id="bars" xmlns="http://www.w3.org/2000/svg"></svg></section>
        <section><h2>Attention</h2>
        <div class="note">layer <select id="layer"></select> head <select id="head"></select> — how much each token (row) looks at each earlier one (column)</div>
        <svg id="attention" xmlns="http://www.w3.org/2000/svg"></svg></section>
        <section><h2>Embedding map</h2>
        <div class="note" id="mapnote">The prompt's tokens (red) among a sample of the vocabulary (grey).</div>
        <svg id="map" xmlns="http://www.w3.org/2000/svg"></svg></section>
        </div>
        </main>
        <script>\#(PictureScript.source)</script>
        <script>\#(script)</script>
        </body></html>
        """#

    static let script = #"""
        (function () {
          var $ = function (id) { return document.getElementById(id); };
          var state = {logits: null, top: [], controller: null, layers: 0, heads: 0, context: 0, promptTokens: 0};
          function status(text) { $('status').textContent = text || ''; }
          function headers() {
            var h = {'Content-Type': 'application/json'}, key = $('key').value.trim();
            if (key) h['Authorization'] = 'Bearer ' + key;
            return h;
          }
          function api(path, body) {
            return fetch(path, {method: body ? 'POST' : 'GET', headers: headers(), body: body ? JSON.stringify(body) : undefined})
              .then(function (response) {
                return response.json().then(function (json) {
                  if (!response.ok) throw new Error(response.status === 401 ? 'this server needs an API key: enter it above'
                                                    : (json.error && json.error.message) || ('HTTP ' + response.status));
                  return json;
                });
              });
          }
          function debounce(work, ms) {
            var timer = null;
            return function () { clearTimeout(timer); timer = setTimeout(work, ms); };
          }
          function value(id) { return parseFloat($(id).value); }
          function showValues() {
            document.querySelectorAll('.controls output').forEach(function (out) {
              var input = $(out.getAttribute('for')), v = input.value;
              out.textContent = input.id === 'top_k' && v === '0' ? 'off' : input.id === 'top_p' && v === '1' ? 'off'
                              : input.id === 'min_p' && v === '0' ? 'off' : v;
            });
          }

          // Token boundaries as you type.
          var tokenize = debounce(function () {
            api('/tokenize', {content: $('prompt').value, with_pieces: true}).then(function (json) {
              var box = $('tokens');
              box.textContent = '';
              json.tokens.forEach(function (t) {
                var span = document.createElement('span');
                span.textContent = t.piece; span.title = 'token ' + t.id + ': ' + Pictures.visible(t.piece);
                box.appendChild(span);
              });
              $('count').textContent = json.tokens.length + ' tokens';
              state.promptTokens = json.tokens.length;
              status('');
            }).catch(function (e) { status(e.message); });
          }, 120);

          // The next-token distribution at the cursor: logits from the server once, the softmax with
          // temperature and the sampler's cuts here, so the bars follow the sliders at once.
          var nextToken = debounce(function () {
            var text = $('prompt').value.slice(0, $('prompt').selectionStart);
            api('/inspect/next-token', {prompt: text}).then(function (json) {
              var bytes = atob(json.logits), buffer = new ArrayBuffer(bytes.length), view = new Uint8Array(buffer);
              for (var i = 0; i < bytes.length; i++) view[i] = bytes.charCodeAt(i);
              state.logits = new Float32Array(buffer);
              state.top = json.top;
              drawBars();
            }).catch(function (e) { status(e.message); });
          }, 150);

          function drawBars() {
            if (!state.logits) return;
            var t = value('temperature'), logits = state.logits, top = state.top, largest = top[0].logit;
            var probabilities;
            var entropy = 0;
            if (t === 0) {
              probabilities = top.map(function (_, i) { return i === 0 ? 1 : 0; });
            } else {
              var total = 0;
              for (var i = 0; i < logits.length; i++) total += Math.exp((logits[i] - largest) / t);
              for (var j = 0; j < logits.length; j++) {
                var p = Math.exp((logits[j] - largest) / t) / total;
                if (p > 0) entropy -= p * Math.log(p);
              }
              probabilities = top.map(function (entry) { return Math.exp((entry.logit - largest) / t) / total; });
            }
            var k = parseInt($('top_k').value, 10), topP = value('top_p'), minP = value('min_p');
            var cumulative = 0, items = [];
            for (var n = 0; n < Math.min(15, top.length); n++) {
              var reason = null;
              if (k > 0 && n >= k) reason = 'cut by top-k';
              else if (topP < 1 && cumulative >= topP) reason = 'cut by top-p';
              else if (minP > 0 && probabilities[n] < minP * probabilities[0]) reason = 'cut by min-p';
              cumulative += probabilities[n];
              items.push({label: top[n].piece, value: probabilities[n], muted: reason !== null,
                          note: 'logit ' + top[n].logit.toFixed(2) + (reason ? ', ' + reason : '')});
            }
            Pictures.bars($('bars'), items);
            $('nextnote').textContent = t === 0 ? 'temperature 0: greedy, the most likely token always wins'
              : 'temperature ' + t + ': entropy ' + entropy.toFixed(2) + ' nats over ' + logits.length +
                ' tokens; grey bars are removed by top-k / top-p / min-p';
          }

          // Attention and the embedding map of the whole prompt.
          function drawAttention() {
            var body = {prompt: $('prompt').value, layer: parseInt($('layer').value || '0', 10), head: parseInt($('head').value || '0', 10)};
            api('/inspect/attention', body).then(function (json) {
              if (state.layers !== json.layers || state.heads !== json.heads) {
                state.layers = json.layers; state.heads = json.heads;
                ['layer', 'head'].forEach(function (id) {
                  var select = $(id), count = id === 'layer' ? json.layers : json.heads;
                  select.textContent = '';
                  for (var i = 0; i < count; i++) { var o = document.createElement('option'); o.value = i; o.textContent = i; select.appendChild(o); }
                });
              }
              Pictures.heatmap($('attention'), json.tokens, json.weights, {size: 520});
            }).catch(function (e) { status(e.message); });
          }
          var prompted = debounce(function () {
            drawAttention();
            api('/inspect/embeddings', {prompt: $('prompt').value}).then(function (json) {
              var points = json.points.map(function (p) { return {x: p.x, y: p.y, label: p.piece, note: 'token ' + p.id}; });
              var background = json.background.map(function (p) { return {x: p.x, y: p.y, label: p.piece}; });
              Pictures.scatter($('map'), points, background, {caption: json.method + ', first two axes'});
            }).catch(function (e) { status(e.message); });
          }, 400);

          // Streamed generation through the OpenAI-compatible endpoint.
          function generate() {
            var prompt = $('prompt').value, out = $('output');
            out.textContent = '';
            var shown = document.createElement('span'); shown.className = 'prompt'; shown.textContent = prompt; out.appendChild(shown);
            var generated = document.createTextNode(''); out.appendChild(generated);
            // What the context leaves after the prompt caps the tokens asked for.
            var room = state.context - Math.max(state.promptTokens, 1);
            if (room < 1) { status('the prompt fills the model\'s context of ' + state.context + ' tokens; shorten it'); out.textContent = ''; return; }
            var body = {prompt: prompt, max_tokens: Math.min(parseInt($('max_tokens').value, 10), room), temperature: value('temperature'),
                        seed: parseInt($('seed').value || '0', 10), stream: true};
            if (parseInt($('top_k').value, 10) > 0) body.top_k = parseInt($('top_k').value, 10);
            if (value('top_p') < 1) body.top_p = value('top_p');
            if (value('min_p') > 0) body.min_p = value('min_p');
            state.controller = new AbortController();
            $('generate').disabled = true; $('stop').disabled = false; status('');
            fetch('/v1/completions', {method: 'POST', headers: headers(), body: JSON.stringify(body), signal: state.controller.signal})
              .then(function (response) {
                if (!response.ok) return response.json().then(function (json) { throw new Error(json.error ? json.error.message : 'HTTP ' + response.status); });
                var reader = response.body.getReader(), decoder = new TextDecoder(), pending = '';
                function pump() {
                  return reader.read().then(function (chunk) {
                    if (chunk.done) return;
                    pending += decoder.decode(chunk.value, {stream: true});
                    var frames = pending.split('\n\n'); pending = frames.pop();
                    frames.forEach(function (frame) {
                      if (frame.indexOf('data: ') !== 0 || frame === 'data: [DONE]') return;
                      var json = JSON.parse(frame.slice(6));
                      if (json.error) { status(json.error.message); return; }
                      (json.choices || []).forEach(function (c) { generated.textContent += c.text; });
                    });
                    return pump();
                  });
                }
                return pump();
              })
              .catch(function (e) { if (e.name !== 'AbortError') status(e.message); })
              .then(function () { $('generate').disabled = false; $('stop').disabled = true; state.controller = null; });
          }

          $('prompt').addEventListener('input', function () { tokenize(); nextToken(); prompted(); });
          ['click', 'keyup', 'select'].forEach(function (e) { $('prompt').addEventListener(e, nextToken); });
          ['temperature', 'top_k', 'top_p', 'min_p'].forEach(function (id) {
            $(id).addEventListener('input', function () { showValues(); drawBars(); });
          });
          $('max_tokens').addEventListener('input', showValues);
          $('layer').addEventListener('change', drawAttention);
          $('head').addEventListener('change', drawAttention);
          $('generate').addEventListener('click', generate);
          $('stop').addEventListener('click', function () { if (state.controller) state.controller.abort(); });
          $('key').addEventListener('change', function () { tokenize(); nextToken(); prompted(); });
          showValues();
          api('/v1/models').then(function (json) {
            var m = json.data[0];
            $('model').textContent = m.id + ' \u00b7 ' + (m.meta.n_params / 1e6).toFixed(1) + 'M parameters \u00b7 context ' +
              m.meta.n_ctx + ' \u00b7 vocabulary ' + m.meta.n_vocab;
            $('max_tokens').max = Math.min(1024, m.meta.n_ctx);
            state.context = m.meta.n_ctx;
            showValues();
          }).catch(function (e) { status(e.message); });
          var end = $('prompt').value.length;
          $('prompt').setSelectionRange(end, end);
          tokenize(); nextToken(); prompted();
        })();
        """#
}
