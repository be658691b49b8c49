import ArgumentParser
import Foundation
import GPTFormats
import GPTTraining

/// `--shard-optimizer`: the data-parallel option of gpt train | finetune | distill.
struct DistributedOptions: ParsableArguments {
    @Flag(help: "Under mpirun: each rank keeps the optimizer's state (AdamW's moments) for its 1/N slice of the parameters only (ZeRO-1).")
    var shardOptimizer = false
}

/// This process's place in a data-parallel run: Open MPI's world when `mpirun` started it with
/// several ranks, else one process alone. Under mpirun only rank 0 prints, logs and writes the
/// model, and an error on any rank ends every rank with one line naming it.
enum Ranks {
    nonisolated(unsafe) private(set) static var communicator: Communicator = .single

    /// Starts MPI when mpirun started this process with several ranks (a training command calls
    /// it first) and checks that every rank runs the same binary with the same arguments.
    @discardableResult
    static func start() throws -> Communicator {
        guard !communicator.isDistributed else { return communicator }
        let made = try Communicator.fromEnvironment()
        communicator = made
        guard made.isDistributed else { return made }
        Terminal.isQuiet = !made.isWriter
        try agree(on: [
            ("gpt binary", try executableHash()),
            ("command line", CommandLine.arguments.dropFirst().joined(separator: "\u{0}")),
        ])
        return made
    }

    /// Refuses to go on unless every rank has the same value of each named item (compared by SHA-256).
    static func agree(on items: [(name: String, value: String)]) throws {
        guard communicator.isDistributed else { return }
        let digests = items.map { item in Array(item.value.utf8).withUnsafeBytes { SHA256.hex($0) } }
        let all = try communicator.gather(Array(digests.joined().utf8))
        for (rank, bytes) in all.enumerated() where bytes != all[0] {
            let differing = items.indices.filter { bytes[($0 * 64)..<($0 * 64 + 64)] != all[0][($0 * 64)..<($0 * 64 + 64)] }
            throw RankMismatch(
                message: "rank \(rank)'s \(differing.map { items[$0].name }.joined(separator: " and ")) differ\(differing.count == 1 ? "s" : "") from rank 0's; every rank must run the same gpt binary with the same settings and data")
        }
    }

    /// The parallelism a training command gets: its communicator and `--shard-optimizer`.
    static func dataParallelism(shardsOptimizer: Bool) -> DataParallelism {
        DataParallelism(communicator: communicator, shardsOptimizer: shardsOptimizer)
    }

    /// Records the ranks in a run's description (for `--resume`).
    static func describe(_ run: inout RunDescription, shardsOptimizer: Bool) {
        run.ranks = communicator.isDistributed ? communicator.size : nil
        run.shardOptimizer = shardsOptimizer && communicator.isDistributed
    }

    /// A resumed run's description, with the ranks it now runs on.
    static func describing(_ run: RunDescription) -> RunDescription {
        var run = run
        run.ranks = communicator.isDistributed ? communicator.size : nil
        return run
    }

    /// Runs `body` on rank 0 first and then, once it is done, on the other ranks (rank 0 builds a
    /// cache the others then read).
    static func rankZeroFirst<Value>(_ body: () throws -> Value) throws -> Value {
        guard communicator.isDistributed else { return try body() }
        if communicator.isWriter {
            let value = try body()
            try communicator.barrier()
            return value
        }
        try communicator.barrier()
        return try body()
    }

    /// Says why this rank failed and ends every rank. A mismatch every rank found alike is said once, by rank 0.
    static func fail(_ message: String, error: any Error) -> Never {
        if !(error is RankMismatch) || communicator.isWriter {
            Terminal.error("rank \(communicator.rank) of \(communicator.size): \(message)")
        }
        communicator.abort(code: 1)
        exit(1)
    }

    /// SHA-256 of the running executable.
    private static func executableHash() throws -> String {
        let path = FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
        let file = try MappedBytes(contentsOf: URL(fileURLWithPath: path), missing: "the running gpt binary cannot be read")
        return SHA256.hex(UnsafeRawBufferPointer(start: file.base, count: file.count))
    }
}

/// Ranks that were started differently (found alike by every rank).
struct RankMismatch: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
