import ArgumentParser
import Foundation
import GPTTensor

/// Data-parallel training against one process on the same cores: `mpirun -np N gpt bench train`
/// with 1/N of the threads each, alternated round by round with one `gpt bench train` on all of
/// them; medians and their ratio, the ranks' step broken down, the all-reduce's bandwidth, and a
/// projection to more machines from those measurements.
struct BenchDataParallel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel",
        abstract: "N ranks under mpirun against 1 process on the same cores: tokens/s, step breakdown, all-reduce GB/s, a scaling projection.",
        discussion: """
            Needs Open MPI's mpirun. Each run is its own process (or job), the two kinds alternating which \
            goes first each round; both train the same global batch per step (the ranks split it). The \
            projection is a model, not a measurement: each machine computes as the 1-process run did, and a \
            ring all-reduce of the gradients over a link of the given speed is hidden behind backward where \
            it fits.
            """)

    @Option(help: "A bench train preset (default gpt2-small: the GPT-2-124M shape).") var preset = "gpt2-small"
    @Option(parsing: .unconditional, help: "Ranks of the data-parallel runs.") var ranks = 2
    @Option(parsing: .unconditional, help: "Rounds (each runs both).") var rounds = 3
    @Option(parsing: .unconditional, help: "Timed steps per run.") var steps = 5
    @Option(parsing: .unconditional, help: "Untimed warmup steps per run.") var warmup = 1
    @Option(parsing: .unconditional, help: "Sequences per rank per step (the 1-process run accumulates ranks × this).") var batchSize: Int?
    @Flag(help: "Shard the optimizer's state over the ranks (ZeRO-1).") var shardOptimizer = false
    @Option(help: "Open MPI's mpirun.") var mpirun = "mpirun"
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard rounds >= 1, steps >= 1, warmup >= 0, ranks >= 2 else {
            throw ValidationError("--rounds and --steps must be at least 1, --warmup 0 or more, --ranks at least 2")
        }
        if threads.count % ranks != 0 {
            throw ValidationError("--threads \(threads.count) does not split evenly over --ranks \(ranks)")
        }
    }

    struct Run {
        let object: [String: Any]
        var tokensPerSecond: Double { object["tokens_per_second"] as? Double ?? 0 }
        var milliseconds: (String) -> Double { { key in object[key] as? Double ?? 0 } }
        var stable: Bool { ((object["ceilings"] as? [String: Any])?["stable"] as? Bool) ?? false }
    }

    func run() throws {
        let total = threads.count
        var common = ["bench", "train", "--json", "--preset", preset, "--steps", "\(steps)", "--warmup", "\(warmup)"]
        if let batchSize { common += ["--batch-size", "\(batchSize)"] }
        let single = common + ["--threads", "\(total)", "--grad-accum", "\(ranks)"]
        let distributed = common + ["--threads", "\(total / ranks)"] + (shardOptimizer ? ["--shard-optimizer"] : [])
        var alone: [Run] = []
        var parallel: [Run] = []
        for round in 0..<rounds {
            for isParallel in round % 2 == 0 ? [false, true] : [true, false] {
                let result = isParallel ? try launch(distributed, ranks: ranks) : try launch(single, ranks: 1)
                if isParallel { parallel.append(result) } else { alone.append(result) }
                Terminal.notice(String(
                    format: "round %d %@: %.1f tokens/s%@", round + 1, isParallel ? "\(ranks) ranks" : "1 process", result.tokensPerSecond,
                    result.stable ? "" : " (machine unstable during this run)"))
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let (aloneSpeed, parallelSpeed) = (median(alone.map(\.tokensPerSecond)), median(parallel.map(\.tokensPerSecond)))
        let first = alone[0].object
        print("benchmark:   train \(preset), the same global batch per step: \(ranks) ranks × \(Terminal.counted(total / ranks, "thread")) (mpirun) against 1 process × \(Terminal.counted(total, "thread")) with --grad-accum \(ranks)\(shardOptimizer ? "; optimizer sharded" : "")")
        print("machine:     \(first["cpu"] as? String ?? "unknown CPU"); \(first["blas"] as? String ?? "")")
        print(String(
            format: "tokens/s:    1 process %.1f, %d ranks %.1f (medians of %d runs each) → %d ranks %.2f× 1 process",
            aloneSpeed, ranks, parallelSpeed, rounds, ranks, parallelSpeed / aloneSpeed))
        // The ranks' step, median by total: compute, MPI inside backward, waiting after it.
        let typical = parallel.sorted { $0.tokensPerSecond < $1.tokensPerSecond }[parallel.count / 2]
        let step = typical.milliseconds("ms_per_step")
        let (communication, wait) = (typical.milliseconds("communication_ms"), typical.milliseconds("wait_ms"))
        print(String(
            format: "rank step:   %.0f ms = compute %.0f + MPI calls inside backward %.1f + waiting for the exchange %.1f (forward %.0f, backward %.0f, optimizer %.0f)",
            step, step - communication - wait, communication, wait, typical.milliseconds("forward_ms"),
            typical.milliseconds("backward_ms"), typical.milliseconds("optimizer_ms")))
        let allReduce = typical.object["allreduce"] as? [String: Any]
        let exchange = typical.object["exchange"] as? [String: Any]
        let bytes = Double(allReduce?["bytes"] as? Int ?? 0)
        let seconds = allReduce?["seconds"] as? Double ?? .nan
        let exchangeSeconds = exchange?["seconds"] as? Double ?? .nan
        print(String(
            format: "exchange:    %@ of gradients through %@: %.3f s = %.2f GB/s; Open MPI's MPI_Allreduce of the same: %.3f s = %.2f GB/s (each alone, every rank ready, after the steps)",
            Terminal.bytes(bytes), exchange?["method"] as? String ?? "?", exchangeSeconds, bytes / exchangeSeconds / 1e9, seconds,
            bytes / seconds / 1e9))
        let unstable = (alone + parallel).filter { !$0.stable }.count
        if unstable > 0 { print("note:        \(unstable) of \(2 * rounds) runs saw the machine's ceilings drift; rerun before quoting") }
        projection(aloneRun: alone.sorted { $0.tokensPerSecond < $1.tokensPerSecond }[alone.count / 2], gradientBytes: bytes)
    }

    /// Machines like this one, each computing as the 1-process run did, joined by a link of 10 or 100
    /// Gbit/s: a ring all-reduce sends 2(N − 1)/N of the gradients over each link; the part of it longer
    /// than backward is added to the step.
    func projection(aloneRun: Run, gradientBytes: Double) {
        let compute = aloneRun.milliseconds("ms_per_step") / 1000
        let backward = aloneRun.milliseconds("backward_ms") / 1000
        let tokens = aloneRun.tokensPerSecond * compute
        print("projection:  (a model, not a measurement) machines like this one, each computing a step as the 1-process run did (\(String(format: "%.2f s, backward %.2f s", compute, backward))), a ring all-reduce of \(Terminal.bytes(gradientBytes)) at the link's full rate, either hidden behind backward where it fits (best case) or after it (worst case):")
        for machines in [8, 64] {
            for gigabits in [10.0, 100.0] {
                let exchange = 2 * Double(machines - 1) / Double(machines) * gradientBytes / (gigabits * 1e9 / 8)
                let hidden = compute + max(0, exchange - backward)
                let exposed = compute + exchange
                print(String(
                    format: "             %2d machines, %3.0f Gbit/s: all-reduce %.2f s per step → %.0f – %.0f tokens/s, scaling efficiency %.0f – %.0f%%",
                    machines, gigabits, exchange, Double(machines) * tokens / exposed, Double(machines) * tokens / hidden,
                    100 * compute / exposed, 100 * compute / hidden))
            }
        }
    }

    /// Runs `gpt arguments…` alone or under mpirun and reads rank 0's JSON line.
    func launch(_ arguments: [String], ranks: Int) throws -> Run {
        guard let executable = Bundle.main.executableURL else { throw ValidationError("cannot find the gpt executable") }
        let process = Process()
        if ranks == 1 {
            process.executableURL = executable
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let root = getuid() == 0 ? ["--allow-run-as-root"] : []
            process.arguments = [mpirun, "-np", "\(ranks)", "--bind-to", "none"] + root + [executable.path] + arguments
        }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix("{") }
        guard process.terminationStatus == 0, let line,
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        else {
            throw RuntimeError("\(ranks > 1 ? "\(mpirun) -np \(ranks) " : "")gpt \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus))")
        }
        return Run(object: object)
    }
}
