// ggml's K-quant blocks (ggml-common.h): super-blocks of 256 weights with 6-bit (Q4_K, Q5_K) or
// 8-bit (Q6_K) scales per sub-block, the layouts bit for bit. The quantizers are swift-gpt's own: per
// sub-block a small search over grid placements, each followed by the weighted least-squares scale
// (and minimum) for the codes it gives; then the sub-block scales are quantized and the codes
// recomputed against the scales actually stored.
#include "quantized_common.h"
#include "kquants.h"

static void put_half(uint8_t *p, float value) { uint16_t h = half_from_float(value); p[0] = (uint8_t)h; p[1] = (uint8_t)(h >> 8); }

/// x rounded to the nearest integer, ties to even (|x| < 2^22): adding 1.5·2^23 leaves no fraction bits.
static int nearest(float x) {
    volatile float shifted = x + 12582912.0f;  // volatile: the addition must round, not be folded away
    return (int)(shifted - 12582912.0f);
}
static int clamp_int(int v, int low, int high) { return v < low ? low : v > high ? high : v; }

/// x ≈ s·q − m with q in [0, top] and m ≥ 0, minimising Σ w (x − (s·q − m))²: returns s, sets *m.
static float fit_scale_and_minimum(const float *x, const float *w, int n, int top, float *minimum) {
    float low = 0, high = 0;
    for (int i = 0; i < n; i++) { low = fminf(low, x[i]); high = fmaxf(high, x[i]); }
    *minimum = -low;
    if (high <= low) return 0;
    float best_scale = (high - low) / (float)top, best_error = INFINITY;
    for (int step = -10; step <= 10; step++) {
        float inverse = ((float)top + 0.1f * (float)step) / (high - low);
        double sw = 0, swq = 0, swqq = 0, swx = 0, swqx = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(nearest((x[i] - low) * inverse), 0, top);
            sw += w[i]; swq += w[i] * q; swqq += w[i] * q * q; swx += w[i] * x[i]; swqx += w[i] * q * x[i];
        }
        double det = sw * swqq - swq * swq;
        if (det <= 0) continue;
        double scale = (sw * swqx - swq * swx) / det, offset = (swqq * swx - swq * swqx) / det;
        if (offset > 0) { offset = 0; scale = swqq > 0 ? swqx / swqq : 0; }  // the stored minimum is ≥ 0
        if (scale <= 0) continue;
        double error = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(nearest((x[i] - (float)offset) / (float)scale), 0, top);
            double d = scale * q + offset - x[i];
            error += w[i] * d * d;
        }
        if (error < best_error) { best_error = (float)error; best_scale = (float)scale; *minimum = (float)-offset; }
    }
    return best_scale;
}

/// x ≈ s·q with q in [-32, 31], minimising Σ w (x − s·q)²: the extreme lands near the grid's end.
static float fit_symmetric_scale(const float *x, const float *w, int n) {
    float extreme = 0;
    for (int i = 0; i < n; i++) if (fabsf(x[i]) > fabsf(extreme)) extreme = x[i];
    if (extreme == 0) return 0;
    float best_scale = extreme / -32.0f, best_error = INFINITY;
    for (int step = -9; step <= 9; step++) {
        float inverse = -(32.0f + 0.1f * (float)step) / extreme;
        double swqq = 0, swqx = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(nearest(x[i] * inverse), -32, 31);
            swqq += w[i] * q * q; swqx += w[i] * q * x[i];
        }
        if (swqq <= 0) continue;
        double scale = swqx / swqq, error = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(nearest(x[i] / (float)scale), -32, 31);
            double d = scale * q - x[i];
            error += w[i] * d * d;
        }
        if (error < best_error) { best_error = (float)error; best_scale = (float)scale; }
    }
    return best_scale;
}

/// Importance of each weight in a sub-block: its magnitude plus the sub-block's RMS.
static void importance(const float *x, float *w, int n) {
    float sum = 0;
    for (int i = 0; i < n; i++) sum += x[i] * x[i];
    float rms = sqrtf(sum / (float)n);
    for (int i = 0; i < n; i++) w[i] = rms + fabsf(x[i]);
}

/// Q4_K (bits 4) and Q5_K (bits 5): eight sub-blocks of 32, value = d·sc·q − dmin·m.
static void quantize_k_with_minimum(uint8_t *out, const float *x, int bits) {
    const int top = (1 << bits) - 1;
    float scales[8], minimums[8], w[32];
    for (int j = 0; j < 8; j++) {
        importance(x + 32 * j, w, 32);
        scales[j] = fit_scale_and_minimum(x + 32 * j, w, 32, top, &minimums[j]);
    }
    float largest_scale = 0, largest_minimum = 0;
    for (int j = 0; j < 8; j++) { largest_scale = fmaxf(largest_scale, scales[j]); largest_minimum = fmaxf(largest_minimum, minimums[j]); }
    float d = largest_scale / 63.0f, dmin = largest_minimum / 63.0f;
    put_half(out, d);
    put_half(out + 2, dmin);
    d = float_from_half(half_from_float(d));
    dmin = float_from_half(half_from_float(dmin));
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)(d > 0 ? clamp_int(nearest(scales[j] / d), 0, 63) : 0);
        lm[j] = (uint8_t)(dmin > 0 ? clamp_int(nearest(minimums[j] / dmin), 0, 63) : 0);
    }
    uint8_t *packed = out + 4;
    memset(packed, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            packed[j] = ls[j];
            packed[j + 4] = lm[j];
        } else {
            packed[j + 4] = (uint8_t)((ls[j] & 0xf) | ((lm[j] & 0xf) << 4));
            packed[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            packed[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
    uint8_t codes[256];
    for (int j = 0; j < 8; j++) {
        float scale = d * ls[j], minimum = dmin * lm[j];
        for (int i = 0; i < 32; i++)
            codes[32 * j + i] = (uint8_t)(scale > 0 ? clamp_int(nearest((x[32 * j + i] + minimum) / scale), 0, top) : 0);
    }
    uint8_t *high = bits == 5 ? out + 16 : NULL;
    uint8_t *qs = out + (bits == 5 ? 48 : 16);
    if (high) memset(high, 0, 32);
    for (int j = 0; j < 4; j++) {
        for (int l = 0; l < 32; l++) {
            uint8_t a = codes[64 * j + l], b = codes[64 * j + 32 + l];
            qs[32 * j + l] = (uint8_t)((a & 0xf) | ((b & 0xf) << 4));
            if (high) high[l] |= (uint8_t)((((a >> 4) & 1) << (2 * j)) | (((b >> 4) & 1) << (2 * j + 1)));
        }
    }
}

/// Q6_K: sixteen sub-blocks of 16, value = d·sc·(q − 32), sc a signed byte.
static void quantize_q6_k(uint8_t *out, const float *x) {
    float scales[16], w[16];
    float extreme = 0;
    for (int j = 0; j < 16; j++) {
        importance(x + 16 * j, w, 16);
        scales[j] = fit_symmetric_scale(x + 16 * j, w, 16);
        if (fabsf(scales[j]) > fabsf(extreme)) extreme = scales[j];
    }
    float d = fabsf(extreme) / 127.0f;
    uint8_t *ql = out, *qh = out + 128;
    int8_t *sc = (int8_t *)(out + 192);
    put_half(out + 208, d);
    d = float_from_half(half_from_float(d));
    uint8_t codes[256];
    for (int j = 0; j < 16; j++) {
        sc[j] = (int8_t)(d > 0 ? clamp_int(nearest(scales[j] / d), -127, 127) : 0);
        float scale = d * sc[j];
        for (int i = 0; i < 16; i++)
            codes[16 * j + i] = (uint8_t)(scale != 0 ? clamp_int(nearest(x[16 * j + i] / scale), -32, 31) + 32 : 32);
    }
    for (int n = 0; n < 2; n++) {
        for (int l = 0; l < 32; l++) {
            uint8_t q1 = codes[128 * n + l], q2 = codes[128 * n + l + 32], q3 = codes[128 * n + l + 64], q4 = codes[128 * n + l + 96];
            ql[64 * n + l] = (uint8_t)((q1 & 0xf) | ((q3 & 0xf) << 4));
            ql[64 * n + l + 32] = (uint8_t)((q2 & 0xf) | ((q4 & 0xf) << 4));
            qh[32 * n + l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
}

void gpt_quantize_k_blocks(int type, uint8_t *out, const float *x, long blocks) {
    for (long b = 0; b < blocks; b++) {
        switch (type) {
        case GPT_TYPE_Q4_K: quantize_k_with_minimum(out + b * Q4_K_BYTES, x + b * QK_K, 4); break;
        case GPT_TYPE_Q5_K: quantize_k_with_minimum(out + b * Q5_K_BYTES, x + b * QK_K, 5); break;
        case GPT_TYPE_Q6_K: quantize_q6_k(out + b * Q6_K_BYTES, x + b * QK_K); break;
        default: break;
        }
    }
}
