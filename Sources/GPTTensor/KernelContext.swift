/// What every threaded kernel needs besides its operands: the thread count, and
/// per-thread scratch memory that grows once to the largest size asked for and is
/// then reused (so a training step allocates nothing after its first call).
public final class KernelContext: @unchecked Sendable {
    public let parallelism: Parallelism
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCount: Int

    public init(parallelism: Parallelism) {
        self.parallelism = parallelism
        scratchCount = 0
        scratch = .allocate(capacity: 1)
        // Kernels split their own work across threads; the BLAS itself runs single-threaded.
        BLAS.setThreads(1)
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
