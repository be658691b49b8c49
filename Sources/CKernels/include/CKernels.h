// The core kernels over contiguous Float buffers: elementwise and attention kernels for training and
// evaluation, and the decode kernels for generation — each compiled at every instruction level
// (`gpt_levels.h`) and reached through a table per level.
//
// Each function works on a range of rows (or elements) so that Swift can split the work across
// threads; every reduction inside a row is done by one thread, so results depend only on the
// binary, the level and the thread count, never on timing. Backward kernels that take a `d…` input
// gradient ACCUMULATE into it (+=), except where a comment says "writes".
#ifndef SWIFT_GPT_CKERNELS_H
#define SWIFT_GPT_CKERNELS_H

#include <stdint.h>
#include "gpt_levels.h"

#ifdef __cplusplus
extern "C" {
#endif

// Every pointer is non-null unless marked _Nullable (Swift then calls the tables without unwrapping).
#pragma clang assume_nonnull begin

typedef struct gpt_elementwise {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// LayerNorm over `rows` rows of width `C`; stores mean and 1/std per row for the backward.
    /// `bias` may be NULL.
    void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
        const float *_Nullable bias, long rows, long C, float epsilon);
    /// Accumulates into dinp, dweight and dbias (dbias may be NULL).
    void (*layernorm_backward)(float *dinp, float *dweight, float *_Nullable dbias, const float *dout, const float *inp,
        const float *weight, const float *mean, const float *rstd, long rows, long C);
    /// GELU with GPT-2's tanh approximation.
    void (*gelu_forward)(float *out, const float *inp, long count);
    void (*gelu_backward)(float *dinp, const float *inp, const float *dout, long count);
    void (*relu_forward)(float *out, const float *inp, long count);
    void (*relu_backward)(float *dinp, const float *inp, const float *dout, long count);
    /// out = a + b (writes).
    void (*add)(float *out, const float *a, const float *b, long count);
    /// out += a.
    void (*accumulate)(float *out, const float *a, long count);
    /// x *= scale.
    void (*scale)(float *x, long count, float scale);
    /// Sum of squares, accumulated in double.
    double (*sum_of_squares)(const float *x, long count);
    /// One causal attention row (writes): probs[j] = softmax(scale * scores)[j] for j < valid,
    /// probs[j] = 0 for valid <= j < length. `probs` may alias `scores`.
    void (*causal_softmax_row)(float *probs, const float *scores, long valid, long length, float scale);
    /// Backward of one attention softmax row (writes): dscores = scale * p * (dp - <p, dp>),
    /// zero for j >= valid. `dscores` may alias `dprobs`.
    void (*causal_softmax_backward_row)(float *dscores, const float *probs, const float *dprobs, long valid,
        long length, float scale);
    /// Softmax of one row with temperature (writes); returns nothing. Subtracts the max first.
    void (*softmax)(float *probs, const float *logits, long count, float inverse_temperature);
    /// Cross-entropy over `rows` rows of `V` logits (writes losses and log-sum-exp per row).
    void (*cross_entropy_forward)(float *losses, float *logsumexp, const float *logits, const int32_t *targets,
        long rows, long V);
    /// Writes dlogits = dloss * (softmax(logits) - onehot(target)).
    void (*cross_entropy_backward)(float *dlogits, const float *logits, const float *logsumexp,
        const int32_t *targets, float dloss, long rows, long V);
    /// Knowledge distillation over `rows` rows of `V` logits (writes losses and dlogits):
    /// loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, target),
    /// dlogits = dloss · (α·T·(softmax(student/T) − softmax(teacher/T)) + (1 − α)·(softmax(student) − onehot)).
    void (*distillation_rows)(float *losses, float *dlogits, const float *student, const float *teacher,
        const int32_t *targets, long rows, long V, float temperature, float alpha, float dloss);
    /// Inverted dropout with a counter-based mask (writes): element i is kept when
    /// hash(seed, offset + i) >= probability, and scaled by 1 / (1 - probability).
    /// The same (seed, offset) always gives the same mask, whatever the thread split.
    void (*dropout)(float *out, const float *inp, long count, uint64_t seed, uint64_t offset, float probability);
} gpt_elementwise;
/// The gpt_elementwise table compiled for `level` (clamped to what this CPU runs).
const gpt_elementwise *gpt_elementwise_for_level(int level);

typedef struct gpt_decode {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// y[0..columns) (+)= Σ_i x[i] · w[i·stride + j]: a vector times a row-major matrix slice
    /// (`rows` × `columns`, row stride `stride`), four rows per pass. Writes unless `accumulate`.
    void (*vector_times_matrix)(float *y, const float *x, const float *w, long rows, long columns, long stride,
        int accumulate);
    /// y[r] (+)= Σ_j w[r·columns + j] · x[j] for r < rows: a row-major matrix times a vector.
    void (*matrix_times_vector)(float *y, const float *w, const float *x, long rows, long columns, int accumulate);
    /// One query over `length` cached keys and values (rows `stride` floats apart), softmax with
    /// `scale`: out[0..<head) = Σ_j softmax(scale · q·k_j) v_j. `scores` holds `length` floats of scratch.
    void (*attention_decode)(float *out, const float *query, const float *keys, const float *values, long length,
        long head, long stride, float scale, float *scores);
} gpt_decode;
/// The gpt_decode table compiled for `level` (clamped to what this CPU runs).
const gpt_decode *gpt_decode_for_level(int level);

typedef struct gpt_batched {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// y[b·ldy + j] = Σ_i x[b·ldx + i] · w[i·stride + j] (+ bias[j]) for b < rows, j < columns: input rows
    /// times a slice of [in, out] weights (Conv1D). Each element sums i in order from 0, whatever the rows.
    void (*rows_times_matrix)(float *y, long ldy, const float *x, long ldx, const float *w, long stride,
        const float *_Nullable bias, long rows, long inner, long columns);
    /// y[b·ldy + r] = Σ_i w[r·inner + i] · x[b·ldx + i] (+ bias[r]) for b < rows, r < outputs: input rows
    /// times [out, in] weights (nn.Linear, the unembedding), each dot product in one fixed order.
    void (*rows_times_matrix_transposed)(float *y, long ldy, const float *x, long ldx, const float *w,
        const float *_Nullable bias, long rows, long inner, long outputs);
} gpt_batched;
/// The batch-invariant products compiled for `level` (clamped to what this CPU runs): a row's result
/// never depends on how many rows share the call.
const gpt_batched *gpt_batched_for_level(int level);

/// C = alpha · op(A) · op(B) + beta · C (row-major; op = transpose when asked) with swift-gpt's own
/// packed kernels for `level` (clamped to what this CPU runs), on the calling thread (sgemm.c).
void gpt_sgemm(int level, int transposeA, int transposeB, int rows, int columns, int inner, float alpha,
    const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// bf16 products with fp32 accumulation (bf16.c). Only where `gpt_bf16_supported()`: the AVX-512 level
/// with AVX512-BF16 (the pack and multiply functions are compiled for it alone; elsewhere they do nothing).
int gpt_bf16_supported(void);
/// Rounds each value to bf16 (nearest, ties to even; NaN stays NaN): the bits of the upper half of a Float.
void gpt_bf16_round(const float *input, uint16_t *output, long count);
/// uint16 elements `gpt_bf16_pack` writes for an `inner` × `columns` B.
long gpt_bf16_packed_count(int inner, int columns);
/// uint16 elements of scratch one `gpt_bf16_multiply` call needs (per thread).
long gpt_bf16_scratch_count(void);
/// Packs B (inner × columns; B[k][n] = transposed ? b[n·ldb + k] : b[k·ldb + n]) as bf16 panels of 32
/// columns. Columns [32·p, …) of a bigger B pack to the same bytes at offset p · packed_count(inner, 32).
void gpt_bf16_pack(int inner, int columns, const float *b, long ldb, int transposed, uint16_t *packed);
/// c (rows × columns, row stride ldc) (+= when `accumulate`) A · B, A[i][k] = transposedA ? a[k·lda + i] :
/// a[i·lda + k] rounded to bf16, B packed; each element summed in one order whatever `rows`.
void gpt_bf16_multiply(int rows, int columns, int inner, const float *a, long lda, int transposedA,
    const uint16_t *packed, float *c, long ldc, int accumulate, uint16_t *scratch);

/// A spin-wait hint to the CPU (x86 PAUSE); does nothing elsewhere.
void gpt_cpu_relax(void);
/// Whether the calling thread is running inside a parallel region (a worker, or a caller
/// between starting and finishing one): a region started there runs serially.
int gpt_thread_in_region(void);
void gpt_set_thread_in_region(int inside);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
