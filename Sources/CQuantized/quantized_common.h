// Shared by the quantized-weight files: block geometry, half and bfloat conversions, one block's
// values. Scalar and portable; the SIMD kernels live in products.c.
#pragma once
#include "CQuantized.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/// Elements per block of the 32-element types.
#define QK 32
/// Bytes per block (ggml-common.h): a float16 scale first, then (Q5_1) a float16 minimum, then
/// (Q5_0, Q5_1) 32 fifth bits, then 16 bytes of nibbles (element j low, element j + 16 high) or
/// (Q8_0) 32 signed bytes.
#define Q4_0_BYTES 18
#define Q5_0_BYTES 22
#define Q5_1_BYTES 24
#define Q8_0_BYTES 34

static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint32_t float_bits(float value) { uint32_t bits; memcpy(&bits, &value, 4); return bits; }
static inline float bits_float(uint32_t bits) { float value; memcpy(&value, &bits, 4); return value; }

/// IEEE binary16, rounded to nearest even (as F16C's conversion and numpy's astype(float16)).
static inline uint16_t half_from_float(float value) {
    uint32_t bits = float_bits(value);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00;  // NaN
    uint32_t exponent = magnitude >> 23;
    if (exponent >= 143) return sign | 0x7c00;  // 2^16 and beyond (and infinity)
    if (exponent < 113) {  // below 2^-14: a subnormal half, or zero
        if (exponent < 102) return sign;
        uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u, shift = 126 - exponent;
        uint32_t result = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (result & 1))) result++;
        return sign | (uint16_t)result;
    }
    uint32_t result = (magnitude - (112u << 23)) >> 13, rest = magnitude & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (result & 1))) result++;  // a carry may reach infinity: correct
    return sign | (uint16_t)result;
}

static inline float float_from_half(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000) << 16, exponent = (half >> 10) & 0x1f, mantissa = half & 0x3ff;
    if (exponent == 0) {
        float value = (float)mantissa * 0x1p-24f;
        return sign ? -value : value;
    }
    if (exponent == 31) return bits_float(sign | 0x7f800000u | (mantissa << 13));
    return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// bfloat16, rounded to nearest even; NaN stays a quiet NaN.
static inline uint16_t bfloat_from_float(float value) {
    uint32_t bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 64);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

static inline float float_from_bfloat(uint16_t value) { return bits_float((uint32_t)value << 16); }

/// One 32-element block of an integer type as floats.
static inline void dequantize_block_scalar(int type, float *out, const uint8_t *block) {
    float d = float_from_half(get_u16(block));
    switch (type) {
    case GPT_TYPE_Q8_0:
        for (int j = 0; j < QK; j++) out[j] = d * (float)(int8_t)block[2 + j];
        break;
    case GPT_TYPE_Q4_0:
        for (int j = 0; j < QK / 2; j++) {
            out[j] = d * (float)((block[2 + j] & 0xf) - 8);
            out[j + QK / 2] = d * (float)((block[2 + j] >> 4) - 8);
        }
        break;
    case GPT_TYPE_Q5_0: {
        uint32_t high = get_u32(block + 2);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (block[6 + j] & 0xf) | (int)(((high >> j) & 1) << 4);
            int q1 = (block[6 + j] >> 4) | (int)(((high >> (j + QK / 2)) & 1) << 4);
            out[j] = d * (float)(q0 - 16);
            out[j + QK / 2] = d * (float)(q1 - 16);
        }
        break;
    }
    case GPT_TYPE_Q5_1: {
        float m = float_from_half(get_u16(block + 2));
        uint32_t high = get_u32(block + 4);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (block[8 + j] & 0xf) | (int)(((high >> j) & 1) << 4);
            int q1 = (block[8 + j] >> 4) | (int)(((high >> (j + QK / 2)) & 1) << 4);
            out[j] = d * (float)q0 + m;
            out[j + QK / 2] = d * (float)q1 + m;
        }
        break;
    }
    default: break;
    }
}
