/// How many threads the compute kernels use, and the one helper that splits work.
///
/// Work is split into `threads` contiguous chunks, so for a given thread count the
/// partition — and therefore every floating-point reduction — is always the same.
/// Every value shares the process's one worker pool (`WorkerPool.shared`), so any number of
/// sessions run side by side without starting threads of their own.
public struct Parallelism: Sendable, Equatable {
    public let threads: Int

    public init(threads: Int) {
        self.threads = max(1, threads)
        _ = Self.singleThreadedBLAS
        if self.threads > 1 { WorkerPool.shared.reserve(threads: self.threads) }
    }

    /// Products are split into row blocks by `forEachChunk`, so the BLAS itself runs on one thread
    /// (set once per process, before the first parallel region).
    private static let singleThreadedBLAS: Void = BLAS.setThreads(1)

    /// How many chunks `forEachChunk(of: count, minimumChunk:)` makes.
    @inline(__always)
    public func chunkCount(of count: Int, minimumChunk: Int = 1) -> Int {
        Swift.min(threads, Swift.max(1, count / Swift.max(1, minimumChunk)))
    }

    /// Calls `body(chunk, range)` for `threads` contiguous chunks of `0..<count`, in parallel.
    /// Chunks are never smaller than `minimumChunk` items (small jobs stay on one thread).
    @inline(__always)
    public func forEachChunk(
        of count: Int, minimumChunk: Int = 1, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let chunks = chunkCount(of: count, minimumChunk: minimumChunk)
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        WorkerPool.shared.run(chunks: chunks) { chunk in
            body(chunk, (count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }
}
