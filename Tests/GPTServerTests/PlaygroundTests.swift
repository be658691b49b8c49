import Foundation
import Testing

/// The playground page and the JSON endpoints its pictures are drawn from.
@Suite struct PlaygroundTests {
    @Test func inspectionEndpointsDescribeThePrompt() async throws {
        try await ServerHarness.with { harness in
            let page = try await harness.send(.GET, "/")
            #expect(page.status == 200 && page.headers["Content-Type"].first == "text/html; charset=utf-8")
            #expect(page.body.contains("var Pictures"))
            #expect(!page.body.contains("<script src") && !page.body.contains("<link rel=\"stylesheet\""))

            let next = try await harness.post("/inspect/next-token", ["prompt": "the ca"])
            let V = ServerHarness.tokenizer.vocabularySize
            let logits = Data(base64Encoded: next.json["logits"] as? String ?? "") ?? Data()
            #expect(logits.count == 4 * V)
            let values = logits.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let top = next.json["top"] as? [[String: Any]] ?? []
            #expect(top.count == min(40, V))
            // The top entries are the largest logits, in order, with their pieces.
            let order = values.indices.sorted { values[$0] > values[$1] }
            #expect(top.prefix(5).compactMap { $0["id"] as? Int } == Array(order.prefix(5)))
            #expect(top.first?["piece"] as? String == ServerHarness.tokenizer.decode([order[0]]))

            let attention = try await harness.post("/inspect/attention", ["prompt": "abcd", "layer": 1, "head": 3])
            let rows = attention.json["weights"] as? [[Double]] ?? []
            #expect(attention.json["tokens"] as? [String] == ["a", "b", "c", "d"])
            #expect(attention.json["layers"] as? Int == 2 && attention.json["heads"] as? Int == 4)
            #expect(rows.map(\.count) == [1, 2, 3, 4])
            #expect(rows.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-3 })

            let map = try await harness.post("/inspect/embeddings", ["prompt": "abca"])
            let points = map.json["points"] as? [[String: Any]] ?? []
            #expect(points.compactMap { $0["piece"] as? String } == ["a", "b", "c"])
            #expect((map.json["background"] as? [Any])?.count == V)

            let bad = try await harness.post("/inspect/attention", ["prompt": "ab", "layer": 2])
            #expect(bad.status == 400 && bad.error["param"] as? String == "layer")
            let wrong = try await harness.post("/inspect/next-token", ["prompt": 3])
            #expect(wrong.status == 400 && wrong.error["param"] as? String == "prompt")
        }
    }

    /// Headless Chromium, driven by Playwright over the DevTools protocol (Scripts/check_playground.py):
    /// type a prompt, see its tokens, the bars change with the temperature slider, attention, the map,
    /// and streamed text arrive, with no console errors.
    @Test func thePlaygroundWorksInABrowser() async throws {
        try await ServerHarness.with { harness in
            let (status, passed, output) = try await harness.runClient("check_playground.py", ["the cat sat on the mat"])
            #expect(status == 0, "the playground in Chromium: \(output)")
            #expect(passed == 9, "\(output)")
        }
    }
}
