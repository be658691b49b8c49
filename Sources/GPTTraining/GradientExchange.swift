import Foundation
import GPTTensor

/// How one process takes part in data-parallel training: its communicator, and whether the
/// optimizer's state is sharded over the ranks (ZeRO-1).
public struct DataParallelism: Sendable {
    public let communicator: Communicator
    public let shardsOptimizer: Bool

    public init(communicator: Communicator, shardsOptimizer: Bool = false) {
        self.communicator = communicator
        self.shardsOptimizer = shardsOptimizer
    }

    /// One process, nothing shared.
    public static let single = DataParallelism(communicator: .single)
}

/// Averages a step's gradients over the ranks.
///
/// Ranks on one machine keep their gradients in memory they all share (an MPI-3 shared window):
/// after backward each rank sums its slice of everyone's gradients, in rank order, and writes the
/// sum into every rank's buffer (sharded, it keeps its slice's sum for its optimizer instead) —
/// the least memory traffic an all-reduce can have, and the same bits on every rank. Across
/// machines (or with `SWIFT_GPT_EXCHANGE=mpi`) the gradients go through MPI: unsharded, each
/// bucket is summed (all-reduce) as soon as backward has finished it, while backward goes on with
/// earlier layers; sharded, the sum is scattered (reduce-scatter).
final class GradientExchange {
    let communicator: Communicator
    /// The gradient buffer's length.
    let count: Int
    /// Each rank's slice of the parameters when the optimizer is sharded; one slice (all) otherwise.
    let slices: [Range<Int>]
    let sharded: Bool
    /// The gradients of this rank's slice, summed over ranks (sharded only).
    private lazy var sliceGradients = FloatBuffer(count: owned.count)
    private var pending: [Communicator.PendingSum] = []
    /// The lowest offset whose sum has been started in this step.
    private var startedFrom = 0
    /// Seconds spent inside MPI while backward ran (starting and polling), and waiting after it.
    private(set) var communicationSeconds = 0.0
    private(set) var waitSeconds = 0.0

    /// A bucket is started once this many finished gradients wait (16 MiB of floats: about a block of GPT-2-small).
    static let bucketSize = 1 << 22

    /// Every local rank's gradient buffer in shared memory (one machine), in local rank order; nil through MPI.
    private let shared: [UnsafeMutablePointer<Float>]?
    /// This rank's gradients: in shared memory, or nil (the session allocates its own).
    let storage: FloatBuffer?

    init(parallelism: DataParallelism, count: Int) throws {
        communicator = parallelism.communicator
        self.count = count
        sharded = parallelism.shardsOptimizer && communicator.isDistributed
        slices = sharded ? Communicator.slices(of: count, ranks: communicator.size) : [0..<count]
        let machines = try communicator.machines()
        let useMPI = ProcessInfo.processInfo.environment["SWIFT_GPT_EXCHANGE"] == "mpi"
        if communicator.isDistributed && machines.count == 1 && !useMPI {
            let blocks = try communicator.sharedFloats(count: count, localSize: machines.localSize)
            shared = blocks
            storage = FloatBuffer(over: blocks[machines.localRank], count: count)
        } else {
            shared = nil
            storage = nil
        }
    }

    /// How the gradients travel, for the user.
    var method: String {
        guard communicator.isDistributed else { return "none" }
        return shared != nil ? "shared memory" : "MPI all-reduce in buckets overlapping backward"
    }

    /// The parameters this rank's optimizer updates.
    var owned: Range<Int> { sharded ? slices[communicator.rank] : 0..<count }

    /// Whether gradients can be summed while backward runs (unsharded, several ranks, through MPI).
    var overlaps: Bool { communicator.isDistributed && !sharded && shared == nil }

    /// Before a step's last backward pass.
    func begin() {
        startedFrom = count
        pending = []
        communicationSeconds = 0
        waitSeconds = 0
    }

    /// Backward has finished the gradients from `offset` on: start summing them when a bucket's worth waits,
    /// and progress the sums already started.
    func gradientsFinal(from offset: Int, gradients: UnsafeMutablePointer<Float>) throws {
        guard overlaps else { return }
        let start = monotonicSeconds()
        defer { communicationSeconds += monotonicSeconds() - start }
        if startedFrom - offset >= Self.bucketSize || (offset == 0 && startedFrom > 0) {
            pending.append(try communicator.startSum(gradients + offset, count: startedFrom - offset))
            startedFrom = offset
        }
        pending = try pending.filter { try !$0.poll() }
    }

    /// After backward: finishes the sum and scales it to the mean over `microBatches` per rank × ranks.
    /// Returns this rank's part of the mean gradients (index 0 is parameter `owned.lowerBound`'s).
    func finish(gradients: FloatBuffer, microBatches: Int, context: KernelContext) throws -> UnsafeMutablePointer<Float> {
        let start = monotonicSeconds()
        defer { waitSeconds += monotonicSeconds() - start }
        let scale = 1 / Float(microBatches * communicator.size)
        if let shared { return try finishShared(shared, gradients: gradients, scale: scale, context: context) }
        if sharded {
            try communicator.sumScattering(UnsafePointer(gradients.pointer), into: sliceGradients.pointer, slices: slices)
            if scale != 1 { Kernels.scale(sliceGradients.pointer, count: owned.count, by: scale, context: context) }
            return sliceGradients.pointer
        }
        if communicator.isDistributed {
            if startedFrom > 0 { pending.append(try communicator.startSum(gradients.pointer, count: startedFrom)) }
            for sum in pending { try sum.wait() }
            pending = []
            startedFrom = 0
        }
        if scale != 1 { Kernels.scale(gradients.pointer, count: count, by: scale, context: context) }
        return gradients.pointer
    }

    /// The sum over the machine's ranks through their shared buffers: each rank adds up one slice of
    /// every buffer (rank 0's + rank 1's + …, the same order whoever computes it), scales it, and either
    /// writes it into every buffer (unsharded) or keeps it for its optimizer (sharded).
    private func finishShared(
        _ buffers: [UnsafeMutablePointer<Float>], gradients: FloatBuffer, scale: Float, context: KernelContext
    ) throws -> UnsafeMutablePointer<Float> {
        try communicator.synchronizeShared()  // every rank's backward is done
        let rank = communicator.rank
        let slice = sharded ? slices[rank] : Communicator.slices(of: count, ranks: buffers.count)[rank]
        let inputs = buffers.map { UnsafePointer($0 + slice.lowerBound) }
        let outputs = sharded ? [sliceGradients.pointer] : buffers.map { $0 + slice.lowerBound }
        context.parallelism.forEachChunk(of: slice.count, minimumChunk: 65_536) { _, range in
            Self.sum(inputs, scaledBy: scale, into: outputs, range: range)
        }
        try communicator.synchronizeShared()  // every slice written (and read) before anyone's next backward
        return sharded ? sliceGradients.pointer : gradients.pointer
    }

    /// outputs[j][i] = (inputs[0][i] + inputs[1][i] + …) · scale for i in `range`, a few thousand values
    /// at a time through a buffer that stays in cache: every input read once, every output written once.
    private static func sum(
        _ inputs: [UnsafePointer<Float>], scaledBy scale: Float, into outputs: [UnsafeMutablePointer<Float>], range: Range<Int>
    ) {
        let block = 2048
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { buffer in
            let total = buffer.baseAddress!
            for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                let n = min(block, range.upperBound - start)
                let first = inputs[0] + start
                for i in 0..<n { total[i] = first[i] }
                for input in inputs.dropFirst() {
                    let values = input + start
                    for i in 0..<n { total[i] += values[i] }
                }
                for i in 0..<n { total[i] *= scale }
                for output in outputs { (output + start).update(from: total, count: n) }
            }
        }
    }

    /// After the optimizer updated this rank's slice: every rank gets every slice.
    func shareUpdatedParameters(_ parameters: FloatBuffer) throws {
        guard sharded else { return }
        try communicator.gatherSlices(parameters.pointer, slices: slices)
    }
}
