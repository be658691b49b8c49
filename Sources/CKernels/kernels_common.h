// Shared by the kernel files: fast math helpers and the one causal-softmax row.
#pragma once
#include "CKernels.h"
#include "gpt_levels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>


// exp(x) to about 1 ulp on [-87, 88] (Cephes-style range reduction + polynomial),
// written branch-free so loops that call it vectorise.
static inline float fast_exp(float x) {
    x = fminf(fmaxf(x, -87.0f), 88.0f);
    // n = round(x / ln 2), through an integer conversion that vectorises on every ISA.
    float t = x * 1.44269504088896341f + 0.5f;
    float n = (float)(int32_t)t;
    n -= (n > t) ? 1.0f : 0.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    union { uint32_t bits; float value; } scale;
    scale.bits = (uint32_t)((int32_t)n + 127) << 23;
    return p * scale.value;
}

static inline float fast_tanh(float x) {
    return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

/// One causal attention row (see gpt_elementwise.causal_softmax_row); shared by the decode kernel.
GPT_BODY void causal_softmax_row_body(float *probs, const float *scores, long valid, long length, float scale) {
#pragma clang fp reassociate(on)
    float maximum = -INFINITY;
    for (long j = 0; j < valid; j++) maximum = fmaxf(maximum, scores[j]);
    float sum = 0.0f;
    for (long j = 0; j < valid; j++) {
        float e = fast_exp(scale * (scores[j] - maximum));
        probs[j] = e;
        sum += e;
    }
    float inverse = 1.0f / sum;
    for (long j = 0; j < valid; j++) probs[j] *= inverse;
    for (long j = valid; j < length; j++) probs[j] = 0.0f;
}
