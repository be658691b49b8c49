// fp32 matrix products for CPUs the BLAS does not know: C = alpha · op(A) · op(B) + beta · C, row-major.
//
// An OpenBLAS build older than the CPU model falls back to its SSE3 kernels (Debian's 0.3.21 on an Intel
// Xeon family 6 model 207 runs "Prescott" kernels at a quarter of the chip's fp32 rate). These products
// are picked at load time instead: GotoBLAS's blocking (B packed in panels of NR columns per block of KC
// inner indices and NC columns, A in panels of MR rows per block of MC rows) around a register
// micro-kernel per instruction level — 8 × 32 sums in 16 zmm registers (AVX-512), 6 × 16 in 12 ymm
// (AVX2). Each call runs on the calling thread (callers split products over threads themselves) with
// per-thread scratch that grows once and is reused.
#include <stdlib.h>
#include "kernels_common.h"

#define KC 256
#define MC 96
#define NC 512

/// Per-thread scratch: A block (MC × KC) then B block (KC × NC, padded to panels).
static __thread float *scratch;
static __thread long scratchCount;

static float *scratch_of(long count) {
    if (count > scratchCount) {
        free(scratch);
        scratch = aligned_alloc(64, (size_t)((count * 4 + 63) / 64 * 64));
        scratchCount = scratch ? count : 0;
    }
    return scratch;
}

#define ELEMENT(m, t, r, c, ld) ((t) ? (m)[(long)(c) * (ld) + (r)] : (m)[(long)(r) * (ld) + (c)])

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

/// dst[c·dstStride + r] = src[r·srcStride + c] for an 8 × 8 tile (AVX shuffles; called from the AVX2 and
/// AVX-512 paths only).
GPT_TARGET_AVX2 static void transpose8x8(const float *src, long srcStride, float *dst, long dstStride) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * srcStride);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    // r[i] (i < 4) holds column i of rows 0-3 in its low half and column i + 4 in its high half; r[i + 4]
    // the same for rows 4-7.
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * dstStride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * dstStride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}
#define HAS_TRANSPOSE 1
#else
#define HAS_TRANSPOSE 0
static void transpose8x8(const float *src, long srcStride, float *dst, long dstStride) {
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) dst[j * dstStride + i] = src[i * srcStride + j];
}
#endif

/// Packs op(B)[k0 .. k0 + depth)[j0 .. j0 + width) as panels of `nr` columns: per inner index, nr values.
GPT_BODY void pack_b(const float *b, long ldb, int transposed, int k0, int depth, int j0, int width, int nr, float *out,
                     int vector) {
    for (int j = 0; j < width; j += nr) {
        float *panel = out + (long)j * depth;
        int w = width - j < nr ? width - j : nr;
        if (transposed && vector && w == nr && nr % 8 == 0) {
            // op(B)[k][c] = b[c·ldb + k]: 8 × 8 tiles transposed in registers, the rest one by one.
            int body = depth & ~7;
            for (int c = 0; c < nr; c += 8) {
                const float *source = b + (long)(j0 + j + c) * ldb + k0;
                for (int k = 0; k < body; k += 8) transpose8x8(source + k, ldb, panel + (long)k * nr + c, nr);
                for (int k = body; k < depth; k++)
                    for (int x = 0; x < 8; x++) panel[(long)k * nr + c + x] = source[(long)x * ldb + k];
            }
            continue;
        }
        if (!transposed && w == nr) {
            for (int k = 0; k < depth; k++) {
                const float *source = b + (long)(k0 + k) * ldb + j0 + j;
                float *row = panel + (long)k * nr;
                for (int c = 0; c < nr; c++) row[c] = source[c];
            }
            continue;
        }
        for (int k = 0; k < depth; k++) {
            float *row = panel + (long)k * nr;
            for (int c = 0; c < w; c++) row[c] = ELEMENT(b, transposed, k0 + k, j0 + j + c, ldb);
            for (int c = w; c < nr; c++) row[c] = 0;
        }
    }
}

/// Packs alpha · op(A)[i0 .. i0 + height)[k0 .. k0 + depth) as panels of `mr` rows: per inner index, mr values.
GPT_BODY void pack_a(const float *a, long lda, int transposed, int i0, int height, int k0, int depth, int mr, float alpha,
                     float *out, int vector) {
    for (int i = 0; i < height; i += mr) {
        float *panel = out + (long)i * depth;
        int h = height - i < mr ? height - i : mr;
        if (transposed && h == mr) {
            // op(A)[r][k] = a[k·lda + r]: each inner index's mr values are contiguous.
            for (int k = 0; k < depth; k++) {
                const float *source = a + (long)(k0 + k) * lda + i0 + i;
                float *column = panel + (long)k * mr;
                for (int r = 0; r < mr; r++) column[r] = alpha * source[r];
            }
            continue;
        }
        if (!transposed && h == mr && mr == 8 && vector && alpha == 1) {
            // op(A)[r][k] = a[r·lda + k]: 8 × 8 tiles transposed in registers, the rest one by one.
            const float *source = a + (long)(i0 + i) * lda + k0;
            int body = depth & ~7;
            for (int k = 0; k < body; k += 8) transpose8x8(source + k, lda, panel + (long)k * 8, 8);
            for (int k = body; k < depth; k++)
                for (int r = 0; r < 8; r++) panel[(long)k * 8 + r] = source[(long)r * lda + k];
            continue;
        }
        if (!transposed && h == mr) {
            // Row by row: each row's inner values are contiguous, written mr apart.
            for (int r = 0; r < mr; r++) {
                const float *source = a + (long)(i0 + i + r) * lda + k0;
                for (int k = 0; k < depth; k++) panel[(long)k * mr + r] = alpha * source[k];
            }
            continue;
        }
        for (int k = 0; k < depth; k++) {
            float *column = panel + (long)k * mr;
            for (int r = 0; r < h; r++) column[r] = alpha * ELEMENT(a, transposed, i0 + i + r, k0 + k, lda);
            for (int r = h; r < mr; r++) column[r] = 0;
        }
    }
}

// ---------------------------------------------------------------- micro-kernels

#if defined(__x86_64__) && defined(__clang__)
/// c[0 .. rows)[0 .. columns) (+)= the 8 × 32 tile of packed A and B over `depth` inner indices.
GPT_TARGET_AVX512 static void kernel_avx512(int depth, const float *a, const float *b, float *c, long ldc, int rows,
                                            int columns, int load) {
    __mmask16 m0 = columns >= 16 ? 0xffff : (__mmask16)((1u << columns) - 1);
    __mmask16 m1 = columns >= 32 ? 0xffff : columns > 16 ? (__mmask16)((1u << (columns - 16)) - 1) : 0;
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) {
        int live = load && r < rows;
        acc[r][0] = live ? _mm512_maskz_loadu_ps(m0, c + r * ldc) : _mm512_setzero_ps();
        acc[r][1] = live ? _mm512_maskz_loadu_ps(m1, c + r * ldc + 16) : _mm512_setzero_ps();
    }
    for (int k = 0; k < depth; k++) {
        __m512 b0 = _mm512_loadu_ps(b + k * 32), b1 = _mm512_loadu_ps(b + k * 32 + 16);
        for (int r = 0; r < 8; r++) {
            __m512 av = _mm512_set1_ps(a[k * 8 + r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
}

/// c[0 .. rows)[0 .. columns) (+)= the 6 × 16 tile of packed A and B over `depth` inner indices.
GPT_TARGET_AVX2 static void kernel_avx2(int depth, const float *a, const float *b, float *c, long ldc, int rows,
                                        int columns, int load) {
    float tile[6 * 16];
    int edge = columns < 16;
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) {
        int live = load && r < rows;
        if (live && !edge) {
            acc[r][0] = _mm256_loadu_ps(c + r * ldc);
            acc[r][1] = _mm256_loadu_ps(c + r * ldc + 8);
        } else if (live) {
            for (int j = 0; j < 16; j++) tile[r * 16 + j] = j < columns ? c[r * ldc + j] : 0;
            acc[r][0] = _mm256_loadu_ps(tile + r * 16);
            acc[r][1] = _mm256_loadu_ps(tile + r * 16 + 8);
        } else {
            acc[r][0] = _mm256_setzero_ps();
            acc[r][1] = _mm256_setzero_ps();
        }
    }
    for (int k = 0; k < depth; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * 16), b1 = _mm256_loadu_ps(b + k * 16 + 8);
        for (int r = 0; r < 6; r++) {
            __m256 av = _mm256_broadcast_ss(a + k * 6 + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        if (!edge) {
            _mm256_storeu_ps(c + r * ldc, acc[r][0]);
            _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
        } else {
            _mm256_storeu_ps(tile + r * 16, acc[r][0]);
            _mm256_storeu_ps(tile + r * 16 + 8, acc[r][1]);
            for (int j = 0; j < columns; j++) c[r * ldc + j] = tile[r * 16 + j];
        }
    }
}
#endif

/// The plain build's tile: 4 × 8.
static void kernel_baseline(int depth, const float *a, const float *b, float *c, long ldc, int rows, int columns,
                            int load) {
    float acc[4][8];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 8; j++) acc[r][j] = load && r < rows && j < columns ? c[r * ldc + j] : 0;
    for (int k = 0; k < depth; k++)
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 8; j++) acc[r][j] += a[k * 4 + r] * b[k * 8 + j];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < columns; j++) c[r * ldc + j] = acc[r][j];
}

// ---------------------------------------------------------------- driver

typedef void (*micro_kernel)(int, const float *, const float *, float *, long, int, int, int);

GPT_BODY void blocked(int transposeA, int transposeB, int rows, int columns, int inner, float alpha, const float *a,
                      long lda, const float *b, long ldb, float beta, float *c, long ldc, int mr, int nr,
                      micro_kernel kernel, float *blockA, float *blockB, int vector) {
    for (int j0 = 0; j0 < columns; j0 += NC) {
        int width = columns - j0 < NC ? columns - j0 : NC;
        for (int k0 = 0; k0 < inner; k0 += KC) {
            int depth = inner - k0 < KC ? inner - k0 : KC;
            int load = beta != 0 || k0 > 0;
            pack_b(b, ldb, transposeB, k0, depth, j0, width, nr, blockB, vector);
            for (int i0 = 0; i0 < rows; i0 += MC) {
                int height = rows - i0 < MC ? rows - i0 : MC;
                pack_a(a, lda, transposeA, i0, height, k0, depth, mr, alpha, blockA, vector);
                for (int j = 0; j < width; j += nr) {
                    int w = width - j < nr ? width - j : nr;
                    for (int i = 0; i < height; i += mr) {
                        int h = height - i < mr ? height - i : mr;
                        kernel(depth, blockA + (long)i * depth, blockB + (long)j * depth,
                               c + (long)(i0 + i) * ldc + j0 + j, ldc, h, w, load);
                    }
                }
            }
        }
    }
}

#define BLOCKED_PARAMS                                                                                             \
    (int transposeA, int transposeB, int rows, int columns, int inner, float alpha, const float *a, long lda,     \
     const float *b, long ldb, float beta, float *c, long ldc, float *blockA, float *blockB)
#if defined(__x86_64__) && defined(__clang__)
static GPT_TARGET_AVX512 void blocked_avx512 BLOCKED_PARAMS {
    blocked(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, 8, 32, kernel_avx512,
            blockA, blockB, HAS_TRANSPOSE);
}
static GPT_TARGET_AVX2 void blocked_avx2 BLOCKED_PARAMS {
    blocked(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, 6, 16, kernel_avx2,
            blockA, blockB, HAS_TRANSPOSE);
}
#endif
static void blocked_baseline BLOCKED_PARAMS {
    blocked(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, 4, 8, kernel_baseline,
            blockA, blockB, 0);
}

void gpt_sgemm(int level, int transposeA, int transposeB, int rows, int columns, int inner, float alpha,
               const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    if (rows <= 0 || columns <= 0) return;
    level = gpt_usable_level(level);
    if (beta != 0 && beta != 1)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) c[(long)i * ldc + j] *= beta;
    if (inner <= 0 || alpha == 0) {
        if (beta == 0)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++) c[(long)i * ldc + j] = 0;
        return;
    }
    const long aCount = (long)(MC + 8) * KC;  // the largest tile: 8 rows, 32 columns
    float *blockA = scratch_of(aCount + (long)KC * (NC + 32));
    if (!blockA) {
        // No memory for the packing scratch (a few MiB): the same product, unpacked and slowly.
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) {
                float sum = 0;
                for (int k = 0; k < inner; k++) sum += ELEMENT(a, transposeA, i, k, lda) * ELEMENT(b, transposeB, k, j, ldb);
                c[(long)i * ldc + j] = alpha * sum + (beta != 0 ? c[(long)i * ldc + j] : 0);
            }
        return;
    }
    float *blockB = blockA + aCount;
#if defined(__x86_64__) && defined(__clang__)
    if (level == GPT_LEVEL_AVX512) {
        blocked_avx512(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, blockA, blockB);
        return;
    }
    if (level == GPT_LEVEL_AVX2) {
        blocked_avx2(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, blockA, blockB);
        return;
    }
#endif
    blocked_baseline(transposeA, transposeB, rows, columns, inner, alpha, a, lda, b, ldb, beta, c, ldc, blockA, blockB);
}
