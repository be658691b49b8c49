import Dispatch

/// How many threads the compute kernels use, and the one helper that splits work.
///
/// Work is split into `threads` contiguous chunks, so for a given thread count the
/// partition — and therefore every floating-point reduction — is always the same.
public struct Parallelism: Sendable, Equatable {
    public let threads: Int

    public init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// All cores of this machine.
    public static var allCores: Parallelism {
        Parallelism(threads: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Calls `body(chunk, range)` for `threads` contiguous chunks of `0..<count`, in parallel.
    /// Chunks are never smaller than `minimumChunk` items (small jobs stay on one thread).
    @inline(__always)
    public func forEachChunk(
        of count: Int, minimumChunk: Int = 1, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let chunks = Swift.min(threads, Swift.max(1, count / Swift.max(1, minimumChunk)))
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                work.value(chunk, start..<end)
            }
        }
    }
}

/// Carries a value into `concurrentPerform`'s @Sendable closure. The kernels that use
/// `forEachChunk` write disjoint ranges, which is what makes this sound.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

import Foundation
