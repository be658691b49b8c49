// ggml's block formats (ggml-common.h) and their reference conversions, written for clarity: these
// run once per weight when a model is quantized or dequantized on load, never per token.
#include "CQuantized.h"
#include "quantized_common.h"
#include "kquants.h"
#include <math.h>
#include <string.h>

long gpt_type_block_size(int type) {
    switch (type) {
    case GPT_TYPE_F32: case GPT_TYPE_F16: case GPT_TYPE_BF16: return 1;
    case GPT_TYPE_Q4_0: case GPT_TYPE_Q5_0: case GPT_TYPE_Q5_1: case GPT_TYPE_Q8_0: return QK;
    case GPT_TYPE_Q4_K: case GPT_TYPE_Q5_K: case GPT_TYPE_Q6_K: return QK_K;
    default: return 0;
    }
}

long gpt_type_block_bytes(int type) {
    switch (type) {
    case GPT_TYPE_F32: return 4;
    case GPT_TYPE_F16: case GPT_TYPE_BF16: return 2;
    case GPT_TYPE_Q4_0: return Q4_0_BYTES;
    case GPT_TYPE_Q5_0: return Q5_0_BYTES;
    case GPT_TYPE_Q5_1: return Q5_1_BYTES;
    case GPT_TYPE_Q8_0: return Q8_0_BYTES;
    case GPT_TYPE_Q4_K: return Q4_K_BYTES;
    case GPT_TYPE_Q5_K: return Q5_K_BYTES;
    case GPT_TYPE_Q6_K: return Q6_K_BYTES;
    default: return 0;
    }
}

/// The element of largest magnitude (the first such), with its sign: Q4_0 and Q5_0 scale by it so
/// that it lands exactly on the grid's most negative value.
static float signed_extreme(const float *x) {
    float largest = 0, extreme = 0;
    for (int j = 0; j < QK; j++) {
        if (largest < fabsf(x[j])) { largest = fabsf(x[j]); extreme = x[j]; }
    }
    return extreme;
}

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void quantize_q8_0(uint8_t *out, const float *x, long blocks) {
    for (long b = 0; b < blocks; b++, x += QK, out += Q8_0_BYTES) {
        float largest = 0;
        for (int j = 0; j < QK; j++) largest = fmaxf(largest, fabsf(x[j]));
        float d = largest / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        for (int j = 0; j < QK; j++) out[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

/// Q4_0 and Q5_0: symmetric grids of 2^bits levels, x ≈ d · (q − 2^(bits−1)).
static void quantize_symmetric(uint8_t *out, const float *x, long blocks, int bits) {
    const int levels = 1 << bits, half_levels = levels / 2;
    const float offset = (float)half_levels + 0.5f;  // one addition, as ggml rounds: (int)(x / d + 8.5)
    const long size = bits == 4 ? Q4_0_BYTES : Q5_0_BYTES;
    for (long b = 0; b < blocks; b++, x += QK, out += size) {
        float d = signed_extreme(x) / (float)-half_levels, id = d != 0 ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        uint8_t *qs = out + size - QK / 2;
        uint32_t high = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (int8_t)(x[j] * id + offset);
            int q1 = (int8_t)(x[j + QK / 2] * id + offset);
            if (q0 > levels - 1) q0 = levels - 1;
            if (q1 > levels - 1) q1 = levels - 1;
            qs[j] = (uint8_t)((q0 & 0xf) | ((q1 & 0xf) << 4));
            high |= (uint32_t)((q0 >> 4) & 1) << j;
            high |= (uint32_t)((q1 >> 4) & 1) << (j + QK / 2);
        }
        if (bits == 5) put_u32(out + 2, high);
    }
}

/// Q5_1: an asymmetric grid, x ≈ d · q + m with m the block's minimum.
static void quantize_q5_1(uint8_t *out, const float *x, long blocks) {
    for (long b = 0; b < blocks; b++, x += QK, out += Q5_1_BYTES) {
        float lowest = INFINITY, highest = -INFINITY;
        for (int j = 0; j < QK; j++) { lowest = fminf(lowest, x[j]); highest = fmaxf(highest, x[j]); }
        float d = (highest - lowest) / 31.0f, id = d != 0 ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        put_u16(out + 2, half_from_float(lowest));
        uint8_t *qs = out + 8;
        uint32_t high = 0;
        for (int j = 0; j < QK / 2; j++) {
            uint8_t q0 = (uint8_t)((x[j] - lowest) * id + 0.5f);
            uint8_t q1 = (uint8_t)((x[j + QK / 2] - lowest) * id + 0.5f);
            qs[j] = (uint8_t)((q0 & 0xf) | ((q1 & 0xf) << 4));
            high |= (uint32_t)((q0 >> 4) & 1) << j;
            high |= (uint32_t)((q1 >> 4) & 1) << (j + QK / 2);
        }
        put_u32(out + 4, high);
    }
}

void gpt_quantize_row(int type, void *destination, const float *x, long count) {
    uint8_t *out = destination;
    switch (type) {
    case GPT_TYPE_F32: memcpy(out, x, (size_t)count * 4); break;
    case GPT_TYPE_F16: for (long i = 0; i < count; i++) put_u16(out + 2 * i, half_from_float(x[i])); break;
    case GPT_TYPE_BF16: for (long i = 0; i < count; i++) put_u16(out + 2 * i, bfloat_from_float(x[i])); break;
    case GPT_TYPE_Q8_0: quantize_q8_0(out, x, count / QK); break;
    case GPT_TYPE_Q4_0: quantize_symmetric(out, x, count / QK, 4); break;
    case GPT_TYPE_Q5_0: quantize_symmetric(out, x, count / QK, 5); break;
    case GPT_TYPE_Q5_1: quantize_q5_1(out, x, count / QK); break;
    case GPT_TYPE_Q4_K: case GPT_TYPE_Q5_K: case GPT_TYPE_Q6_K: gpt_quantize_k_blocks(type, out, x, count / QK_K); break;
    default: break;
    }
}

void gpt_dequantize_row(int type, float *out, const void *blocks, long count) {
    const uint8_t *w = blocks;
    switch (type) {
    case GPT_TYPE_F32: memcpy(out, w, (size_t)count * 4); break;
    case GPT_TYPE_F16: for (long i = 0; i < count; i++) out[i] = float_from_half(get_u16(w + 2 * i)); break;
    case GPT_TYPE_BF16: for (long i = 0; i < count; i++) out[i] = float_from_bfloat(get_u16(w + 2 * i)); break;
    case GPT_TYPE_Q4_K: case GPT_TYPE_Q5_K: case GPT_TYPE_Q6_K:
        for (long b = 0; b < count / QK_K; b++) dequantize_k_block(type, out + b * QK_K, w + b * gpt_type_block_bytes(type));
        break;
    default: {
        long size = gpt_type_block_bytes(type);
        if (size == 0) break;
        for (long b = 0; b < count / QK; b++) dequantize_block_scalar(type, out + b * QK, w + b * size);
    }
    }
}
