// The products generation multiplies by, per instruction level: rows of quantized or half-precision
// weights times one activation vector (decode), and rows dequantized to floats (prefill multiplies
// those through the BLAS). The baseline is portable C (here); the AVX2 and AVX-512 levels share one
// body of AVX2 intrinsics, compiled for each (products_simd.c). Each function works on a range of rows so that Swift
// splits the rows across threads; a row's sum is always computed by one thread, in one order.
#include "quantized_common.h"
#include "kquants.h"
#include "gpt_levels.h"
#include "products.h"

// ---------------------------------------------------------------- activations (every level)

GPT_BODY void quantize_activations_body(gpt_q8_activations a, const float *x, long count) {
    for (long b = 0; b < count / QK; b++) {
        const float *v = x + b * QK;
        float largest = 0;
        for (int j = 0; j < QK; j++) largest = fmaxf(largest, fabsf(v[j]));
        float scale = largest / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            int q = (int)rintf(v[j] * inverse);  // to nearest even, as ggml's x86 activation quantizer
            a.q[b * QK + j] = (int8_t)q;
            sum += q;
        }
        a.scale[b] = scale;
        a.sum[b] = scale * (float)sum;
    }
}

GPT_LEVELS_VOID(quantize_activations, (gpt_q8_activations a, const float *x, long count), (a, x, count))

// ---------------------------------------------------------------- baseline

/// One block's integer dot product with the activations, and the block's offset term: the row's
/// value is Σ d·scale·dot + offset_factor · Σ (d or m)·sum.
static float row_dot_scalar(int type, const uint8_t *row, long blocks, gpt_q8_activations a) {
    long size = gpt_type_block_bytes(type);
    float total = 0;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *block = row + b * size;
        const int8_t *x = a.q + b * QK;
        float d = float_from_half(get_u16(block));
        int dot = 0;
        switch (type) {
        case GPT_TYPE_Q8_0:
            for (int j = 0; j < QK; j++) dot += (int8_t)block[2 + j] * x[j];
            total += d * a.scale[b] * (float)dot;
            break;
        case GPT_TYPE_Q4_0:
            for (int j = 0; j < QK / 2; j++) dot += (block[2 + j] & 0xf) * x[j] + (block[2 + j] >> 4) * x[j + QK / 2];
            total += d * (a.scale[b] * (float)dot - 8.0f * a.sum[b]);
            break;
        case GPT_TYPE_Q5_0: case GPT_TYPE_Q5_1: {
            int is_q5_1 = type == GPT_TYPE_Q5_1;
            uint32_t high = get_u32(block + (is_q5_1 ? 4 : 2));
            const uint8_t *qs = block + (is_q5_1 ? 8 : 6);
            for (int j = 0; j < QK / 2; j++) {
                int q0 = (qs[j] & 0xf) | (int)(((high >> j) & 1) << 4);
                int q1 = (qs[j] >> 4) | (int)(((high >> (j + QK / 2)) & 1) << 4);
                dot += q0 * x[j] + q1 * x[j + QK / 2];
            }
            if (is_q5_1) total += d * a.scale[b] * (float)dot + float_from_half(get_u16(block + 2)) * a.sum[b];
            else total += d * (a.scale[b] * (float)dot - 16.0f * a.sum[b]);
            break;
        }
        default: break;
        }
    }
    return total;
}

/// The same for a row of K-quant super-blocks: per activation block of 32, the integer dot products of
/// its sub-blocks (two of 16 for Q6_K), each scaled by its own sub-block scale.
static float row_dot_k_scalar(int type, const uint8_t *row, long superblocks, gpt_q8_activations a) {
    long size = gpt_type_block_bytes(type);
    float total = 0;
    for (long sb = 0; sb < superblocks; sb++) {
        const uint8_t *block = row + sb * size;
        for (int j = 0; j < 8; j++) {
            long b = sb * 8 + j;
            const int8_t *x = a.q + b * QK;
            if (type == GPT_TYPE_Q6_K) {
                const int8_t *sc = (const int8_t *)(block + 192);
                int first = 0, second = 0;
                for (int i = 0; i < 16; i++) first += (q6_k_code(block, 32 * j + i) - 32) * x[i];
                for (int i = 16; i < 32; i++) second += (q6_k_code(block, 32 * j + i) - 32) * x[i];
                total += float_from_half(get_u16(block + 208)) * a.scale[b] * (float)(sc[2 * j] * first + sc[2 * j + 1] * second);
            } else {
                int bits = type == GPT_TYPE_Q5_K ? 5 : 4, scale, minimum, dot = 0;
                k_scale_and_minimum(block + 4, j, &scale, &minimum);
                for (int i = 0; i < 32; i++) dot += k_code(block, bits, 32 * j + i) * x[i];
                total += float_from_half(get_u16(block)) * (float)scale * a.scale[b] * (float)dot
                    - float_from_half(get_u16(block + 2)) * (float)minimum * a.sum[b];
            }
        }
    }
    return total;
}

int gpt_is_k_type(int type) { return type == GPT_TYPE_Q4_K || type == GPT_TYPE_Q5_K || type == GPT_TYPE_Q6_K; }

void integer_rows_times_vector_baseline(int type, float *y, const void *w, long row_bytes, long rows,
    long columns, gpt_q8_activations a) {
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        y[r] = gpt_is_k_type(type) ? row_dot_k_scalar(type, row, columns / QK_K, a) : row_dot_scalar(type, row, columns / QK, a);
    }
}

void half_rows_times_vector_baseline(int type, float *y, const void *w, long row_bytes, long rows,
    long columns, const float *x) {
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        float sum = 0;
        for (long j = 0; j < columns; j++) {
            uint16_t h = get_u16(row + 2 * j);
            sum += (type == GPT_TYPE_F16 ? float_from_half(h) : float_from_bfloat(h)) * x[j];
        }
        y[r] = sum;
    }
}

void integer_rows_times_rows_baseline(int type, float *y, long ldy, const void *w, long row_bytes, long rows,
    long columns, const gpt_q8_activations *a, long count) {
    for (long k = 0; k < count; k++) integer_rows_times_vector_baseline(type, y + k * ldy, w, row_bytes, rows, columns, a[k]);
}

void dequantize_rows_baseline(int type, float *out, const void *w, long row_bytes, long rows, long columns) {
    for (long r = 0; r < rows; r++) gpt_dequantize_row(type, out + r * columns, (const uint8_t *)w + r * row_bytes, columns);
}

// ---------------------------------------------------------------- the table

#define TABLE(level) { \
    #level, quantize_activations_##level, integer_rows_times_vector_##level, half_rows_times_vector_##level, \
    dequantize_rows_##level, integer_rows_times_rows_##level }
static const gpt_quantized tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_quantized *gpt_quantized_for_level(int level) { return &tables[gpt_usable_level(level)]; }
