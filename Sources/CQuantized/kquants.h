// The K-quant super-blocks (ggml-common.h) and their scalar reading, shared by formats.c,
// kquants.c and products.c.
#pragma once
#include "quantized_common.h"

/// Weights per super-block, and bytes per super-block: Q4_K = d, dmin (float16), 12 bytes of 6-bit
/// scales and minimums, 128 bytes of nibbles; Q5_K adds 32 bytes of fifth bits before the nibbles;
/// Q6_K = 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, then d.
#define QK_K 256
#define Q4_K_BYTES 144
#define Q5_K_BYTES 176
#define Q6_K_BYTES 210

void gpt_quantize_k_blocks(int type, uint8_t *out, const float *x, long blocks);

/// Sub-block j's 6-bit scale and minimum of a Q4_K or Q5_K super-block.
static inline void k_scale_and_minimum(const uint8_t *packed, int j, int *scale, int *minimum) {
    if (j < 4) {
        *scale = packed[j] & 63;
        *minimum = packed[j + 4] & 63;
    } else {
        *scale = (packed[j + 4] & 0xf) | ((packed[j - 4] >> 6) << 4);
        *minimum = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
    }
}

/// The code (0 … 2^bits − 1) of element e of a Q4_K / Q5_K super-block.
static inline int k_code(const uint8_t *block, int bits, int e) {
    int j = e / 64, l = e % 32, upper = (e % 64) >= 32;
    const uint8_t *qs = block + (bits == 5 ? 48 : 16);
    int code = upper ? qs[32 * j + l] >> 4 : qs[32 * j + l] & 0xf;
    if (bits == 5) code |= ((block[16 + l] >> (2 * j + upper)) & 1) << 4;
    return code;
}

/// The code (0 … 63, stored q + 32) of element e of a Q6_K super-block.
static inline int q6_k_code(const uint8_t *block, int e) {
    int n = e / 128, g = (e % 128) / 32, l = e % 32;
    const uint8_t *ql = block + 64 * n + (g & 1) * 32, *qh = block + 128 + 32 * n;
    int low = g >= 2 ? ql[l] >> 4 : ql[l] & 0xf;
    return low | (((qh[l] >> (2 * g)) & 3) << 4);
}

/// One super-block of a K type as floats.
static inline void dequantize_k_block(int type, float *out, const uint8_t *block) {
    if (type == GPT_TYPE_Q6_K) {
        float d = float_from_half(get_u16(block + 208));
        const int8_t *sc = (const int8_t *)(block + 192);
        for (int e = 0; e < QK_K; e++) out[e] = d * (float)sc[e / 16] * (float)(q6_k_code(block, e) - 32);
        return;
    }
    int bits = type == GPT_TYPE_Q5_K ? 5 : 4;
    float d = float_from_half(get_u16(block)), dmin = float_from_half(get_u16(block + 2));
    for (int j = 0; j < 8; j++) {
        int scale, minimum;
        k_scale_and_minimum(block + 4, j, &scale, &minimum);
        float a = d * (float)scale, b = dmin * (float)minimum;
        for (int i = 0; i < 32; i++) out[32 * j + i] = a * (float)k_code(block, bits, 32 * j + i) - b;
    }
}
