import CProbe
import Foundation

/// The machine's own limits, probed around timed work (`../shared/docs/measuring.md`): fp32
/// sgemm GFLOP/s at the workload's largest product and the memory read bandwidth.
public struct MachineCeilings: Sendable {
    public let sgemmGigaflops: Double
    public let bandwidthGigabytes: Double

    public init(sgemmGigaflops: Double, bandwidthGigabytes: Double) {
        self.sgemmGigaflops = sgemmGigaflops
        self.bandwidthGigabytes = bandwidthGigabytes
    }

    /// Probes both with `parallelism`'s threads; (rows, inner, columns) is the sgemm's shape.
    public static func probe(sgemmShape shape: (Int, Int, Int), parallelism: Parallelism) -> MachineCeilings {
        MachineCeilings(
            sgemmGigaflops: BLAS.measureGigaflops(rows: shape.0, inner: shape.1, columns: shape.2, threads: parallelism.threads),
            bandwidthGigabytes: measureReadBandwidth(parallelism: parallelism))
    }

    /// Read bandwidth in GB/s: every thread sums its share of a 512 MiB buffer (best of 5); the
    /// buffer is freed before returning.
    public static func measureReadBandwidth(parallelism: Parallelism) -> Double {
        let count = 128 * 1024 * 1024
        let buffer = FloatBuffer(count: count)
        for index in stride(from: 0, to: count, by: 1024) { buffer[index] = 1 }
        let probe = gpt_probe_for_level(Int32(KernelLevel.best.rawValue)).pointee
        var best = Double.infinity
        var sink: Float = 0
        for _ in 0..<5 {
            let start = monotonicSeconds()
            var partial = [Float](repeating: 0, count: parallelism.threads)
            partial.withUnsafeMutableBufferPointer { partial in
                parallelism.forEachChunk(of: count, minimumChunk: 1 << 20) { chunk, range in
                    partial[chunk] = probe.read_sum(buffer.pointer + range.lowerBound, range.count)
                }
            }
            best = min(best, monotonicSeconds() - start)
            sink += partial.reduce(0, +)
        }
        precondition(sink > 0)
        return Double(count * 4) / best / 1e9
    }
}

/// The ceilings probed before and after timed work. When they differ by more than
/// `tolerance`, the machine was not steady (other load, a virtual CPU changing speed) and the
/// figures in between are not to be published.
public struct CeilingProbes: Sendable {
    public static let tolerance = 0.15

    public let before: MachineCeilings
    public let after: MachineCeilings

    public init(before: MachineCeilings, after: MachineCeilings) {
        self.before = before
        self.after = after
    }

    /// The larger relative difference of the two ceilings, against the lower probe.
    public var drift: Double {
        func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(min(a, b), 1e-12) }
        return max(
            relative(before.sgemmGigaflops, after.sgemmGigaflops),
            relative(before.bandwidthGigabytes, after.bandwidthGigabytes))
    }

    public var isStable: Bool { drift <= Self.tolerance }

    /// The better probe of each ceiling: a share of it is never flattered by a slow probe.
    public var best: MachineCeilings {
        MachineCeilings(
            sgemmGigaflops: max(before.sgemmGigaflops, after.sgemmGigaflops),
            bandwidthGigabytes: max(before.bandwidthGigabytes, after.bandwidthGigabytes))
    }

    /// "sgemm 150.2 → 148.9 GFLOP/s, bandwidth 40.1 → 39.8 GB/s: steady (drift 1%)", or the
    /// "machine unstable" verdict.
    public var summary: String {
        let probes = String(
            format: "sgemm %.1f → %.1f GFLOP/s, bandwidth %.1f → %.1f GB/s", before.sgemmGigaflops, after.sgemmGigaflops,
            before.bandwidthGigabytes, after.bandwidthGigabytes)
        let percent = Int((drift * 100).rounded())
        return isStable
            ? "\(probes): steady (drift \(percent)%)"
            : "\(probes): machine unstable, the probes differ by \(percent)% (> 15%); do not publish these figures, run again on a quiet machine"
    }
}
