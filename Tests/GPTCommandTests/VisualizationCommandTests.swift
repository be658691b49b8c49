import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GPTTestSupport
import Testing

/// Every `gpt viz` picture: SVG parses as XML; HTML opens in headless Chromium with no console
/// errors and renders what it should.
@Suite(.serialized) struct VisualizationCommandTests {
    let directory = temporaryDirectory("gpt-viz")

    /// Runs headless Chromium on a page: (the DOM after scripts ran, its console log).
    func render(_ page: String) throws -> (dom: String, console: String) {
        let process = Process()
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("headless Chromium is not installed (Scripts/install-dependencies.sh --with-test-tools installs it)")
            return ("", "")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom",
            URL(fileURLWithPath: page).absoluteString,
        ]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let dom = output.fileHandleForReading.readDataToEndOfFile()
        let console = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: dom, as: UTF8.self), String(decoding: console, as: UTF8.self))
    }

    func expectCleanPage(_ page: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (dom, console) = try render(page)
        let errors = console.split(separator: "\n").filter { $0.contains("CONSOLE") && ($0.contains("ERROR") || $0.contains("Uncaught")) }
        #expect(errors.isEmpty, "console errors: \(errors)", sourceLocation: sourceLocation)
        #expect(dom.contains("<svg"), "nothing rendered: \(dom.prefix(200))", sourceLocation: sourceLocation)
        return dom
    }

    @Test func everyPictureIsValidAndRenders() throws {
        let model = directory.appendingPathComponent("model").path
        let log = directory.appendingPathComponent("train.jsonl").path
        // Text with characters that must be escaped in SVG and HTML.
        let text = directory.appendingPathComponent("text.txt")
        let lines = (0..<300).map { "tom had <\($0 % 7)> & \"cakes\" and 'pies'\n" }.joined()
        try lines.write(to: text, atomically: true, encoding: .utf8)
        let trained = try CLI.run(["train", "--data", text.path, "--out", model, "--max-iters", "30", "--eval-interval", "10", "--eval-iters", "2", "--log", log])
        #expect(trained.status == 0, "\(trained.standardError)")
        let prompt = "tom had <3> & \"cakes\""
        func picture(_ name: String, _ arguments: [String]) throws -> String {
            let out = directory.appendingPathComponent(name).path
            let result = try CLI.run(["viz"] + arguments + ["--out", out])
            #expect(result.status == 0, "\(name): \(result.standardError)")
            if name.hasSuffix(".svg") {
                let document = try XMLDocument(contentsOf: URL(fileURLWithPath: out))
                #expect(document.rootElement()?.name == "svg", "\(name)")
            }
            return out
        }
        _ = try picture("embeddings.svg", ["embeddings", "--model", model, "--top", "30"])
        _ = try picture("embeddings-tsne.svg", ["embeddings", "--model", model, "--method", "tsne", "--perplexity", "5", "--top", "30"])
        _ = try picture("attention.svg", ["attention", "--model", model, "--prompt", prompt])
        _ = try picture("attention-one.svg", ["attention", "--model", model, "--prompt", prompt, "--layer", "1", "--head", "2"])
        _ = try picture("next.svg", ["next-token", "--model", model, "--prompt", prompt, "--temperatures", "0.5,1,2"])
        _ = try picture("training.svg", ["training", "--log", log])

        // HTML pages in a real browser.
        let attention = try expectCleanPage(try picture("attention.html", ["attention", "--model", model, "--prompt", prompt]))
        let T = prompt.unicodeScalars.count
        // One heatmap at a time (the picker redraws it from the weights the page carries as data).
        #expect(attention.components(separatedBy: "class=\"cell\"").count - 1 == T * T, "heatmap cells")
        #expect(!attention.contains("<3>"))  // the prompt is escaped, not markup
        let map3D = try expectCleanPage(try picture("embeddings3.html", ["embeddings", "--model", model, "--dimensions", "3", "--top", "25"]))
        #expect(map3D.components(separatedBy: "<circle").count - 1 == 25)
        _ = try expectCleanPage(try picture("embeddings.html", ["embeddings", "--model", model, "--top", "20"]))
        _ = try expectCleanPage(try picture("next.html", ["next-token", "--model", model, "--prompt", "tom", "--top", "5"]))
        _ = try expectCleanPage(try picture("training.html", ["training", "--log", log]))
    }

    @Test func badInputIsAOneLineError() throws {
        let model = directory.appendingPathComponent("small").path
        #expect(try CLI.run(["train", "--out", model, "--max-iters", "2", "--eval-iters", "1"]).status == 0)
        let out = directory.appendingPathComponent("x.svg").path
        expectCleanFailure(try CLI.run(["viz", "embeddings", "--model", model, "--token", "zebra", "--out", out]), mentioning: "'zebra'")
        expectCleanFailure(try CLI.run(["viz", "attention", "--model", model, "--prompt", "", "--out", out]), mentioning: "--prompt")
        expectCleanFailure(try CLI.run(["viz", "attention", "--model", model, "--prompt", "tom", "--layer", "9", "--out", out]), mentioning: "--layer")
        let emptyLog = directory.appendingPathComponent("empty.jsonl")
        try Data("{\"note\": 1}\n".utf8).write(to: emptyLog)
        expectCleanFailure(try CLI.run(["viz", "training", "--log", emptyLog.path, "--out", out]), mentioning: "no step or eval")
        expectCleanFailure(try CLI.run(["viz", "next-token", "--model", model, "--prompt", "tom", "--out", "/proc/gpt/x.svg"]), mentioning: "/proc/gpt")
        expectCleanFailure(try CLI.run(["viz", "next-token", "--model", model, "--prompt", "tom", "--out", directory.appendingPathComponent("x.png").path]), mentioning: ".svg or .html")
        expectCleanFailure(try CLI.run(["viz", "next-token", "--model", model, "--prompt", "tom", "--temperatures", "1,-2", "--out", out]), mentioning: "--temperatures")
    }
}
