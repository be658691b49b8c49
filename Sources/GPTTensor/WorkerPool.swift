import CKernels
import Foundation
import Synchronization

/// Persistent worker threads for `Parallelism.forEachChunk`.
///
/// A training step runs a few hundred short parallel regions; waking threads through
/// a dispatch queue for each costs more than many of the regions themselves. Workers
/// here spin briefly between regions (then sleep), so a region starts in well under a
/// microsecond. The caller runs chunk 0 itself.
final class WorkerPool: @unchecked Sendable {
    private let state = State()

    init(size: Int) {
        for index in 1..<size {
            let state = self.state
            let thread = Thread { state.work(as: index) }
            thread.name = "swift-gpt worker \(index)"
            thread.start()
        }
    }

    deinit {
        state.stop()
    }

    /// Runs `work(chunk)` for chunk in 0..<chunks (chunks ≤ size) and returns when all are done.
    /// A region started while another is running (nesting) runs serially.
    func run(chunks: Int, _ work: (Int) -> Void) {
        guard chunks > 1, state.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for chunk in 0..<chunks { work(chunk) }
            return
        }
        withoutActuallyEscaping(work) { work in
            state.dispatch(chunks: chunks, work)
        }
        state.busy.store(false, ordering: .releasing)
    }

    final class State: @unchecked Sendable {
        let busy = Atomic<Bool>(false)
        private let generation = Atomic<Int>(0)
        private let pending = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        // Written before `generation` is released, read after it is acquired.
        private var job: ((Int) -> Void)?
        private var activeChunks = 0
        private let sleepLock = NSCondition()

        func dispatch(chunks: Int, _ work: @escaping (Int) -> Void) {
            job = work
            activeChunks = chunks
            pending.store(chunks - 1, ordering: .relaxed)
            sleepLock.lock()
            generation.add(1, ordering: .releasing)
            sleepLock.broadcast()
            sleepLock.unlock()
            work(0)
            while pending.load(ordering: .acquiring) > 0 { gpt_cpu_relax() }
            job = nil
        }

        func work(as index: Int) {
            var seen = 0
            while true {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    if stopping.load(ordering: .relaxed) { return }
                    spins += 1
                    if spins < 50_000 {
                        gpt_cpu_relax()
                    } else {
                        sleepLock.lock()
                        while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed) {
                            sleepLock.wait()
                        }
                        sleepLock.unlock()
                    }
                }
                if stopping.load(ordering: .relaxed) { return }
                seen = generation.load(ordering: .acquiring)
                if index < activeChunks {
                    job?(index)
                    pending.subtract(1, ordering: .releasing)
                }
            }
        }

        func stop() {
            sleepLock.lock()
            stopping.store(true, ordering: .relaxed)
            sleepLock.broadcast()
            sleepLock.unlock()
        }
    }
}
