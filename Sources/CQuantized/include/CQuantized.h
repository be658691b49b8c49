// Weights stored in ggml's block formats (ggml-common.h), bit for bit: conversion from Float32 with
// ggml's reference rounding, conversion back, and the products generation multiplies by.
//
// Types are named by ggml's numbers (ggml.h): F16 1, Q4_0 2, Q5_0 6, Q5_1 7, Q8_0 8, Q4_K 12, Q5_K 13,
// Q6_K 14, BF16 30.
// A matrix is `rows` rows of `columns` elements, each row a whole number of blocks along the input
// dimension, rows `row_bytes` apart. The integer types multiply by activations quantized to 8 bits
// per block of 32 (`gpt_q8_activations`, ours, not a file format): products are integer dot
// products scaled once per block, as ggml computes them.
#ifndef SWIFT_GPT_CQUANTIZED_H
#define SWIFT_GPT_CQUANTIZED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

enum {
    GPT_TYPE_F32 = 0, GPT_TYPE_F16 = 1, GPT_TYPE_Q4_0 = 2, GPT_TYPE_Q5_0 = 6, GPT_TYPE_Q5_1 = 7, GPT_TYPE_Q8_0 = 8,
    GPT_TYPE_Q4_K = 12, GPT_TYPE_Q5_K = 13, GPT_TYPE_Q6_K = 14, GPT_TYPE_BF16 = 30,
};

/// Elements per block of `type` (1 for the float types), 0 for a type this file does not handle.
long gpt_type_block_size(int type);
/// Bytes per block of `type`, 0 for a type this file does not handle.
long gpt_type_block_bytes(int type);

/// Converts `count` floats (a multiple of the block size) into `type`'s blocks: with ggml's reference
/// rounding (`quantize_row_*_ref`; float16 and bfloat16 round to nearest even) for the 32-element
/// types, with swift-gpt's own search for the K-quants.
void gpt_quantize_row(int type, void *out, const float *x, long count);
/// The floats `count` elements of `type`'s blocks stand for.
void gpt_dequantize_row(int type, float *out, const void *blocks, long count);

/// Activations quantized for the integer products: per block of 32, q = round(x / scale) with
/// scale = max|x| / 127, and sum = scale · Σ q (for types with an offset).
typedef struct gpt_q8_activations {
    int8_t *q;
    float *scale;
    float *sum;
} gpt_q8_activations;

typedef struct gpt_quantized {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// Quantizes `count` floats (a multiple of 32) into `a`.
    void (*quantize_activations)(gpt_q8_activations a, const float *x, long count);
    /// y[r] = row r · x for r < rows, rows of `type` (an integer type) against activations `a`.
    void (*integer_rows_times_vector)(int type, float *y, const void *w, long row_bytes, long rows, long columns,
        gpt_q8_activations a);
    /// y[r] = row r · x for r < rows, rows of F16 or BF16 against float activations.
    void (*half_rows_times_vector)(int type, float *y, const void *w, long row_bytes, long rows, long columns,
        const float *x);
    /// out (rows × columns floats, row-major) = the rows of `type` dequantized.
    void (*dequantize_rows)(int type, float *out, const void *w, long row_bytes, long rows, long columns);
    /// y[k·ldy + r] = row r · activation row k for k < count, each (r, k) computed exactly as
    /// `integer_rows_times_vector` computes it (so a row's result never depends on `count`).
    void (*integer_rows_times_rows)(int type, float *y, long ldy, const void *w, long row_bytes, long rows, long columns,
        const gpt_q8_activations *a, long count);
} gpt_quantized;
/// The gpt_quantized table compiled for `level` (clamped to what this CPU runs).
const gpt_quantized *gpt_quantized_for_level(int level);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
