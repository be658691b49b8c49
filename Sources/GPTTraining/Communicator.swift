import CMPI
import Foundation

/// The processes that train one model together, ranks 0 … size − 1: Open MPI's world when the
/// process was started by `mpirun`, else one process alone (`.single`, where every collective
/// leaves its data as it is). All calls come from one thread, the one that made the communicator.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// The MPI library's own description (nil for one process).
    public let library: String?
    private let usesMPI: Bool

    public static let single = Communicator(rank: 0, size: 1, library: nil, usesMPI: false)

    private init(rank: Int, size: Int, library: String?, usesMPI: Bool) {
        self.rank = rank
        self.size = size
        self.library = library
        self.usesMPI = usesMPI
    }

    public var isDistributed: Bool { size > 1 }
    /// Rank 0 prints, logs and writes the model.
    public var isWriter: Bool { rank == 0 }

    /// The ranks per machine (Open MPI's local size), to share the cores out; 1 for one process.
    public static var localSize: Int {
        Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
    }

    /// Open MPI's world when `mpirun` started this process with more than one rank: loads libmpi
    /// (only then, so that no MPI is needed otherwise) and initialises it. Refuses another MPI's
    /// launcher (MPICH's `mpiexec`), whose handles Open MPI's ABI does not share.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> Communicator
    {
        guard let sizeText = environment["OMPI_COMM_WORLD_SIZE"] else {
            if environment["PMI_RANK"] != nil || environment["PMI_SIZE"] != nil || environment["MPI_LOCALNRANKS"] != nil {
                throw TrainingError(
                    "this process was started by an MPI launcher other than Open MPI's mpirun (MPICH's mpiexec sets PMI_RANK); swift-gpt supports Open MPI only — install openmpi-bin and launch with its mpirun")
            }
            return .single
        }
        guard let size = Int(sizeText), size >= 1 else {
            throw TrainingError("OMPI_COMM_WORLD_SIZE is \(sizeText), not a rank count; launch with Open MPI's mpirun")
        }
        if size == 1 { return .single }
        var message = [CChar](repeating: 0, count: 512)
        guard gpt_mpi_open(&message, message.count) == 0 else {
            throw TrainingError(
                "mpirun started \(size) ranks but Open MPI's library cannot be used: \(String(cString: message)); install Open MPI (Debian: apt-get install openmpi-bin) or set SWIFT_GPT_LIBMPI to its libmpi.so")
        }
        var provided: Int32 = 0
        try check(gpt_mpi_init(&provided), "MPI_Init_thread")
        var rank: Int32 = 0
        var worldSize: Int32 = 0
        try check(gpt_mpi_rank(&rank), "MPI_Comm_rank")
        try check(gpt_mpi_size(&worldSize), "MPI_Comm_size")
        var version = [CChar](repeating: 0, count: 1024)
        try check(gpt_mpi_library_version(&version, version.count), "MPI_Get_library_version")
        let library = String(cString: version).split(separator: ",").first.map(String.init) ?? "Open MPI"
        return Communicator(rank: Int(rank), size: Int(worldSize), library: library, usesMPI: true)
    }

    private static func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw TrainingError("\(call) failed with MPI error \(code)") }
    }

    /// Asks MPI to end every rank's process at once (after this rank has said why); does nothing
    /// for one process (the caller then exits itself).
    public func abort(code: Int32 = 1) {
        if usesMPI { gpt_mpi_abort(code) }
    }

    /// Finishes MPI (at the end of a run that used it).
    public func finish() {
        if usesMPI { _ = gpt_mpi_finalize() }
    }

    public func barrier() throws {
        if usesMPI { try Self.check(gpt_mpi_barrier(), "MPI_Barrier") }
    }

    /// Largest count one MPI call moves (its counts are 32-bit).
    static let chunk = 1 << 30

    /// Sums `count` floats at `data` over ranks, in place.
    public func sum(_ data: UnsafeMutablePointer<Float>, count: Int) throws {
        guard usesMPI else { return }
        for start in stride(from: 0, to: count, by: Self.chunk) {
            try Self.check(gpt_mpi_allreduce_floats(data + start, min(Self.chunk, count - start)), "MPI_Allreduce")
        }
    }

    /// Sums doubles over ranks.
    public func sum(_ values: [Double]) throws -> [Double] {
        guard usesMPI else { return values }
        var values = values
        try Self.check(gpt_mpi_allreduce_doubles(&values, values.count), "MPI_Allreduce")
        return values
    }

    /// The largest of each value over ranks.
    public func maximum(_ values: [Double]) throws -> [Double] {
        guard usesMPI else { return values }
        var values = values
        try Self.check(gpt_mpi_allreduce_max_doubles(&values, values.count), "MPI_Allreduce")
        return values
    }

    /// Every rank's `bytes` (the same length on each), in rank order.
    public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard usesMPI else { return [bytes] }
        // Lengths first, so that a rank with other bytes cannot make the exchange itself fail.
        let lengths = try maximum([Double(bytes.count)])
        var padded = bytes + [UInt8](repeating: 0, count: Int(lengths[0]) - bytes.count)
        var received = [UInt8](repeating: 0, count: padded.count * size)
        try Self.check(gpt_mpi_allgather_bytes(&padded, &received, Int32(padded.count)), "MPI_Allgather")
        return (0..<size).map { Array(received[($0 * padded.count)..<(($0 + 1) * padded.count)]) }
    }

    /// Sums `gradients` (`count` floats) over ranks and leaves this rank's slice (`slices[rank]`) in `slice`.
    public func sumScattering(
        _ gradients: UnsafePointer<Float>, into slice: UnsafeMutablePointer<Float>, slices: [Range<Int>]
    ) throws {
        guard usesMPI else {
            slice.update(from: gradients + slices[0].lowerBound, count: slices[0].count)
            return
        }
        let counts = slices.map { Int32($0.count) }
        try Self.check(gpt_mpi_reduce_scatter_floats(gradients, slice, counts), "MPI_Reduce_scatter")
    }

    /// Gives every rank each rank's slice of `data`, in place.
    public func gatherSlices(_ data: UnsafeMutablePointer<Float>, slices: [Range<Int>]) throws {
        guard usesMPI else { return }
        let counts = slices.map { Int32($0.count) }
        let offsets = slices.map { Int32($0.lowerBound) }
        try Self.check(gpt_mpi_allgather_floats(data, counts, offsets), "MPI_Allgatherv")
    }

    /// A sum over ranks started now and finished by `poll` or `wait`, so that the exchange runs
    /// while the caller computes (Open MPI progresses it inside MPI calls: poll between pieces of work).
    public final class PendingSum {
        private var requests: [UnsafeMutableRawPointer?]

        fileprivate init(requests: [UnsafeMutableRawPointer?]) {
            self.requests = requests
        }

        /// Progresses the exchange; true when it is complete.
        public func poll() throws -> Bool {
            var complete = true
            for index in requests.indices where requests[index] != nil {
                var done: Int32 = 0
                try Communicator.check(gpt_mpi_test(&requests[index], &done), "MPI_Test")
                if done == 0 { complete = false } else { requests[index] = nil }
            }
            return complete
        }

        public func wait() throws {
            for index in requests.indices where requests[index] != nil {
                try Communicator.check(gpt_mpi_wait(&requests[index]), "MPI_Wait")
                requests[index] = nil
            }
        }
    }

    /// Starts summing `count` floats at `data` over ranks, in place.
    public func startSum(_ data: UnsafeMutablePointer<Float>, count: Int) throws -> PendingSum {
        guard usesMPI else { return PendingSum(requests: []) }
        var requests: [UnsafeMutableRawPointer?] = []
        for start in stride(from: 0, to: count, by: Self.chunk) {
            var request: UnsafeMutableRawPointer?
            try Self.check(gpt_mpi_iallreduce_floats(data + start, min(Self.chunk, count - start), &request), "MPI_Iallreduce")
            requests.append(request)
        }
        return PendingSum(requests: requests)
    }

    /// This rank's place among the ranks of its machine, and the number of machines.
    public struct Machines: Sendable {
        public let localRank: Int
        public let localSize: Int
        public let count: Int
    }

    /// Groups the ranks by machine (MPI's shared-memory split).
    public func machines() throws -> Machines {
        guard usesMPI else { return Machines(localRank: 0, localSize: 1, count: 1) }
        var (localRank, localSize, machines): (Int32, Int32, Int32) = (0, 0, 0)
        try Self.check(gpt_mpi_split_machines(&localRank, &localSize, &machines), "MPI_Comm_split_type")
        return Machines(localRank: Int(localRank), localSize: Int(localSize), count: Int(machines))
    }

    /// `count` floats for this rank in memory every rank of this machine can read and write (once per
    /// process); returns each local rank's block, in local rank order.
    public func sharedFloats(count: Int, localSize: Int) throws -> [UnsafeMutablePointer<Float>] {
        var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: localSize)
        try Self.check(gpt_mpi_shared_allocate(count * 4, &pointers), "MPI_Win_allocate_shared")
        return try pointers.map {
            guard let pointer = $0 else { throw TrainingError("MPI_Win_shared_query returned no memory") }
            return pointer.bindMemory(to: Float.self, capacity: count)
        }
    }

    /// Makes every local rank's writes to the shared memory visible to all (a barrier of this machine's ranks).
    public func synchronizeShared() throws {
        try Self.check(gpt_mpi_shared_synchronize(), "MPI_Win_sync")
    }

    /// `count` items cut into `size` contiguous slices (multiples of 16 where possible), rank order.
    public static func slices(of count: Int, ranks: Int) -> [Range<Int>] {
        let step = (count + ranks - 1) / ranks
        let aligned = (step + 15) / 16 * 16
        return (0..<ranks).map { rank in min(count, rank * aligned)..<min(count, (rank + 1) * aligned) }
    }
}
