import ArgumentParser
import Foundation
import GPTTensor

/// LoRA against full fine-tuning on the same model shape: each run in a process of its own (so the
/// peak memory is its own), the two alternated round by round, medians and their ratios.
struct BenchLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "LoRA fine-tuning against full fine-tuning: tokens/s and peak memory, alternated runs, ratio of medians.",
        discussion: """
            Runs `gpt bench train --json` with and without the LoRA flags, one process per run, alternating \
            which goes first each round. Peak memory is each process's peak resident size from building the \
            model to the end of its timed steps.
            """)

    @Option(help: "A bench train preset (default gpt2-small: the GPT-2-124M shape).") var preset = "gpt2-small"
    @Option(parsing: .unconditional, help: "Rounds (each runs both).") var rounds = 3
    @Option(parsing: .unconditional, help: "Timed steps per run.") var steps = 10
    @Option(parsing: .unconditional, help: "Untimed warmup steps per run.") var warmup = 2
    @Option(parsing: .unconditional, help: "Sequences per step.") var batchSize: Int?
    @OptionGroup(title: "LoRA") var lora: LoRAOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard rounds >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--rounds and --steps must be at least 1, --warmup 0 or more") }
    }

    struct Run {
        let tokensPerSecond: Double
        let peakMiB: Double
        let stable: Bool
        let cpu: String
        let trained: Int
    }

    func run() throws {
        var common = ["bench", "train", "--json", "--preset", preset, "--steps", "\(steps)", "--warmup", "\(warmup)",
                      "--threads", "\(threads.parallelism.threads)"]
        if let batchSize { common += ["--batch-size", "\(batchSize)"] }
        let adapter = lora.configuration(baseModel: preset)
        let loraFlags = ["--lora-rank", "\(adapter.rank)", "--lora-alpha", "\(adapter.alpha)",
                         "--lora-targets", adapter.targets.joined(separator: ",")]
        var full: [Run] = []
        var adapted: [Run] = []
        for round in 0..<rounds {
            for isLoRA in round % 2 == 0 ? [false, true] : [true, false] {
                let result = try child(common + (isLoRA ? loraFlags : []))
                if isLoRA { adapted.append(result) } else { full.append(result) }
                Terminal.notice(String(
                    format: "round %d %@: %.1f tokens/s, peak %.0f MiB%@", round + 1, isLoRA ? "LoRA" : "full", result.tokensPerSecond,
                    result.peakMiB, result.stable ? "" : " (machine unstable during this run)"))
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let (fullSpeed, loraSpeed) = (median(full.map(\.tokensPerSecond)), median(adapted.map(\.tokensPerSecond)))
        let (fullPeak, loraPeak) = (median(full.map(\.peakMiB)), median(adapted.map(\.peakMiB)))
        print("benchmark:   fine-tuning \(preset): full against LoRA rank \(adapter.rank), alpha \(adapter.alpha) on \(adapter.targets.joined(separator: ","))")
        print("machine:     \(full[0].cpu); \(Terminal.counted(threads.parallelism.threads, "thread")), \(BLAS.description)")
        print("trained:     full \(Terminal.grouped(Double(full[0].trained))) parameters, LoRA \(Terminal.grouped(Double(adapted[0].trained)))")
        print(String(format: "tokens/s:    full %.1f, LoRA %.1f (medians of %d runs each) → LoRA %.2f× full", fullSpeed, loraSpeed, rounds, loraSpeed / fullSpeed))
        print(String(format: "peak memory: full %.0f MiB, LoRA %.0f MiB → LoRA %.0f%% of full", fullPeak, loraPeak, 100 * loraPeak / fullPeak))
        let unstable = (full + adapted).filter { !$0.stable }.count
        if unstable > 0 { print("note:        \(unstable) of \(2 * rounds) runs saw the machine's ceilings drift; rerun before quoting") }
    }

    /// Runs `gpt arguments…` and reads its JSON line.
    func child(_ arguments: [String]) throws -> Run {
        guard let executable = Bundle.main.executableURL else { throw ValidationError("cannot find the gpt executable") }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let speed = object["tokens_per_second"] as? Double, let peak = object["peak_memory_mib"] as? Double
        else {
            throw RuntimeError("gpt \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus))")
        }
        let stable = ((object["ceilings"] as? [String: Any])?["stable"] as? Bool) ?? false
        return Run(
            tokensPerSecond: speed, peakMiB: peak, stable: stable, cpu: object["cpu"] as? String ?? "unknown CPU",
            trained: object["trained_parameters"] as? Int ?? 0)
    }
}
