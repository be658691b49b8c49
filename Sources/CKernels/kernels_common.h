// Shared by the kernel files: the multi-versioning attribute and fast math helpers.
#pragma once
#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
// Feature names (not "arch=…", which matches CPU models and so never picks AMD cores).
// In LLVM avx512f implies avx2, fma and f16c.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

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
