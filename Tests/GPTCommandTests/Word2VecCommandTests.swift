import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GPTTestSupport
import Testing

/// `gpt word2vec train|similar|analogy|evaluate` and `gpt viz words`.
@Suite(.serialized) struct Word2VecCommandTests {
    let directory = temporaryDirectory("gpt-word2vec")

    /// Pair words share a topic; gender words mark the attribute (see Word2VecTests.plantedCorpus).
    func corpus() throws -> String {
        let males = ["king", "man", "boy", "prince", "father"], females = ["queen", "woman", "girl", "princess", "mother"]
        var lines: [String] = []
        var state: UInt64 = 3
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<8_000 {
            let pair = next(5), female = next(2) == 1
            let letter = String(UnicodeScalar(UInt8(97 + pair)))
            var words = [female ? females[pair] : males[pair], "t\(letter)a", "t\(letter)b", female ? "she" : "he", female ? "her" : "him"]
            for index in stride(from: words.count - 1, to: 0, by: -1) { words.swapAt(index, next(index + 1)) }
            lines.append(words.joined(separator: " "))
        }
        let url = directory.appendingPathComponent("planted.txt")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func trainQueryEvaluateAndDraw() throws {
        let data = try corpus()
        let vectors = directory.appendingPathComponent("v.bin").path
        let train = try CLI.run([
            "word2vec", "train", "--data", data, "--model", "cbow", "--min-count", "1", "--dimensions", "24", "--epochs", "8",
            "--sample", "0", "--out", vectors,
        ])
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardOutput.contains("words/s"))
        let similar = try CLI.run(["word2vec", "similar", "--vectors", vectors, "king", "--top", "3"])
        #expect(similar.status == 0 && similar.standardOutput.split(separator: "\n").count == 3)
        let analogy = try CLI.run(["word2vec", "analogy", "--vectors", vectors, "king", "queen", "man", "--top", "1"])
        #expect(analogy.standardOutput.hasSuffix("woman\n"), "\(analogy.standardOutput)")
        let questions = directory.appendingPathComponent("questions.txt")
        try ": family\nking queen man woman\nman woman boy girl\nKing Queen Father Mother\n: other\nking queen zebra stripes\n"
            .write(to: questions, atomically: true, encoding: .utf8)
        let evaluation = try CLI.run(["word2vec", "evaluate", "--vectors", vectors, "--questions", questions.path, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(evaluation.standardOutput.utf8)) as! [String: Any]
        #expect(object["skipped"] as? Int == 1)
        #expect((object["accuracy"] as! Double) >= 2.0 / 3)
        #expect((object["sections"] as! [String: Any]).keys.contains("family"))
        let svg = directory.appendingPathComponent("words.svg").path
        let drawn = try CLI.run(["viz", "words", "--vectors", vectors, "--words", "king,queen,man,woman", "--out", svg])
        #expect(drawn.status == 0, "\(drawn.standardError)")
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: svg))
        #expect(document.rootElement()?.name == "svg")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).components(separatedBy: "class=\"point\"").count == 5)
        let html = directory.appendingPathComponent("words.html").path
        #expect(try CLI.run(["viz", "words", "--vectors", vectors, "--words", "king,queen", "--out", html]).status == 0)
        #expect(try String(contentsOfFile: html, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
    }

    @Test func badInputIsAOneLineError() throws {
        let empty = directory.appendingPathComponent("empty.txt")
        try Data(",,, ;;;\n\n".utf8).write(to: empty)
        let out = directory.appendingPathComponent("x.txt").path
        expectCleanFailure(try CLI.run(["word2vec", "train", "--data", empty.path, "--out", out]), mentioning: "no words")
        let data = try corpus()
        expectCleanFailure(try CLI.run(["word2vec", "train", "--data", data, "--min-count", "100000", "--out", out]), mentioning: "--min-count")
        expectCleanFailure(try CLI.run(["word2vec", "train", "--data", data, "--window", "0", "--out", out]), mentioning: "--window")
        expectCleanFailure(try CLI.run(["word2vec", "train", "--data", "/nonexistent", "--out", out]), mentioning: "not found")
        let vectors = directory.appendingPathComponent("v.txt").path
        #expect(try CLI.run(["word2vec", "train", "--data", data, "--min-count", "1", "--epochs", "1", "--out", vectors]).status == 0)
        expectCleanFailure(try CLI.run(["word2vec", "similar", "--vectors", vectors, "zebra"]), mentioning: "'zebra'")
        expectCleanFailure(try CLI.run(["word2vec", "analogy", "--vectors", vectors, "king", "queen"]), mentioning: "three words")
        let broken = directory.appendingPathComponent("broken.txt")
        try Data("2 4\nking 1 2 3 4\nqueen 1 2\n".utf8).write(to: broken)
        expectCleanFailure(try CLI.run(["word2vec", "similar", "--vectors", broken.path, "king"]), mentioning: "malformed")
        let truncated = projectRoot.appendingPathComponent("Tests/GPTEmbeddingsTests/Fixtures/gensim-small-truncated.bin").path
        expectCleanFailure(try CLI.run(["word2vec", "similar", "--vectors", truncated, "the"]), mentioning: "truncated")
        expectCleanFailure(try CLI.run(["viz", "words", "--vectors", vectors, "--words", "king,zebra", "--out", out + ".svg"]), mentioning: "'zebra'")
        expectCleanFailure(try CLI.run(["viz", "words", "--vectors", vectors, "--words", "king,queen", "--out", "/proc/x.svg"]), mentioning: "/proc/x.svg")
    }
}
