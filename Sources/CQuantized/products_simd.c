// The AVX2 and AVX-512 levels of the products in products.c: one body of AVX2 intrinsics, compiled
// for each level (without such a compiler, both levels run the baseline).
#include "quantized_common.h"
#include "kquants.h"
#include "gpt_levels.h"
#include "products.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define GPT_SIMD 1
#endif

// ---------------------------------------------------------------- AVX2 intrinsics (AVX2 and AVX-512 levels)

#ifdef GPT_SIMD
#define SIMD_BODY static inline __attribute__((always_inline, target("avx2,fma,f16c")))
/// How many rows ahead the integer kernels prefetch.
#ifndef PREFETCH_ROWS
#define PREFETCH_ROWS 2
#endif

SIMD_BODY float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Eight int32 sums of products of unsigned bytes `u` with signed bytes `s` (no overflow for |u| < 64).
SIMD_BODY __m256i dot_unsigned_signed(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

SIMD_BODY float half_scalar(const uint8_t *p) { return _cvtsh_ss(get_u16(p)); }

/// 32 nibbles: element j (low nibble of byte j) in byte j, element j + 16 (high nibble) in byte j + 16.
SIMD_BODY __m256i nibbles(const uint8_t *qs) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
}

/// 0x10 in byte k where bit k of `bits` is set (the fifth bits of Q5_0 and Q5_1).
SIMD_BODY __m256i fifth_bits(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/// The block's unsigned codes (0…15 or 0…31); Q8_0's signed bytes are handled apart.
SIMD_BODY __m256i unsigned_codes(int type, const uint8_t *block) {
    switch (type) {
    case GPT_TYPE_Q4_0: return nibbles(block + 2);
    case GPT_TYPE_Q5_0: return _mm256_or_si256(nibbles(block + 6), fifth_bits(get_u32(block + 2)));
    default: return _mm256_or_si256(nibbles(block + 8), fifth_bits(get_u32(block + 4)));  // Q5_1
    }
}

/// The block's weights as signed bytes q with w = d·q (Q8_0, Q4_0, Q5_0), or the unsigned codes
/// with w = d·q + m (Q5_1).
SIMD_BODY __m256i codes(int type, const uint8_t *block) {
    switch (type) {
    case GPT_TYPE_Q8_0: return _mm256_loadu_si256((const __m256i *)(block + 2));
    case GPT_TYPE_Q4_0: return _mm256_sub_epi8(nibbles(block + 2), _mm256_set1_epi8(8));
    case GPT_TYPE_Q5_0: return _mm256_sub_epi8(unsigned_codes(type, block), _mm256_set1_epi8(16));
    default: return unsigned_codes(type, block);
    }
}

/// Σ w·x over a block as eight float partial sums: signed × signed through |w| · (x with w's sign)
/// (ggml's way), or unsigned × signed for Q5_1.
SIMD_BODY __m256 block_dot(int type, __m256i w, __m256i x) {
    __m256i dot = type == GPT_TYPE_Q5_1 ? dot_unsigned_signed(w, x)
                                        : dot_unsigned_signed(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(dot);
}

/// Two rows at a time, so every activation block loaded serves both. `type` is a constant at each
/// call (see integer_rows_times_vector_simd), so every type gets its own loop.
SIMD_BODY void integer_rows_of_type(int type, float *y, const void *w, long row_bytes, long rows,
    long columns, gpt_q8_activations a) {
    const long size = gpt_type_block_bytes(type), blocks = columns / QK;
    const int has_minimum = type == GPT_TYPE_Q5_1;
    long r = 0;
    for (; r + 2 <= rows; r += 2) {
        const uint8_t *row0 = (const uint8_t *)w + r * row_bytes, *row1 = row0 + row_bytes;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        float minimum0 = 0, minimum1 = 0;
        for (long b = 0; b < blocks; b++) {
            const uint8_t *block0 = row0 + b * size, *block1 = row1 + b * size;
            // The next pair of rows, one block per row ahead of use: the weights stream once, so
            // the loads must not wait on memory.
            _mm_prefetch((const char *)(block0 + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
            _mm_prefetch((const char *)(block1 + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
            __m256i x = _mm256_loadu_si256((const __m256i *)(a.q + b * QK));
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_scalar(block0) * a.scale[b]), block_dot(type, codes(type, block0), x), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half_scalar(block1) * a.scale[b]), block_dot(type, codes(type, block1), x), acc1);
            if (has_minimum) {
                minimum0 += half_scalar(block0 + 2) * a.sum[b];
                minimum1 += half_scalar(block1 + 2) * a.sum[b];
            }
        }
        y[r] = horizontal_sum(acc0) + minimum0;
        y[r + 1] = horizontal_sum(acc1) + minimum1;
    }
    for (; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        float minimum = 0;
        for (long b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * size;
            __m256i x = _mm256_loadu_si256((const __m256i *)(a.q + b * QK));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(half_scalar(block) * a.scale[b]), block_dot(type, codes(type, block), x), acc);
            if (has_minimum) minimum += half_scalar(block + 2) * a.sum[b];
        }
        y[r] = horizontal_sum(acc) + minimum;
    }
}

/// The eight 6-bit scales (bytes 0–7 of *scales) and minimums (*minimums) of a Q4_K / Q5_K
/// super-block's 12 packed bytes, unpacked as 32-bit words.
SIMD_BODY void k_scales_and_minimums(const uint8_t *packed, __m256 *scales, __m256 *minimums) {
    uint32_t w0 = get_u32(packed), w1 = get_u32(packed + 4), w2 = get_u32(packed + 8);
    uint32_t s[2] = {w0 & 0x3f3f3f3fu, (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4)};
    uint32_t m[2] = {w1 & 0x3f3f3f3fu, ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4)};
    __m128i sv = _mm_loadl_epi64((const __m128i *)s), mv = _mm_loadl_epi64((const __m128i *)m);
    *scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sv));
    *minimums = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mv));
}

/// Lane `lane` of `v` in every lane.
SIMD_BODY __m256 broadcast_lane(__m256 v, int lane) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(lane)); }

/// One Q4_K / Q5_K super-block of one row: adds Σ factor_j · dot_j into *acc and dmin · Σ m_j · sum_j
/// into *offsets, where factor_j = d · scale_j · activation scale_j.
SIMD_BODY void k_superblock_with_minimum(int fifth, const uint8_t *block, const __m256i *x, __m256 xscale, __m256 xsum,
    __m256 *acc, __m256 *offsets) {
    const __m256i low_nibble = _mm256_set1_epi8(0x0f);
    __m256 scales, minimums;
    k_scales_and_minimums(block + 4, &scales, &minimums);
    __m256 factors = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(half_scalar(block)), scales), xscale);
    *offsets = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(half_scalar(block + 2)), minimums), xsum, *offsets);
    const uint8_t *qs = block + (fifth ? 48 : 16);
    const __m256i qh = fifth ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
        __m256i halves[2] = {_mm256_and_si256(raw, low_nibble), _mm256_and_si256(_mm256_srli_epi16(raw, 4), low_nibble)};
        for (int k = 0; k < 2; k++) {
            int sub = 2 * j + k;
            __m256i codes = halves[k];
            if (fifth) {
                __m256i bit = _mm256_and_si256(_mm256_srli_epi16(qh, sub), _mm256_set1_epi8(1));
                codes = _mm256_or_si256(codes, _mm256_slli_epi16(bit, 4));
            }
            __m256 dot = _mm256_cvtepi32_ps(dot_unsigned_signed(codes, x[sub]));
            *acc = _mm256_fmadd_ps(broadcast_lane(factors, sub), dot, *acc);
        }
    }
}

/// One Q6_K super-block of one row: adds Σ d · scale_k · activation scale · dot_k into *acc (two
/// sub-blocks of 16 per activation block: the low and high four lanes of its dot product). The codes
/// q + 32 go through the unsigned dot; `centre` holds 32 · the activations' sums per lane to take off.
SIMD_BODY void q6_k_superblock(const uint8_t *block, const __m256i *x, const __m256i *centre, __m256 xscale, __m256 *acc) {
    const __m256i low_nibble = _mm256_set1_epi8(0x0f);
    const int8_t *sc = (const int8_t *)(block + 192);
    __m256 d = _mm256_set1_ps(half_scalar(block + 208));
    for (int n = 0; n < 2; n++) {
        // Sub-blocks 8n … 8n+7, each with its activation block's scale (4n + k/2).
        __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(sc + 8 * n))));
        __m256 activation = _mm256_permutevar8x32_ps(xscale, _mm256_setr_epi32(4 * n, 4 * n, 4 * n + 1, 4 * n + 1, 4 * n + 2, 4 * n + 2, 4 * n + 3, 4 * n + 3));
        __m256 factors = _mm256_mul_ps(_mm256_mul_ps(d, scales), activation);
        __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + 64 * n));
        __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + 64 * n + 32));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * n));
        for (int g = 0; g < 4; g++) {
            __m256i low = (g & 1) ? ql1 : ql0;
            low = _mm256_and_si256(g >= 2 ? _mm256_srli_epi16(low, 4) : low, low_nibble);
            __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * g), _mm256_set1_epi8(3)), 4);
            __m256i codes = _mm256_or_si256(low, high);
            __m256i dot = _mm256_sub_epi32(dot_unsigned_signed(codes, x[4 * n + g]), centre[4 * n + g]);
            __m256 lanes = _mm256_permutevar8x32_ps(factors, _mm256_setr_epi32(2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1));
            *acc = _mm256_fmadd_ps(lanes, _mm256_cvtepi32_ps(dot), *acc);
        }
    }
}

/// Rows of K-quant super-blocks, two at a time (each activation super-block loaded serves both), the
/// rows two ahead prefetched. `type` is a constant at each call.
SIMD_BODY void k_rows_of_type(int type, float *y, const void *w, long row_bytes, long rows, long columns, gpt_q8_activations a) {
    const long size = gpt_type_block_bytes(type), superblocks = columns / QK_K;
    const int fifth = type == GPT_TYPE_Q5_K;
    for (long r = 0; r < rows; r += 2) {
        const int pair = r + 1 < rows;
        const uint8_t *row0 = (const uint8_t *)w + r * row_bytes, *row1 = pair ? row0 + row_bytes : row0;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), offsets0 = _mm256_setzero_ps(), offsets1 = _mm256_setzero_ps();
        for (long sb = 0; sb < superblocks; sb++) {
            const uint8_t *block0 = row0 + sb * size, *block1 = row1 + sb * size;
            for (long o = 0; o < size; o += 64) {
                _mm_prefetch((const char *)(block0 + o + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
                _mm_prefetch((const char *)(block1 + o + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
            }
            __m256i x[8];
            for (int j = 0; j < 8; j++) x[j] = _mm256_loadu_si256((const __m256i *)(a.q + (sb * 8 + j) * QK));
            __m256 xscale = _mm256_loadu_ps(a.scale + sb * 8);
            if (type == GPT_TYPE_Q6_K) {
                __m256i centre[8];
                for (int j = 0; j < 8; j++) centre[j] = _mm256_slli_epi32(dot_unsigned_signed(_mm256_set1_epi8(1), x[j]), 5);
                q6_k_superblock(block0, x, centre, xscale, &acc0);
                if (pair) q6_k_superblock(block1, x, centre, xscale, &acc1);
            } else {
                __m256 xsum = _mm256_loadu_ps(a.sum + sb * 8);
                k_superblock_with_minimum(fifth, block0, x, xscale, xsum, &acc0, &offsets0);
                if (pair) k_superblock_with_minimum(fifth, block1, x, xscale, xsum, &acc1, &offsets1);
            }
        }
        y[r] = horizontal_sum(_mm256_sub_ps(acc0, offsets0));
        if (pair) y[r + 1] = horizontal_sum(_mm256_sub_ps(acc1, offsets1));
    }
}

SIMD_BODY void integer_rows_times_vector_simd(int type, float *y, const void *w, long row_bytes, long rows,
    long columns, gpt_q8_activations a) {
    switch (type) {
    case GPT_TYPE_Q8_0: integer_rows_of_type(GPT_TYPE_Q8_0, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q4_0: integer_rows_of_type(GPT_TYPE_Q4_0, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q5_0: integer_rows_of_type(GPT_TYPE_Q5_0, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q5_1: integer_rows_of_type(GPT_TYPE_Q5_1, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q4_K: k_rows_of_type(GPT_TYPE_Q4_K, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q5_K: k_rows_of_type(GPT_TYPE_Q5_K, y, w, row_bytes, rows, columns, a); break;
    case GPT_TYPE_Q6_K: k_rows_of_type(GPT_TYPE_Q6_K, y, w, row_bytes, rows, columns, a); break;
    default: break;
    }
}

/// y[k·ldy + r] = weight row r · activation row k for k < count, the 32-element integer types: each
/// block's codes are decoded once for 4 activation rows at a time (the tile of weight rows stays in
/// cache for the next 4). Every (r, k) is summed exactly as
/// integer_rows_of_type sums one row (same products, same order), so a row's result never depends on
/// how many activation rows share the call.
SIMD_BODY void integer_rows_times_rows_of_type(int type, float *y, long ldy, const void *w, long row_bytes, long rows,
    long columns, const gpt_q8_activations *a, long count) {
    const long size = gpt_type_block_bytes(type), blocks = columns / QK;
    const int has_minimum = type == GPT_TYPE_Q5_1;
    long k0 = 0;
    for (; k0 + 4 <= count; k0 += 4) {
        const gpt_q8_activations *x = a + k0;
        for (long r = 0; r < rows; r++) {
            const uint8_t *row = (const uint8_t *)w + r * row_bytes;
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
            float minimum0 = 0, minimum1 = 0, minimum2 = 0, minimum3 = 0;
            for (long b = 0; b < blocks; b++) {
                const uint8_t *block = row + b * size;
                _mm_prefetch((const char *)(block + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
                __m256i wc = codes(type, block);
                float d = half_scalar(block);
                acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d * x[0].scale[b]), block_dot(type, wc, _mm256_loadu_si256((const __m256i *)(x[0].q + b * QK))), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d * x[1].scale[b]), block_dot(type, wc, _mm256_loadu_si256((const __m256i *)(x[1].q + b * QK))), acc1);
                acc2 = _mm256_fmadd_ps(_mm256_set1_ps(d * x[2].scale[b]), block_dot(type, wc, _mm256_loadu_si256((const __m256i *)(x[2].q + b * QK))), acc2);
                acc3 = _mm256_fmadd_ps(_mm256_set1_ps(d * x[3].scale[b]), block_dot(type, wc, _mm256_loadu_si256((const __m256i *)(x[3].q + b * QK))), acc3);
                if (has_minimum) {
                    float m = half_scalar(block + 2);
                    minimum0 += m * x[0].sum[b]; minimum1 += m * x[1].sum[b];
                    minimum2 += m * x[2].sum[b]; minimum3 += m * x[3].sum[b];
                }
            }
            y[k0 * ldy + r] = horizontal_sum(acc0) + minimum0;
            y[(k0 + 1) * ldy + r] = horizontal_sum(acc1) + minimum1;
            y[(k0 + 2) * ldy + r] = horizontal_sum(acc2) + minimum2;
            y[(k0 + 3) * ldy + r] = horizontal_sum(acc3) + minimum3;
        }
    }
    // The rest (and a single row): the one-row kernel over every weight row.
    for (; k0 < count; k0++) integer_rows_of_type(type, y + k0 * ldy, w, row_bytes, rows, columns, a[k0]);
}

SIMD_BODY void integer_rows_times_rows_simd(int type, float *y, long ldy, const void *w, long row_bytes, long rows,
    long columns, const gpt_q8_activations *a, long count) {
    switch (type) {
    case GPT_TYPE_Q8_0: integer_rows_times_rows_of_type(GPT_TYPE_Q8_0, y, ldy, w, row_bytes, rows, columns, a, count); break;
    case GPT_TYPE_Q4_0: integer_rows_times_rows_of_type(GPT_TYPE_Q4_0, y, ldy, w, row_bytes, rows, columns, a, count); break;
    case GPT_TYPE_Q5_0: integer_rows_times_rows_of_type(GPT_TYPE_Q5_0, y, ldy, w, row_bytes, rows, columns, a, count); break;
    case GPT_TYPE_Q5_1: integer_rows_times_rows_of_type(GPT_TYPE_Q5_1, y, ldy, w, row_bytes, rows, columns, a, count); break;
    default:
        for (long k = 0; k < count; k++) integer_rows_times_vector_simd(type, y + k * ldy, w, row_bytes, rows, columns, a[k]);
    }
}

/// Eight weights of a half-precision row as floats.
SIMD_BODY __m256 load_half8(int type, const uint8_t *p) {
    __m128i raw = _mm_loadu_si128((const __m128i *)p);
    if (type == GPT_TYPE_F16) return _mm256_cvtph_ps(raw);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}

SIMD_BODY void half_rows_times_vector_simd(int type, float *y, const void *w, long row_bytes, long rows,
    long columns, const float *x) {
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        long j = 0;
        for (; j + 32 <= columns; j += 32) {
            _mm_prefetch((const char *)(row + 2 * j + PREFETCH_ROWS * row_bytes), _MM_HINT_T0);
            for (int k = 0; k < 4; k++)
                acc[k] = _mm256_fmadd_ps(load_half8(type, row + 2 * (j + 8 * k)), _mm256_loadu_ps(x + j + 8 * k), acc[k]);
        }
        for (; j + 8 <= columns; j += 8) acc[0] = _mm256_fmadd_ps(load_half8(type, row + 2 * j), _mm256_loadu_ps(x + j), acc[0]);
        float sum = horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
        for (; j < columns; j++) {
            uint16_t h = get_u16(row + 2 * j);
            sum += (type == GPT_TYPE_F16 ? float_from_half(h) : float_from_bfloat(h)) * x[j];
        }
        y[r] = sum;
    }
}

/// Four groups of eight signed bytes → floats scale·q + offset.
SIMD_BODY void store_block(float *out, __m256i q, __m256 scale, __m256 offset) {
    __m128i low = _mm256_castsi256_si128(q), high = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(out, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(low)), offset));
    _mm256_storeu_ps(out + 8, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(low, 8))), offset));
    _mm256_storeu_ps(out + 16, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(high)), offset));
    _mm256_storeu_ps(out + 24, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(high, 8))), offset));
}

SIMD_BODY void dequantize_rows_simd(int type, float *out, const void *w, long row_bytes, long rows, long columns) {
    if (type == GPT_TYPE_F16 || type == GPT_TYPE_BF16) {
        for (long r = 0; r < rows; r++) {
            const uint8_t *row = (const uint8_t *)w + r * row_bytes;
            float *o = out + r * columns;
            long j = 0;
            for (; j + 8 <= columns; j += 8) _mm256_storeu_ps(o + j, load_half8(type, row + 2 * j));
            for (; j < columns; j++) {
                uint16_t h = get_u16(row + 2 * j);
                o[j] = type == GPT_TYPE_F16 ? float_from_half(h) : float_from_bfloat(h);
            }
        }
        return;
    }
    long size = gpt_type_block_bytes(type);
    if (gpt_is_k_type(type)) {
        for (long r = 0; r < rows; r++)
            for (long b = 0; b < columns / QK_K; b++)
                dequantize_k_block(type, out + r * columns + b * QK_K, (const uint8_t *)w + r * row_bytes + b * size);
        return;
    }
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        for (long b = 0; b < columns / QK; b++) {
            const uint8_t *block = row + b * size;
            float *o = out + r * columns + b * QK;
            __m256 offset = type == GPT_TYPE_Q5_1 ? _mm256_set1_ps(half_scalar(block + 2)) : _mm256_setzero_ps();
            store_block(o, codes(type, block), _mm256_set1_ps(half_scalar(block)), offset);
        }
    }
}

#define SIMD_LEVEL(suffix, target) \
    target void integer_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, \
        long columns, gpt_q8_activations a) { integer_rows_times_vector_simd(type, y, w, row_bytes, rows, columns, a); } \
    target void half_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, \
        long columns, const float *x) { half_rows_times_vector_simd(type, y, w, row_bytes, rows, columns, x); } \
    target void dequantize_rows_##suffix(int type, float *out, const void *w, long row_bytes, long rows, \
        long columns) { dequantize_rows_simd(type, out, w, row_bytes, rows, columns); } \
    target void integer_rows_times_rows_##suffix(int type, float *y, long ldy, const void *w, long row_bytes, long rows, \
        long columns, const gpt_q8_activations *a, long count) { \
        integer_rows_times_rows_simd(type, y, ldy, w, row_bytes, rows, columns, a, count); }
#else
#define SIMD_LEVEL(suffix, target) \
    void integer_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, \
        long columns, gpt_q8_activations a) { integer_rows_times_vector_baseline(type, y, w, row_bytes, rows, columns, a); } \
    void half_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, \
        long columns, const float *x) { half_rows_times_vector_baseline(type, y, w, row_bytes, rows, columns, x); } \
    void dequantize_rows_##suffix(int type, float *out, const void *w, long row_bytes, long rows, \
        long columns) { dequantize_rows_baseline(type, out, w, row_bytes, rows, columns); } \
    void integer_rows_times_rows_##suffix(int type, float *y, long ldy, const void *w, long row_bytes, long rows, \
        long columns, const gpt_q8_activations *a, long count) { \
        integer_rows_times_rows_baseline(type, y, ldy, w, row_bytes, rows, columns, a, count); }
#endif

SIMD_LEVEL(avx2, GPT_TARGET_AVX2)
SIMD_LEVEL(avx512, GPT_TARGET_AVX512)
