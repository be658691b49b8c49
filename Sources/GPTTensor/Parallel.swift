/// How many threads the compute kernels use, and the one helper that splits work.
///
/// Work is split into `threads` contiguous chunks, so for a given thread count the
/// partition — and therefore every floating-point reduction — is always the same.
public struct Parallelism: Sendable, Equatable {
    public let threads: Int
    private let pool: WorkerPool?

    public init(threads: Int) {
        self.threads = max(1, threads)
        pool = self.threads > 1 ? WorkerPool(size: self.threads) : nil
    }

    public static func == (left: Parallelism, right: Parallelism) -> Bool {
        left.threads == right.threads
    }

    /// All cores of this machine.
    public static var allCores: Parallelism {
        Parallelism(threads: ProcessInfo.processInfo.activeProcessorCount)
    }

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
        pool!.run(chunks: chunks) { chunk in
            body(chunk, (count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }
}

import Foundation
