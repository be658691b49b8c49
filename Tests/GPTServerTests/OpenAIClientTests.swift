import Foundation
import Testing

/// The official `openai` Python client against the server, as users' code talks to it: completions and
/// chat, whole and streamed, `n`, `stop`, `logprobs`, `echo` and an error (Scripts/check_openai_client.py,
/// with the package `Scripts/install-dependencies.sh --with-test-tools` installs in .venv-reference/).
@Suite struct OpenAIClientTests {
    @Test func theOfficialPythonClientGetsWhatItExpects() async throws {
        try await ServerHarness.with { harness in
            let (status, passed, output) = try await harness.runClient("check_openai_client.py", path: "/v1")
            #expect(status == 0, "the openai client: \(output)")
            #expect(passed == 12, "\(output)")
        }
    }
}
