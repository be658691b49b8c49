import ArgumentParser
import Foundation
import GPTGeneration
import GPTModel
import GPTServer
import GPTTensor
import Synchronization

/// `gpt bench serve`: our server (started here as a `gpt serve` process) under one stream and under
/// `--clients` concurrent streams, alternated run by run with the same loads on a peer already
/// listening (`--peer-port`, e.g. llama-server -np 16), plus the idle server's CPU use and what the
/// HTTP layer adds per token (the scheduler alone in this process, same requests).
struct BenchServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serving speed: aggregate decode tokens/s at 1 and N streams, time to first token, idle CPU, HTTP cost per token.",
        discussion: """
            Every request is greedy with exactly --max-tokens generated (ignore_eos) after a prompt of \
            --prompt-tokens seeded token ids, so both servers do the same work. Start the peer first, with \
            the same weights, threads and at least --clients slots of the model's full context, e.g. \
            llama-server -m model.gguf -t 2 -tb 2 -np 16 -c 16384 --port 8081.
            """)

    @Option(help: "Model directory or .gguf file (the same weights the peer serves).") var model: String
    @Option(parsing: .unconditional, help: "Port of a peer server already running with the same weights (optional).")
    var peerPort: Int?
    @Option(parsing: .unconditional, help: "Concurrent streams of the loaded measurement.") var clients = 16
    @Option(parsing: .unconditional, help: "Requests each client sends, one after another.") var requests = 2
    @Option(parsing: .unconditional, help: "Prompt tokens per request.") var promptTokens = 32
    @Option(parsing: .unconditional, help: "Tokens generated per request.") var maxTokens = 128
    @Option(parsing: .unconditional, help: "Alternated runs per side.") var runs = 3
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be between 1 and 256 (got \(clients))") }
        guard requests >= 1, runs >= 1 else { throw ValidationError("--requests and --runs must be at least 1") }
        guard promptTokens >= 1, maxTokens >= 2 else { throw ValidationError("--prompt-tokens must be at least 1 and --max-tokens at least 2") }
        if let peerPort, !(1...65535).contains(peerPort) { throw ValidationError("--peer-port must be between 1 and 65535") }
    }

    func run() throws {
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: nil)
        let c = gpt.configuration
        guard promptTokens + maxTokens <= c.contextLength else {
            throw ValidationError("--prompt-tokens + --max-tokens (\(promptTokens + maxTokens)) must fit the context of \(c.contextLength)")
        }
        let server = try ServerProcess(model: model, parallel: clients, threads: threads.parallelism.threads)
        defer { server.stop() }
        var load = ServingLoad(
            port: server.port, clients: clients, requestsPerClient: requests, promptTokens: promptTokens, maxTokens: maxTokens,
            vocabularySize: min(tokenizer.vocabularySize, c.vocabularySize))
        let parallelism = threads.parallelism
        let shape = (clients, c.embeddingSize, 3 * c.embeddingSize)
        let before = MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism)
        let direct = try BatchScheduler(model: gpt, tokenizer: tokenizer, parallel: 1, parallelism: parallelism)
        defer { _ = try? Self.wait { await direct.shutdown(gracePeriod: 0) } }

        var round: UInt64 = 0
        /// Every load on a side gets prompts neither server has seen (llama-server reuses a slot's
        /// cached prompt); the two sides of one comparison get the same ones.
        func measure(port: Int, clients: Int, fresh: Bool = true) throws -> ServingLoad.Report {
            if fresh { round += 1 }
            load.seed = 1_000_003 &* round
            load.port = port
            load.clients = clients
            let report = load.run()
            if let failure = report.failures.first {
                throw ValidationError("a request to port \(port) failed: \(failure)")
            }
            return report
        }
        // Warm both servers and the scheduler here (first touch of weights and caches).
        _ = try Self.directSecondsPerToken(direct, load: load)
        _ = try measure(port: server.port, clients: 1)
        if let peerPort { _ = try measure(port: peerPort, clients: 1) }
        var ours: (single: [ServingLoad.Report], loaded: [ServingLoad.Report]) = ([], [])
        var peer: (single: [ServingLoad.Report], loaded: [ServingLoad.Report]) = ([], [])
        var directPerToken: [Double] = []
        for run in 0..<runs {
            Terminal.notice("run \(run + 1) of \(runs)")
            directPerToken.append(try Self.directSecondsPerToken(direct, load: load))
            ours.single.append(try measure(port: server.port, clients: 1))
            if let peerPort { peer.single.append(try measure(port: peerPort, clients: 1, fresh: false)) }
            ours.loaded.append(try measure(port: server.port, clients: clients))
            if let peerPort { peer.loaded.append(try measure(port: peerPort, clients: clients, fresh: false)) }
        }
        let idle = server.cpuShare(over: 5)
        let after = MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism)

        print("benchmark:   serve \(URL(fileURLWithPath: model).lastPathComponent): \(Terminal.grouped(Double(gpt.parameterCount))) parameters; \(clients) clients × \(requests) requests, \(promptTokens) prompt + \(maxTokens) generated tokens each (greedy, ignore_eos); \(runs) alternated runs")
        print("machine:     \(MachineDescription.cpu); \(Terminal.counted(parallelism.threads, "thread"))")
        print(String(format: "ceilings:    sgemm %.1f → %.1f GFLOP/s, read bandwidth %.1f → %.1f GB/s (before → after)%@",
                     before.sgemmGigaflops, after.sgemmGigaflops, before.bandwidthGigabytes, after.bandwidthGigabytes,
                     Self.unstable(before, after) ? "  — machine unstable: do not publish" : ""))
        Self.report("swift-gpt", ours, clients: clients)
        if peerPort != nil { Self.report("peer", peer, clients: clients) }
        if peerPort != nil {
            let single = Self.median(ours.single.map(\.tokensPerSecond)) / Self.median(peer.single.map(\.tokensPerSecond))
            let loaded = Self.median(ours.loaded.map(\.tokensPerSecond)) / Self.median(peer.loaded.map(\.tokensPerSecond))
            print(String(format: "ratio:       swift-gpt / peer: %.2f× at 1 stream, %.2f× at %d streams (ratios of medians)", single, loaded, clients))
        }
        let http = Self.median(ours.single.map { Self.median($0.requests.map(\.secondsPerToken)) })
        let alone = Self.median(directPerToken)
        print(String(format: "http:        %.2f ms per token streamed over HTTP vs %.2f ms from the scheduler in-process: %.3f ms added per token", http * 1e3, alone * 1e3, (http - alone) * 1e3))
        print(String(format: "idle:        the server used %.2f%% of one core over 5 s with no requests", idle * 100))
    }

    static func report(_ name: String, _ side: (single: [ServingLoad.Report], loaded: [ServingLoad.Report]), clients: Int) {
        func spread(_ values: [Double]) -> String {
            String(format: "%.1f (%.1f–%.1f)", median(values), values.min() ?? 0, values.max() ?? 0)
        }
        let single = side.single.map(\.tokensPerSecond), loaded = side.loaded.map(\.tokensPerSecond)
        let firsts = side.loaded.flatMap { $0.requests.map(\.timeToFirstToken) }.sorted()
        print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) 1 stream \(spread(single)) tokens/s; \(clients) streams \(spread(loaded)) tokens/s = \(String(format: "%.2f", median(loaded) / median(single)))× one stream; time to first token under load p50 \(String(format: "%.0f", percentile(firsts, 0.5) * 1e3)) ms, p99 \(String(format: "%.0f", percentile(firsts, 0.99) * 1e3)) ms (\(firsts.count) requests)")
    }

    static func median(_ values: [Double]) -> Double { percentile(values.sorted(), 0.5) }

    /// The nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    static func unstable(_ a: MachineCeilings, _ b: MachineCeilings) -> Bool {
        func apart(_ x: Double, _ y: Double) -> Bool { abs(x - y) / max(x, y) > 0.15 }
        return apart(a.sgemmGigaflops, b.sgemmGigaflops) || apart(a.bandwidthGigabytes, b.bandwidthGigabytes)
    }

    /// The scheduler's own decode time per token for client 0's requests, without HTTP.
    static func directSecondsPerToken(_ scheduler: BatchScheduler, load: ServingLoad) throws -> Double {
        var perToken: [Double] = []
        for index in 0..<load.requestsPerClient {
            var request = CompletionRequest(prompt: load.prompt(client: 0, index: index))
            request.maxTokens = load.maxTokens
            request.ignoreEndOfText = true
            request.sampling.temperature = 0
            let submitted = request
            let times = try wait { () async throws -> [Double] in
                var times: [Double] = []
                for try await event in try scheduler.submit(submitted) {
                    if case .token = event { times.append(monotonicSeconds()) }
                }
                return times
            }
            perToken.append((times.last! - times.first!) / Double(times.count - 1))
        }
        return median(perToken)
    }

    /// Runs async work to completion from this synchronous command.
    static func wait<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, Error>
            do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
