import Foundation
import GPTFormats
import GPTTestSupport
import Testing

/// Data-parallel `gpt train` under Open MPI's mpirun: the same losses as one process accumulating the
/// same global batch, ZeRO-1, a killed rank, resume on the same and on another number of ranks, and
/// ranks started differently. CI installs Open MPI; elsewhere the suite runs where `mpirun` is found.
@Suite(.serialized, .enabled(if: MPI.isUsable)) struct DataParallelTests {
    let directory = temporaryDirectory("gpt-mpi")
    /// 50 steps of a tiny model, with dropout (its masks come from the micro-batch's seed too).
    let small = ["--layers", "2", "--heads", "2", "--embedding-size", "32", "--context-length", "16", "--batch-size", "4",
                 "--max-iters", "50", "--lr-decay-iters", "50", "--eval-interval", "25", "--eval-iters", "4",
                 "--dropout", "0.1", "--seed", "11", "--threads", "1"]

    func train(
        _ name: String, ranks: Int, _ extra: [String] = [], environment: [String: String] = [:]
    ) throws -> (directory: String, result: CommandResult) {
        let out = directory.appendingPathComponent(name).path
        let arguments = ["train", "--out", out, "--log", out + ".jsonl"] + small + extra
        let result = ranks == 1 ? try CLI.run(arguments) : try MPI.run(ranks: ranks, arguments, environment: environment)
        #expect(result.status == 0, "\(name): \(result.standardError)")
        return (out, result)
    }

    @Test func twoRanksMatchOneProcessAccumulatingTheSameGlobalBatch() throws {
        let single = try train("single", ranks: 1, ["--grad-accum", "2"])
        let pair = try train("pair", ranks: 2)
        let again = try train("again", ranks: 2)
        let sharded = try train("sharded", ranks: 2, ["--shard-optimizer"])
        // The path between machines (MPI all-reduce in buckets during backward), forced on one machine.
        let buckets = try train("buckets", ranks: 2, environment: ["SWIFT_GPT_EXCHANGE": "mpi"])
        let shardedBuckets = try train("sharded-mpi", ranks: 2, ["--shard-optimizer"], environment: ["SWIFT_GPT_EXCHANGE": "mpi"])
        #expect(pair.result.standardError.contains("data-parallel: 2 ranks"))
        #expect(pair.result.standardError.contains("through shared memory"))
        #expect(buckets.result.standardError.contains("MPI all-reduce in buckets"), "\(buckets.result.standardError)")
        #expect(sharded.result.standardError.contains("optimizer state sharded"))
        // Only rank 0 prints.
        #expect(pair.result.standardOutput.components(separatedBy: "final:").count == 2, "\(pair.result.standardOutput)")
        let reference = try losses(single.directory)
        #expect(reference.count == 50 + 3)
        for run in [pair, sharded, buckets, shardedBuckets] {
            let measured = try losses(run.directory)
            #expect(measured.count == reference.count)
            for (a, b) in zip(reference, measured) {
                #expect(abs(a - b) <= 1e-5 * abs(a), "\(run.directory): loss \(b) vs one process's \(a)")
            }
            let difference = try largestDifference(single.directory, run.directory)
            #expect(difference < 1e-4, "\(run.directory): weights differ from one process's by up to \(difference)")
        }
        #expect(try weights(pair.directory) == weights(again.directory), "two identical 2-rank runs differ")
        // Each rank's optimizer shard is its own file.
        let files = try FileManager.default.contentsOfDirectory(atPath: sharded.directory)
        #expect(files.contains("training_state-00000050-rank0.safetensors") && files.contains("training_state-00000050-rank1.safetensors"))
    }

    @Test func aKilledRankEndsTheJobAndResumeEndsLikeAnUninterruptedRun() throws {
        let longer = ["--max-iters", "4000", "--lr-decay-iters", "4000", "--eval-interval", "1000", "--checkpoint-interval", "50"]
        let straight = try train("straight", ranks: 2, longer)
        let crashy = directory.appendingPathComponent("crashy").path
        let running = try MPI.start(ranks: 2, ["train", "--out", crashy] + small + longer)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: crashy + "/training.json") && Date() < deadline && running.process.isRunning {
            usleep(10_000)
        }
        usleep(300_000)
        let rank1 = try #require(MPI.rank(1, of: running.process.processIdentifier), "rank 1 not found")
        kill(rank1, SIGKILL)
        let killed = Date()
        let result = running.finish()
        #expect(Date().timeIntervalSince(killed) < 10, "the job took \(Date().timeIntervalSince(killed)) s to end")
        #expect(result.status != 0)
        #expect(result.standardError.contains("rank 1"), "\(result.standardError)")
        let resumed = try MPI.run(ranks: 2, ["train", "--resume", crashy])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try weights(straight.directory) == weights(crashy), "resumed run's weights differ from the uninterrupted run's")
    }

    @Test func resumeOnAnotherRankCountKeepsTheMicroBatches() throws {
        let whole = try train("whole", ranks: 2, ["--shard-optimizer"])
        let half = try train("half", ranks: 2, ["--shard-optimizer", "--max-iters", "25"])
        let refused = try CLI.run(["train", "--resume", half.directory, "--max-iters", "50"])
        expectCleanFailure(refused, mentioning: "--grad-accum 2")
        let resumed = try CLI.run(["train", "--resume", half.directory, "--max-iters", "50", "--grad-accum", "2"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let (a, b) = (try losses(whole.directory), try losses(half.directory))
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * abs(x), "loss \(y) vs \(x)") }
    }

    @Test func ranksStartedDifferentlyAreRefusedAtStart() throws {
        let out = directory.appendingPathComponent("mismatch").path
        let result = try MPI.run(
            [["train", "--out", out] + small, ["train", "--out", out] + small + ["--learning-rate", "0.002"]])
        #expect(result.status != 0)
        #expect(result.standardError.contains("error: rank 0 of 2: rank 1's command line differs"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: reading runs

    /// Every loss of the run's log: training steps and evaluations, in order.
    func losses(_ out: String) throws -> [Double] {
        try String(contentsOfFile: out + ".jsonl", encoding: .utf8).split(separator: "\n").flatMap { line -> [Double] in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return ["loss", "val_loss"].compactMap { object[$0] as? Double }
        }
    }

    func weights(_ out: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors"))
    }

    func largestDifference(_ a: String, _ b: String) throws -> Float {
        let (x, y) = (try SafetensorsFile(contentsOf: URL(fileURLWithPath: a + "/model.safetensors")),
                      try SafetensorsFile(contentsOf: URL(fileURLWithPath: b + "/model.safetensors")))
        var largest: Float = 0
        for name in x.tensors.keys {
            for (p, q) in zip(try x.floats(name), try y.floats(name)) { largest = max(largest, abs(p - q)) }
        }
        return largest
    }
}

/// Open MPI's mpirun, as the tests launch it.
enum MPI {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// CI must have it (its install script puts it there); a developer's machine may not.
    static var isUsable: Bool {
        if mpirun == nil && ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("CI has no mpirun; Scripts/install-dependencies.sh --with-test-tools installs Open MPI")
        }
        return mpirun != nil
    }

    /// Root in containers; shared memory without cross-process single copy (containers often forbid it).
    static let options = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]

    static func start(ranks: Int, _ arguments: [String]) throws -> CLI.Running {
        try start(Array(repeating: arguments, count: ranks))
    }

    /// One rank per argument list (mpirun's "A : B" form); `environment` is passed on to every rank.
    static func start(_ perRank: [[String]], environment: [String: String] = [:]) throws -> CLI.Running {
        let apps = perRank.map { ["-np", "1", CLI.executable.path] + $0 }.joined(separator: [":"])
        let exported = environment.keys.sorted().flatMap { ["-x", $0] }
        return try CLI.start(options + exported + Array(apps), environment: environment, launcher: URL(fileURLWithPath: mpirun!))
    }

    static func run(ranks: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try run(Array(repeating: arguments, count: ranks), environment: environment)
    }

    static func run(_ perRank: [[String]], environment: [String: String] = [:]) throws -> CommandResult {
        let running = try start(perRank, environment: environment)
        let deadline = Date().addingTimeInterval(300)
        while running.process.isRunning && Date() < deadline { usleep(20_000) }
        if running.process.isRunning { running.process.terminate() }
        return running.finish()
    }

    /// The process id of rank `rank` among mpirun's children.
    static func rank(_ rank: Int, of mpirun: Int32) -> Int32? {
        let children = (try? String(contentsOfFile: "/proc/\(mpirun)/task/\(mpirun)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").compactMap { Int32($0) }.first { pid in
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environment.split(separator: 0).contains { $0.elementsEqual("OMPI_COMM_WORLD_RANK=\(rank)".utf8) }
        }
    }
}
