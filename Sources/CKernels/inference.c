// Generation kernels: one vector through a matrix, single-query attention over a cache,
// and the helpers the benchmark and the worker pool use.
#include "kernels_common.h"

// ---------------------------------------------------------------- decode (one vector)

MULTIVERSION
void gpt_vector_times_matrix(float *y, const float *x, const float *w, long rows, long columns, long stride,
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

MULTIVERSION
void gpt_matrix_times_vector(float *y, const float *w, const float *x, long rows, long columns, int accumulate) {
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

MULTIVERSION
void gpt_attention_decode(float *out, const float *query, const float *keys, const float *values, long length,
                          long head, long stride, float scale, float *scores) {
#pragma clang fp reassociate(on)
    for (long j = 0; j < length; j++) {
        const float *k = keys + j * stride;
        float dot = 0.0f;
        for (long i = 0; i < head; i++) dot += query[i] * k[i];
        scores[j] = dot;
    }
    gpt_causal_softmax_row(scores, scores, length, length, scale);
    for (long i = 0; i < head; i++) out[i] = 0.0f;
    for (long j = 0; j < length; j++) {
        const float *v = values + j * stride;
        float p = scores[j];
        for (long i = 0; i < head; i++) out[i] += p * v[i];
    }
}

typedef float gpt_v16 __attribute__((vector_size(64), aligned(4)));

MULTIVERSION
float gpt_read_sum(const float *x, long count) {
    // Four streams at once (as a matrix-vector product reads several rows), two vector sums each:
    // the loads, not the add latency, set the pace.
    long quarter = (count / 4) & ~63L;
    const float *s0 = x, *s1 = x + quarter, *s2 = x + 2 * quarter, *s3 = x + 3 * quarter;
    gpt_v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    for (long i = 0; i + 32 <= quarter; i += 32) {
        a0 += *(const gpt_v16 *)(s0 + i); a1 += *(const gpt_v16 *)(s0 + i + 16);
        a2 += *(const gpt_v16 *)(s1 + i); a3 += *(const gpt_v16 *)(s1 + i + 16);
        a4 += *(const gpt_v16 *)(s2 + i); a5 += *(const gpt_v16 *)(s2 + i + 16);
        a6 += *(const gpt_v16 *)(s3 + i); a7 += *(const gpt_v16 *)(s3 + i + 16);
    }
    gpt_v16 total = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    float sum = 0.0f;
    for (int k = 0; k < 16; k++) sum += total[k];
    for (long i = 4 * quarter; i < count; i++) sum += x[i];
    return sum;
}
