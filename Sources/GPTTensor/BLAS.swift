// The one file that knows which BLAS the platform has: Accelerate on macOS,
// OpenBLAS (Debian's libopenblas-dev) on Linux.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

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

    /// Which BLAS and kernel set is in use, for benchmark reports.
    public static var description: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
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
        while runs < 3 || (monotonicSeconds() < deadline && runs < 1000) {
            let start = monotonicSeconds()
            multiply(
                rows: rows, columns: columns, inner: inner, a.pointer, leadingA: inner, b.pointer, leadingB: columns,
                c.pointer, leadingC: columns)
            best = min(best, monotonicSeconds() - start)
            runs += 1
        }
        return 2 * Double(rows) * Double(inner) * Double(columns) / best / 1e9
    }
}
