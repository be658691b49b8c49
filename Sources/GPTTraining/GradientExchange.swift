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

/// Averages a step's gradients over the ranks. Unsharded, each bucket of the gradient buffer is
/// summed (all-reduce) as soon as backward has finished it, while backward goes on with earlier
/// layers; sharded, the sum is scattered (reduce-scatter) so that each rank keeps only its slice.
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

    init(parallelism: DataParallelism, count: Int) {
        communicator = parallelism.communicator
        self.count = count
        sharded = parallelism.shardsOptimizer && communicator.isDistributed
        slices = sharded ? Communicator.slices(of: count, ranks: communicator.size) : [0..<count]
    }

    /// The parameters this rank's optimizer updates.
    var owned: Range<Int> { sharded ? slices[communicator.rank] : 0..<count }

    /// Whether gradients can be summed while backward runs (unsharded, several ranks).
    var overlaps: Bool { communicator.isDistributed && !sharded }

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

    /// After the optimizer updated this rank's slice: every rank gets every slice.
    func shareUpdatedParameters(_ parameters: FloatBuffer) throws {
        guard sharded else { return }
        try communicator.gatherSlices(parameters.pointer, slices: slices)
    }
}
