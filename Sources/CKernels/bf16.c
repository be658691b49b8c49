// bf16 matrix products with fp32 accumulation (AVX512-BF16's vdpbf16ps): C (M×N) (+)= A (M×K) · B (K×N),
// where A and B are fp32 rounded to bf16 (nearest, ties to even) and every product of a pair is summed
// in fp32. Mixed-precision training multiplies through these; everything else stays fp32.
//
// B is packed once (a weight: once per optimizer step) into panels of 32 columns: for each pair of
// inner indices (k, k + 1), 32 columns × 2 bf16 — two zmm registers whose 32-bit lane j holds
// (B[k][j], B[k+1][j]), the pair vdpbf16ps multiplies with a broadcast (A[i][k], A[i][k+1]). A is
// rounded and packed per call, a block of MC rows × KC inner indices at a time, into panels of 8 rows
// laid out pair-major (8 pairs per inner pair). The micro-kernel keeps 8 × 32 sums in 16 registers.
//
// Each output element is summed in one order (inner pairs in order, blocks of KC in order), whatever
// the number of rows or how the caller splits them over threads.
#include "kernels_common.h"

#define MR 8
#define NR 32
#define KC 512 /* inner indices per block (even) */
#define MC 128 /* rows per block (a multiple of MR) */

static inline uint16_t round_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

void gpt_bf16_round(const float *input, uint16_t *output, long count) {
    for (long i = 0; i < count; i++) output[i] = round_bf16(input[i]);
}

long gpt_bf16_packed_count(int inner, int columns) {
    long pairs = (inner + 1) / 2;
    long panels = (columns + NR - 1) / NR;
    return panels * pairs * 2 * NR;
}

long gpt_bf16_scratch_count(void) { return (long)MC * KC; }

/// B[k][n] = transposed ? b[n·ldb + k] : b[k·ldb + n], for n in [0, columns): panel by panel, zero-padded.
static void pack_b_scalar(int inner, int columns, const float *b, long ldb, int transposed, uint16_t *packed) {
    long pairs = (inner + 1) / 2;
    for (int n0 = 0; n0 < columns; n0 += NR) {
        uint16_t *panel = packed + (long)(n0 / NR) * pairs * 2 * NR;
        int width = columns - n0 < NR ? columns - n0 : NR;
        for (long p = 0; p < pairs; p++) {
            uint16_t *row = panel + p * 2 * NR;
            for (int j = 0; j < NR; j++) {
                for (int h = 0; h < 2; h++) {
                    long k = 2 * p + h;
                    float value = 0;
                    if (j < width && k < inner)
                        value = transposed ? b[(long)(n0 + j) * ldb + k] : b[k * ldb + n0 + j];
                    row[2 * j + h] = round_bf16(value);
                }
            }
        }
    }
}


#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define GPT_TARGET_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma,f16c")))

int gpt_bf16_supported(void) {
    __builtin_cpu_init();
    return gpt_supported_level() >= GPT_LEVEL_AVX512 && __builtin_cpu_supports("avx512bf16");
}

/// B[k][n] = transposed ? b[n·ldb + k] : b[k·ldb + n], for n in [0, columns): panel by panel, zero-padded.
/// A row-major B (an activation, packed per call) goes 16 columns of a pair of rows at a time.
GPT_TARGET_BF16 void gpt_bf16_pack(int inner, int columns, const float *b, long ldb, int transposed, uint16_t *packed) {
    long pairs = inner / 2;
    if (inner % 2) {
        pack_b_scalar(inner, columns, b, ldb, transposed, packed);
        return;
    }
    if (transposed) {
        // Column n of B is row n of the source: 16 of its pairs at a time, scattered 32 words apart.
        const __m512i stride = _mm512_mullo_epi32(
            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(NR));
        for (int n0 = 0; n0 < columns; n0 += NR) {
            uint32_t *panel = (uint32_t *)(packed + (long)(n0 / NR) * pairs * 2 * NR);
            for (int j = 0; j < NR; j++) {
                const float *column = n0 + j < columns ? b + (long)(n0 + j) * ldb : NULL;
                long p = 0;
                for (; column && p + 16 <= pairs; p += 16) {
                    __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(column + 2 * p + 16), _mm512_loadu_ps(column + 2 * p));
                    _mm512_i32scatter_epi32(panel + p * NR + j, stride, (__m512i)both, 4);
                }
                for (; p < pairs; p++) {
                    uint32_t low = column ? round_bf16(column[2 * p]) : 0, high = column ? round_bf16(column[2 * p + 1]) : 0;
                    panel[p * NR + j] = low | high << 16;
                }
            }
        }
        return;
    }
    for (int n0 = 0; n0 < columns; n0 += NR) {
        uint32_t *panel = (uint32_t *)(packed + (long)(n0 / NR) * pairs * 2 * NR);
        int width = columns - n0 < NR ? columns - n0 : NR;
        for (long p = 0; p < pairs; p++) {
            const float *even = b + 2 * p * ldb + n0, *odd = even + ldb;
            for (int h = 0; h < NR; h += 16) {
                int count = width - h < 0 ? 0 : width - h < 16 ? width - h : 16;
                __mmask16 mask = count == 16 ? 0xffff : (__mmask16)((1u << count) - 1);
                __m512i e = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, even + h)));
                __m512i o = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, odd + h)));
                _mm512_storeu_si512(panel + p * NR + h, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
            }
        }
    }
}

/// Packs A[i0 .. i0 + rows)[k0 .. k0 + depth) (depth even, or the matrix's last block) as panels of MR
/// rows: for each inner pair, MR 32-bit words (A[i][k], A[i][k+1]); rows past `rows` are zero.
GPT_TARGET_BF16 static void pack_a(const float *a, long lda, int transposed, int rows, int depth, uint32_t *out) {
    int pairs = (depth + 1) / 2;
    for (int i0 = 0; i0 < rows; i0 += MR) {
        uint32_t *panel = out + (long)i0 * pairs;
        int height = rows - i0 < MR ? rows - i0 : MR;
        if (transposed) {
            // A[i][k] = a[k·lda + i]: rows k and k + 1 of the source give MR pairs each.
            for (int p = 0; p < pairs; p++) {
                const float *even = a + (long)(2 * p) * lda + i0;
                const float *odd = 2 * p + 1 < depth ? even + lda : NULL;
                uint32_t *words = panel + (long)p * MR;
                if (height == MR && odd) {
                    __m128i e = (__m128i)_mm256_cvtneps_pbh(_mm256_loadu_ps(even));
                    __m128i o = (__m128i)_mm256_cvtneps_pbh(_mm256_loadu_ps(odd));
                    _mm_storeu_si128((__m128i *)words, _mm_unpacklo_epi16(e, o));
                    _mm_storeu_si128((__m128i *)(words + 4), _mm_unpackhi_epi16(e, o));
                    continue;
                }
                for (int r = 0; r < MR; r++) {
                    uint32_t low = r < height ? round_bf16(even[r]) : 0;
                    uint32_t high = r < height && odd ? round_bf16(odd[r]) : 0;
                    words[r] = low | high << 16;
                }
            }
        } else {
            // A[i][k] = a[i·lda + k]: each row's contiguous pairs, scattered MR words apart.
            for (int r = 0; r < MR; r++) {
                const float *row = a + (long)(i0 + r) * lda;
                int p = 0;
                if (r < height) {
                    const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                              _mm512_set1_epi32(MR));
                    for (; 2 * p + 32 <= depth; p += 16) {
                        __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 2 * p + 16), _mm512_loadu_ps(row + 2 * p));
                        _mm512_i32scatter_epi32(panel + (long)p * MR + r, stride, (__m512i)both, 4);
                    }
                }
                for (; p < pairs; p++) {
                    uint32_t low = r < height ? round_bf16(row[2 * p]) : 0;
                    uint32_t high = r < height && 2 * p + 1 < depth ? round_bf16(row[2 * p + 1]) : 0;
                    panel[(long)p * MR + r] = low | high << 16;
                }
            }
        }
    }
}

/// c[0 .. rows)[0 .. columns) (+)= the MR × NR tile of packed A and B over `pairs` inner pairs.
GPT_TARGET_BF16 static void kernel(int pairs, const uint32_t *a, const uint16_t *b, float *c, long ldc, int rows,
                                   int columns, int load) {
    __mmask16 m0 = columns >= 16 ? 0xffff : (__mmask16)((1u << columns) - 1);
    __mmask16 m1 = columns >= 32 ? 0xffff : columns > 16 ? (__mmask16)((1u << (columns - 16)) - 1) : 0;
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) {
        if (load && r < rows) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
        } else {
            acc[r][0] = _mm512_setzero_ps();
            acc[r][1] = _mm512_setzero_ps();
        }
    }
    for (int p = 0; p < pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (long)p * 2 * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (long)p * 2 * NR + 32);
        const uint32_t *ap = a + (long)p * MR;
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
}

GPT_TARGET_BF16 void gpt_bf16_multiply(int rows, int columns, int inner, const float *a, long lda, int transposedA,
                                       const uint16_t *packed, float *c, long ldc, int accumulate, uint16_t *scratch) {
    long allPairs = (inner + 1) / 2;
    uint32_t *block = (uint32_t *)scratch;
    for (int k0 = 0; k0 < inner; k0 += KC) {
        int depth = inner - k0 < KC ? inner - k0 : KC;
        int pairs = (depth + 1) / 2;
        int load = accumulate || k0 > 0;
        for (int i0 = 0; i0 < rows; i0 += MC) {
            int height = rows - i0 < MC ? rows - i0 : MC;
            const float *source = transposedA ? a + (long)k0 * lda + i0 : a + (long)i0 * lda + k0;
            pack_a(source, lda, transposedA, height, depth, block);
            for (int j0 = 0; j0 < columns; j0 += NR) {
                const uint16_t *panel = packed + (long)(j0 / NR) * allPairs * 2 * NR + (long)(k0 / 2) * 2 * NR;
                int width = columns - j0 < NR ? columns - j0 : NR;
                for (int r0 = 0; r0 < height; r0 += MR) {
                    int tile = height - r0 < MR ? height - r0 : MR;
                    kernel(pairs, block + (long)r0 * pairs, panel, c + (long)(i0 + r0) * ldc + j0, ldc, tile, width, load);
                }
            }
        }
    }
}

#else

int gpt_bf16_supported(void) { return 0; }

void gpt_bf16_pack(int inner, int columns, const float *b, long ldb, int transposed, uint16_t *packed) {
    pack_b_scalar(inner, columns, b, ldb, transposed, packed);
}

void gpt_bf16_multiply(int rows, int columns, int inner, const float *a, long lda, int transposedA,
                       const uint16_t *packed, float *c, long ldc, int accumulate, uint16_t *scratch) {
    (void)rows; (void)columns; (void)inner; (void)a; (void)lda; (void)transposedA;
    (void)packed; (void)c; (void)ldc; (void)accumulate; (void)scratch;
}

#endif
