import CKernels
import CQuantized

/// What every threaded kernel needs besides its operands: the thread count, the kernel tables of one
/// instruction level, and per-thread scratch memory that grows once to the largest size asked for and
/// is then reused (so a training step allocates nothing after its first call). One context is one
/// thread of work; sessions each own one.
public final class KernelContext: @unchecked Sendable {
    public let parallelism: Parallelism
    /// The instruction level the kernels run at (the CPU's best unless a lower one was asked for).
    public let level: KernelLevel
    /// Products give every row the same bits whatever other rows share the call (continuous
    /// batching: a request's text must not depend on its neighbours): dense products go through the
    /// batch-invariant kernels and quantized ones row by row through the decode kernels, instead of
    /// the BLAS, whose order of summation changes with the number of rows.
    public let isBatchInvariant: Bool
    let elementwise: gpt_elementwise
    let decode: gpt_decode
    let batched: gpt_batched
    let quantized: gpt_quantized
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCount: Int

    public init(parallelism: Parallelism, level: KernelLevel = .best, batchInvariant: Bool = false) {
        self.parallelism = parallelism
        self.level = level.usable
        isBatchInvariant = batchInvariant
        elementwise = self.level.elementwise
        decode = self.level.decode
        batched = self.level.batched
        quantized = self.level.quantized
        scratchCount = 0
        scratch = .allocate(capacity: 1)
    }

    deinit {
        scratch.deallocate()
    }

    /// Zeroed-on-growth scratch of at least `count` Floats, valid until the next call.
    public func scratch(count: Int) -> UnsafeMutablePointer<Float> {
        if count > scratchCount {
            scratch.deallocate()
            scratch = .allocate(capacity: count)
            scratch.initialize(repeating: 0, count: count)
            scratchCount = count
        }
        return scratch
    }
}
