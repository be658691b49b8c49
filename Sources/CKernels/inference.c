// Generation kernels: one vector through a matrix, and single-query attention over a cache.
#include "kernels_common.h"

// ---------------------------------------------------------------- decode (one vector)

GPT_BODY void vector_times_matrix_body(float *y, const float *x, const float *w, long rows, long columns, long stride,
                             int accumulate) {
    if (!accumulate) memset(y, 0, (size_t)columns * sizeof(float));
    long i = 0;
    for (; i + 4 <= rows; i += 4) {
        const float *w0 = w + i * stride, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
        float a0 = x[i], a1 = x[i + 1], a2 = x[i + 2], a3 = x[i + 3];
        for (long j = 0; j < columns; j++) y[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j];
    }
    for (; i < rows; i++) {
        const float *w0 = w + i * stride;
        float a0 = x[i];
        for (long j = 0; j < columns; j++) y[j] += a0 * w0[j];
    }
}

GPT_BODY void matrix_times_vector_body(float *y, const float *w, const float *x, long rows, long columns, int accumulate) {
#pragma clang fp reassociate(on)
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *w0 = w + r * columns, *w1 = w0 + columns, *w2 = w1 + columns, *w3 = w2 + columns;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (long j = 0; j < columns; j++) {
            float v = x[j];
            s0 += w0[j] * v; s1 += w1[j] * v; s2 += w2[j] * v; s3 += w3[j] * v;
        }
        if (accumulate) { y[r] += s0; y[r + 1] += s1; y[r + 2] += s2; y[r + 3] += s3; }
        else { y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3; }
    }
    for (; r < rows; r++) {
        const float *w0 = w + r * columns;
        float s0 = 0;
        for (long j = 0; j < columns; j++) s0 += w0[j] * x[j];
        y[r] = accumulate ? y[r] + s0 : s0;
    }
}

// ---------------------------------------------------------------- attention over a cache

GPT_BODY void attention_decode_body(float *out, const float *query, const float *keys, const float *values, long length,
                          long head, long stride, float scale, float *scores) {
#pragma clang fp reassociate(on)
    for (long j = 0; j < length; j++) {
        const float *k = keys + j * stride;
        float dot = 0.0f;
        for (long i = 0; i < head; i++) dot += query[i] * k[i];
        scores[j] = dot;
    }
    causal_softmax_row_body(scores, scores, length, length, scale);
    for (long i = 0; i < head; i++) out[i] = 0.0f;
    for (long j = 0; j < length; j++) {
        const float *v = values + j * stride;
        float p = scores[j];
        for (long i = 0; i < head; i++) out[i] += p * v[i];
    }
}

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS_VOID(vector_times_matrix,
    (float *y, const float *x, const float *w, long rows, long columns, long stride, int accumulate),
    (y, x, w, rows, columns, stride, accumulate))
GPT_LEVELS_VOID(matrix_times_vector,
    (float *y, const float *w, const float *x, long rows, long columns, int accumulate),
    (y, w, x, rows, columns, accumulate))
GPT_LEVELS_VOID(attention_decode,
    (float *out, const float *query, const float *keys, const float *values, long length, long head, long stride, float scale, float *scores),
    (out, query, keys, values, length, head, stride, scale, scores))

#define TABLE(level) { \
    #level, vector_times_matrix_##level, matrix_times_vector_##level, attention_decode_##level }
static const gpt_decode tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_decode *gpt_decode_for_level(int level) { return &tables[gpt_usable_level(level)]; }
