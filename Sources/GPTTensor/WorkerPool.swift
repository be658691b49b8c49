import CKernels
import Foundation
import Synchronization

/// The process's worker threads for `Parallelism.forEachChunk`: one pool, shared by every
/// session, grown to the largest thread count asked for and never beyond it.
///
/// A training step runs a few hundred short parallel regions; waking threads through
/// a dispatch queue for each costs more than many of the regions themselves. Workers
/// here spin briefly between regions (then yield, then sleep), so a region starts in well
/// under a microsecond. Every thread of a region, the caller included, claims chunks until
/// none are left: on a CPU shared with other work, a worker that is not running leaves its
/// chunks to the caller instead of stalling the region. Sessions on other threads wait for the
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
        /// (region number) << 16 | (next unclaimed chunk): every thread of a region, the caller
        /// included, claims chunks from here, so a worker that the OS has not scheduled yet (a
        /// core busy with other work) leaves its chunk to whoever is free. Which thread runs a chunk
        /// changes nothing: the chunks and their boundaries are fixed by the thread count.
        private let claims = Atomic<Int>(0)
        /// Chunks of the current region not finished yet.
        private let pending = Atomic<Int>(0)
        // Written before `generation` is released, read after it is acquired.
        private var job: ((Int) -> Void)?
        private let sleepLock = NSCondition()

        /// Busy-wait rounds of the pause instruction (a few microseconds) before a waiting
        /// thread starts yielding its core, and yields before an idle worker sleeps.
        private static let spinRounds = 2_000
        private static let yieldRounds = 200

        func dispatch(chunks: Int, _ work: @escaping (Int) -> Void) {
            job = work
            pending.store(chunks, ordering: .relaxed)
            let region = (generation.load(ordering: .relaxed) >> 16) + 1
            claims.store(region << 16, ordering: .releasing)
            sleepLock.lock()
            generation.store(region << 16 | chunks, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
            while let chunk = claim(region: region, chunks: chunks) {
                work(chunk)
                pending.subtract(1, ordering: .releasing)
            }
            // Wait for chunks other threads still run: spin briefly, then yield the core (a
            // worker that was descheduled mid-chunk may be waiting for exactly this core).
            var rounds = 0
            while pending.load(ordering: .acquiring) > 0 {
                rounds += 1
                if rounds < Self.spinRounds { gpt_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }

        /// The next unclaimed chunk of `region`, or nil when none is left or the region is over.
        private func claim(region: Int, chunks: Int) -> Int? {
            var current = claims.load(ordering: .acquiring)
            while current >> 16 == region && current & 0xFFFF < chunks {
                let (exchanged, found) = claims.compareExchange(
                    expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                if exchanged { return current & 0xFFFF }
                current = found
            }
            return nil
        }

        /// Runs one claimed chunk. The job is read only while this thread holds a claim, so the
        /// region (and its job) cannot end meanwhile; its copy is released before returning.
        @inline(never)
        private func runJob(_ chunk: Int) {
            job?(chunk)
        }

        var currentGeneration: Int { generation.load(ordering: .acquiring) }

        /// Runs chunks of every region started after generation `seen`.
        func work(as index: Int, after seen: Int) {
            // A worker is always inside a region: what it starts itself runs serially.
            gpt_set_thread_in_region(1)
            var seen = seen
            while true {
                var rounds = 0
                while generation.load(ordering: .acquiring) == seen {
                    rounds += 1
                    if rounds < Self.spinRounds {
                        gpt_cpu_relax()
                    } else if rounds < Self.spinRounds + Self.yieldRounds {
                        sched_yield()  // let a caller that shares this core go on
                    } else {
                        sleepLock.lock()
                        while generation.load(ordering: .acquiring) == seen { sleepLock.wait() }
                        sleepLock.unlock()
                    }
                }
                seen = generation.load(ordering: .acquiring)
                // A late worker finds the region's claims closed and waits for the next one.
                while let chunk = claim(region: seen >> 16, chunks: seen & 0xFFFF) {
                    runJob(chunk)
                    pending.subtract(1, ordering: .releasing)
                }
            }
        }
    }
}
