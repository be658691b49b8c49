import Foundation
import GPTTestSupport
import Testing

/// The official `openai` Python client against the server, as users' code talks to it: completions and
/// chat, whole and streamed, `n`, `stop`, `logprobs`, `echo` and an error (Scripts/check_openai_client.py,
/// with the package `Scripts/install-dependencies.sh --with-test-tools` installs in .venv-reference/).
@Suite struct OpenAIClientTests {
    @Test func theOfficialPythonClientGetsWhatItExpects() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: referencePython.path),
            "no reference environment at \(referencePython.path); run Scripts/install-dependencies.sh --with-test-tools")
        try await ServerHarness.with { harness in
            let url = "http://127.0.0.1:\(harness.port)/v1"
            let (status, printed, complaints) = try await onOwnThread {
                try runReferenceScript("check_openai_client.py", [url], environment: ["NO_PROXY": "127.0.0.1"])
            }
            let checks = String(decoding: printed, as: UTF8.self)
            #expect(status == 0, "the openai client: \(complaints)")
            #expect(checks.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count == 12, "\(checks)")
        }
    }
}
