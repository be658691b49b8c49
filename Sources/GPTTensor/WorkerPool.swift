import CKernels
import Foundation
import Synchronization

/// The process's worker threads for `Parallelism.forEachChunk`: one pool, shared by every
/// session, grown to the largest thread count asked for and never beyond it.
///
/// A training step runs a few hundred short parallel regions; waking threads through
/// a dispatch queue for each costs more than many of the regions themselves. Workers
/// here spin briefly between regions (then sleep), so a region starts in well under a
/// microsecond. The caller runs chunk 0 itself. Sessions on other threads wait for the
/// pool (one region at a time), so N concurrent sessions never run more than the pool's
/// threads plus their own callers; a region started inside a region runs serially.
final class WorkerPool: @unchecked Sendable {
    /// The one pool of this process.
    static let shared = WorkerPool()

    private let state = State()
    /// Held by the thread whose region is running; other threads wait for it.
    private let region = NSLock()
    /// Threads that can run a region's chunks: the workers plus the caller.
    private let size = Atomic<Int>(1)

    private init() {}

    /// Makes sure the pool can run `threads` chunks at once (the caller is one of them).
    func reserve(threads: Int) {
        // Inside a region the pool cannot grow (its lock is held); such a region runs serially anyway.
        guard gpt_thread_in_region() == 0, threads > size.load(ordering: .acquiring) else { return }
        region.lock()  // no region runs while workers are added
        let current = size.load(ordering: .relaxed)
        if threads > current {
            // A new worker waits for the region after the current one, even if it starts running late.
            let seen = state.currentGeneration
            for index in current..<threads {
                let state = self.state
                let thread = Thread { state.work(as: index, after: seen) }
                thread.name = "swift-gpt worker \(index)"
                thread.start()
            }
            size.store(threads, ordering: .releasing)
        }
        region.unlock()
    }

    /// Runs `work(chunk)` for chunk in 0..<chunks and returns when all are done (serially when
    /// nested, or when more chunks are asked for than threads were reserved).
    func run(chunks: Int, _ work: (Int) -> Void) {
        guard chunks > 1, gpt_thread_in_region() == 0, chunks <= size.load(ordering: .acquiring) else {
            for chunk in 0..<chunks { work(chunk) }
            return
        }
        region.lock()
        gpt_set_thread_in_region(1)
        withoutActuallyEscaping(work) { work in
            state.dispatch(chunks: chunks, work)
        }
        gpt_set_thread_in_region(0)
        region.unlock()
    }

    final class State: @unchecked Sendable {
        /// (regions started) << 16 | (chunks of the latest region): one value, so that a worker
        /// never pairs one region's number with another's chunk count.
        private let generation = Atomic<Int>(0)
        private let pending = Atomic<Int>(0)
        // Written before `generation` is released, read after it is acquired.
        private var job: ((Int) -> Void)?
        private let sleepLock = NSCondition()

        func dispatch(chunks: Int, _ work: @escaping (Int) -> Void) {
            job = work
            pending.store(chunks - 1, ordering: .relaxed)
            let next = ((generation.load(ordering: .relaxed) >> 16) + 1) << 16 | chunks
            sleepLock.lock()
            generation.store(next, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
            work(0)
            while pending.load(ordering: .acquiring) > 0 { gpt_cpu_relax() }
            job = nil
        }

        var currentGeneration: Int { generation.load(ordering: .acquiring) }

        /// Runs chunk `index` of every region started after generation `seen`.
        func work(as index: Int, after seen: Int) {
            // A worker is always inside a region: what it starts itself runs serially.
            gpt_set_thread_in_region(1)
            var seen = seen
            while true {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins < 50_000 {
                        gpt_cpu_relax()
                    } else {
                        sleepLock.lock()
                        while generation.load(ordering: .acquiring) == seen { sleepLock.wait() }
                        sleepLock.unlock()
                    }
                }
                seen = generation.load(ordering: .acquiring)
                if index < seen & 0xFFFF {
                    job?(index)
                    pending.subtract(1, ordering: .releasing)
                }
            }
        }
    }
}
