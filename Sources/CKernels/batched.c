// Batch-invariant products: many input rows times one weight matrix, where every output element is
// summed in one fixed order whatever the number of rows, their tiling or the thread split. A row's
// result is then bit for bit the same alone or among others (continuous batching), and the weights
// are read once per call for all rows.
//
// Both kernels use plain 8-float vectors (GCC vector extensions): each element's sum has one order,
// so the register tiling below changes speed only, never a bit of the result.
#include "kernels_common.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));
// The helpers are always inlined: a 32-byte vector passed between functions compiled for different
// levels would cross an ABI boundary (debug builds do not inline `static inline`).

GPT_BODY v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
GPT_BODY void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
GPT_BODY v8 splat8(float x) { return (v8){x, x, x, x, x, x, x, x}; }

// ---------------------------------------------------------------- [in, out] weights (Conv1D)

/// Adds Σ_{i in [i0, i1)} x[b·ldx + i] · w[i·stride + j] to y[b·ldy + j] one term at a time, i in order,
/// for columns [j, j + 16·strips) of rows [b, b + R): R × 2·strips accumulators in registers.
#define ACCUMULATE_TILE(R, STRIPS)                                                                        \
    do {                                                                                                  \
        v8 acc[R][2 * STRIPS];                                                                            \
        for (int r = 0; r < R; r++)                                                                       \
            for (int h = 0; h < 2 * STRIPS; h++) acc[r][h] = load8(y + (b + r) * ldy + j + 8 * h);       \
        for (long i = i0; i < i1; i++) {                                                                  \
            const float *wi = w + i * stride + j;                                                         \
            v8 wv[2 * STRIPS];                                                                            \
            for (int h = 0; h < 2 * STRIPS; h++) wv[h] = load8(wi + 8 * h);                               \
            for (int r = 0; r < R; r++) {                                                                 \
                v8 s = splat8(x[(b + r) * ldx + i]);                                                      \
                for (int h = 0; h < 2 * STRIPS; h++) acc[r][h] += s * wv[h];                              \
            }                                                                                             \
        }                                                                                                 \
        for (int r = 0; r < R; r++)                                                                       \
            for (int h = 0; h < 2 * STRIPS; h++) store8(y + (b + r) * ldy + j + 8 * h, acc[r][h]);      \
    } while (0)

/// y[b·ldy + j] = Σ_i x[b·ldx + i] · w[i·stride + j] (+ bias[j]), i from 0 up, one term at a time.
/// The sums run in blocks of inputs: each block's weight rows are read as contiguous row pieces
/// (streaming, as the memory and the TLB like it, even for one row) and applied to every input row's
/// accumulators — held in registers within a tile of 4 rows × 16 columns (one row: 32 columns), kept
/// in y between blocks. Every element's sum is sequential over i whatever the tile, so any number of
/// rows computes the same bits.
// Inputs per pass for up to 16 rows (decoding), and per pass of a single row: few enough weight rows
// at once that their pieces stream (the fastest of 1, 2, 4 and 8 tried; gpt bench serve shows the
// effect on decode).
#define SMALL_STEP 8
#define ROW_BLOCK 4
GPT_BODY void rows_times_matrix_body(float *y, long ldy, const float *x, long ldx, const float *w, long stride,
                                     const float *bias, long rows, long inner, long columns) {
    long body = columns & ~15L;
    for (long b = 0; b < rows; b++)
        for (long j = 0; j < body; j++) y[b * ldy + j] = 0.0f;
    long tiled = rows & ~3L;
    // A few rows (decoding) are memory-bound: a few weight rows per pass, each read as one contiguous
    // piece. Many rows (a prompt) are compute-bound: 32 inputs per pass over a strip of 16 columns.
    long step = rows > 16 ? 32 : SMALL_STEP;
    for (long block = 0; block < inner; block += step) {
        long end = block + step < inner ? block + step : inner;
        for (long b = 0; b < tiled; b += 4) {
            long i0 = block, i1 = end;
            for (long j = 0; j < body; j += 16) ACCUMULATE_TILE(4, 1);
        }
        for (long i0 = block; i0 < end; i0 += ROW_BLOCK) {
            long i1 = i0 + ROW_BLOCK < end ? i0 + ROW_BLOCK : end;
            for (long b = tiled; b < rows; b++) {
                long j = 0;
                for (; j + 32 <= body; j += 32) ACCUMULATE_TILE(1, 2);
                for (; j < body; j += 16) ACCUMULATE_TILE(1, 1);
            }
        }
    }
    if (bias) {
        for (long b = 0; b < rows; b++)
            for (long j = 0; j < body; j++) y[b * ldy + j] += bias[j];
    }
    for (long j = body; j < columns; j++) {
        for (long b = 0; b < rows; b++) {
            const float *x0 = x + b * ldx;
            float a = 0.0f;
            for (long i = 0; i < inner; i++) a += x0[i] * w[i * stride + j];
            if (bias) a += bias[j];
            y[b * ldy + j] = a;
        }
    }
}
#undef ACCUMULATE_TILE

// ---------------------------------------------------------------- [out, in] weights (nn.Linear, unembedding)

/// Σ of one 8-lane accumulator in a fixed order.
GPT_BODY float sum8(v8 v) {
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

/// The dot product of one weight row with one input row as every tile computes it: lanes over
/// elements 8k + l in order, summed by `sum8`, then the tail (inner mod 8) one at a time.
GPT_BODY float finish_dot(v8 lanes, const float *w, const float *x, long from, long inner) {
    float s = sum8(lanes);
    for (long i = from; i < inner; i++) s += w[i] * x[i];
    return s;
}

/// y[b·ldy + r] = w[r·inner ..] · x[b·ldx ..] (+ bias[r]) for r < outputs, b < rows. Tiles of 4
/// weight rows × 2 input rows keep 8 accumulators in registers.
GPT_BODY void rows_times_matrix_transposed_body(float *y, long ldy, const float *x, long ldx, const float *w,
                                                const float *bias, long rows, long inner, long outputs) {
    long body = inner & ~7L;
    long r = 0;
    for (; r + 4 <= outputs; r += 4) {
        const float *w0 = w + r * inner, *w1 = w0 + inner, *w2 = w1 + inner, *w3 = w2 + inner;
        long b = 0;
        for (; b + 2 <= rows; b += 2) {
            const float *x0 = x + b * ldx, *x1 = x0 + ldx;
            v8 a00 = splat8(0), a10 = splat8(0), a20 = splat8(0), a30 = splat8(0);
            v8 a01 = splat8(0), a11 = splat8(0), a21 = splat8(0), a31 = splat8(0);
            for (long i = 0; i < body; i += 8) {
                v8 u0 = load8(x0 + i), u1 = load8(x1 + i);
                v8 v0 = load8(w0 + i), v1 = load8(w1 + i), v2 = load8(w2 + i), v3 = load8(w3 + i);
                a00 += v0 * u0; a10 += v1 * u0; a20 += v2 * u0; a30 += v3 * u0;
                a01 += v0 * u1; a11 += v1 * u1; a21 += v2 * u1; a31 += v3 * u1;
            }
            float *y0 = y + b * ldy + r, *y1 = y0 + ldy;
            y0[0] = finish_dot(a00, w0, x0, body, inner); y1[0] = finish_dot(a01, w0, x1, body, inner);
            y0[1] = finish_dot(a10, w1, x0, body, inner); y1[1] = finish_dot(a11, w1, x1, body, inner);
            y0[2] = finish_dot(a20, w2, x0, body, inner); y1[2] = finish_dot(a21, w2, x1, body, inner);
            y0[3] = finish_dot(a30, w3, x0, body, inner); y1[3] = finish_dot(a31, w3, x1, body, inner);
        }
        for (; b < rows; b++) {
            const float *x0 = x + b * ldx;
            v8 a0 = splat8(0), a1 = splat8(0), a2 = splat8(0), a3 = splat8(0);
            for (long i = 0; i < body; i += 8) {
                v8 u0 = load8(x0 + i);
                a0 += load8(w0 + i) * u0; a1 += load8(w1 + i) * u0;
                a2 += load8(w2 + i) * u0; a3 += load8(w3 + i) * u0;
            }
            float *y0 = y + b * ldy + r;
            y0[0] = finish_dot(a0, w0, x0, body, inner); y0[1] = finish_dot(a1, w1, x0, body, inner);
            y0[2] = finish_dot(a2, w2, x0, body, inner); y0[3] = finish_dot(a3, w3, x0, body, inner);
        }
    }
    for (; r < outputs; r++) {
        const float *w0 = w + r * inner;
        for (long b = 0; b < rows; b++) {
            const float *x0 = x + b * ldx;
            v8 a0 = splat8(0);
            for (long i = 0; i < body; i += 8) a0 += load8(w0 + i) * load8(x0 + i);
            y[b * ldy + r] = finish_dot(a0, w0, x0, body, inner);
        }
    }
    if (bias) {
        for (long b = 0; b < rows; b++) {
            for (long o = 0; o < outputs; o++) y[b * ldy + o] += bias[o];
        }
    }
}

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS_VOID(rows_times_matrix,
    (float *y, long ldy, const float *x, long ldx, const float *w, long stride, const float *bias, long rows, long inner,
     long columns),
    (y, ldy, x, ldx, w, stride, bias, rows, inner, columns))
GPT_LEVELS_VOID(rows_times_matrix_transposed,
    (float *y, long ldy, const float *x, long ldx, const float *w, const float *bias, long rows, long inner,
     long outputs),
    (y, ldy, x, ldx, w, bias, rows, inner, outputs))

#define TABLE(level) { #level, rows_times_matrix_##level, rows_times_matrix_transposed_##level }
static const gpt_batched tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_batched *gpt_batched_for_level(int level) { return &tables[gpt_usable_level(level)]; }
