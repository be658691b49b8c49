// The one file that knows which BLAS the platform has: Accelerate on macOS,
// OpenBLAS (Debian's libopenblas-dev) on Linux.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CKernels
import Foundation

/// Row-major single-precision matrix products through the platform BLAS.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, all row-major.
    /// - Parameters: `rows` (M), `columns` (N), `inner` (K) are the sizes of op(A) (M×K) and op(B) (K×N).
    @inline(__always)
    public static func multiply(
        transposeA: Bool = false, transposeB: Bool = false,
        rows: Int, columns: Int, inner: Int,
        alpha: Float = 1,
        _ a: UnsafePointer<Float>, leadingA: Int,
        _ b: UnsafePointer<Float>, leadingB: Int,
        beta: Float = 0,
        _ c: UnsafeMutablePointer<Float>, leadingC: Int
    ) {
        #if canImport(Accelerate)
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(rows), Int32(columns), Int32(inner), alpha, a, Int32(leadingA), b, Int32(leadingB),
            beta, c, Int32(leadingC))
        #else
        if let level = ownProductsLevel {
            gpt_sgemm(
                Int32(level.rawValue), transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(rows), Int32(columns), Int32(inner),
                alpha, a, leadingA, b, leadingB, beta, c, leadingC)
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(rows), blasint(columns), blasint(inner), alpha, a, blasint(leadingA), b, blasint(leadingB),
            beta, c, blasint(leadingC))
        #endif
    }

    /// y = alpha · op(A) · x + beta · y for a row-major `rows`×`columns` matrix A.
    @inline(__always)
    public static func multiplyVector(
        transpose: Bool, rows: Int, columns: Int, alpha: Float = 1,
        _ a: UnsafePointer<Float>, leading: Int, _ x: UnsafePointer<Float>,
        beta: Float, _ y: UnsafeMutablePointer<Float>
    ) {
        #if canImport(Accelerate)
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), alpha, a,
            Int32(leading), x, 1, beta, y, 1)
        #else
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(rows), blasint(columns), alpha, a,
            blasint(leading), x, 1, beta, y, 1)
        #endif
    }

    /// Sets how many threads the BLAS itself uses (OpenBLAS only; Accelerate manages its own).
    public static func setThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(count))
        #endif
    }

    /// The level of swift-gpt's own sgemm (`gpt_sgemm`) when it replaces the BLAS's, nil when the BLAS
    /// multiplies. Chosen once: own kernels where OpenBLAS runs kernels below this CPU's vector level
    /// (an OpenBLAS older than the CPU model falls back to its SSE3 "Prescott" kernels), or as
    /// `SWIFT_GPT_SGEMM=own|blas` says.
    public static let ownProductsLevel: KernelLevel? = {
        #if canImport(Accelerate)
        return nil
        #else
        switch ProcessInfo.processInfo.environment["SWIFT_GPT_SGEMM"] {
        case "own": return KernelLevel.best
        case "blas": return nil
        default: break
        }
        guard KernelLevel.best >= .avx2, let core = openblas_get_corename().map({ String(cString: $0) }) else { return nil }
        let vectorCores = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator", "steamroller"]
        return vectorCores.contains(core.lowercased()) ? nil : KernelLevel.best
        #endif
    }()

    /// One line for the user when the products are swift-gpt's own (nil when the BLAS's).
    public static var productsNotice: String? {
        #if canImport(Accelerate)
        return nil
        #else
        guard let level = ownProductsLevel else { return nil }
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "fp32 products run on swift-gpt's own \(level) sgemm: OpenBLAS runs its \(core) kernels on this CPU"
        #endif
    }

    /// swift-gpt's own sgemm at `level` (clamped to what the CPU runs), whatever `ownProductsLevel` says:
    /// C = alpha · op(A) · op(B) + beta · C, row-major, on the calling thread.
    public static func ownMultiply(
        level: KernelLevel, transposeA: Bool = false, transposeB: Bool = false, rows: Int, columns: Int, inner: Int,
        alpha: Float = 1, _ a: UnsafePointer<Float>, leadingA: Int, _ b: UnsafePointer<Float>, leadingB: Int,
        beta: Float = 0, _ c: UnsafeMutablePointer<Float>, leadingC: Int
    ) {
        gpt_sgemm(
            Int32(level.rawValue), transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(rows), Int32(columns), Int32(inner), alpha,
            a, leadingA, b, leadingB, beta, c, leadingC)
    }

    /// Which BLAS and kernel set is in use, for benchmark reports.
    public static var description: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        if let level = ownProductsLevel { return "swift-gpt's \(level) sgemm (OpenBLAS: \(core) kernels)" }
        return "OpenBLAS (\(core) kernels)"
        #endif
    }

    /// A plain triple loop with Double accumulation, kept beside BLAS to test it against.
    public static func referenceMultiply(
        transposeA: Bool = false, transposeB: Bool = false,
        rows: Int, columns: Int, inner: Int,
        _ a: UnsafePointer<Float>, leadingA: Int,
        _ b: UnsafePointer<Float>, leadingB: Int,
        _ c: UnsafeMutablePointer<Float>, leadingC: Int
    ) {
        for i in 0..<rows {
            for j in 0..<columns {
                var sum = 0.0
                for k in 0..<inner {
                    let left = transposeA ? a[k * leadingA + i] : a[i * leadingA + k]
                    let right = transposeB ? b[j * leadingB + k] : b[k * leadingB + j]
                    sum += Double(left) * Double(right)
                }
                c[i * leadingC + j] = Float(sum)
            }
        }
    }
}

import Dispatch

extension BLAS {
    /// The BLAS's own best sgemm GFLOP/s for C (rows × columns) = A (rows × inner) · B (inner × columns),
    /// using `threads` BLAS threads (reset to one afterwards: our kernels split work themselves).
    public static func measureGigaflops(rows: Int, inner: Int, columns: Int, threads: Int) -> Double {
        setThreads(threads)
        defer { setThreads(1) }
        let a = FloatBuffer(count: rows * inner)
        let b = FloatBuffer(count: inner * columns)
        let c = FloatBuffer(count: rows * columns)
        for index in 0..<a.count { a[index] = Float(index % 7) * 0.1 }
        for index in 0..<b.count { b[index] = Float(index % 5) * 0.1 }
        var best = Double.infinity
        let deadline = monotonicSeconds() + 0.5
        var runs = 0
        // Own kernels run on the calling thread: the rows are split over our threads, as the products are.
        let parallelism = Parallelism(threads: ownProductsLevel == nil ? 1 : threads)
        while runs < 3 || (monotonicSeconds() < deadline && runs < 1000) {
            let start = monotonicSeconds()
            parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
                multiply(
                    rows: range.count, columns: columns, inner: inner, a.pointer + range.lowerBound * inner, leadingA: inner,
                    b.pointer, leadingB: columns, c.pointer + range.lowerBound * columns, leadingC: columns)
            }
            best = min(best, monotonicSeconds() - start)
            runs += 1
        }
        return 2 * Double(rows) * Double(inner) * Double(columns) / best / 1e9
    }
}
