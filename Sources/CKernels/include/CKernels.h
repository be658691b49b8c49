// Fused elementwise kernels over contiguous Float buffers.
//
// Each function works on a range of rows (or elements) so that Swift can split
// the work across threads; every reduction inside a row is done by one thread,
// so results depend only on the binary and the thread count, never on timing.
// Backward kernels that take a `d…` input gradient ACCUMULATE into it (+=),
// except where a comment says "writes".
#ifndef SWIFT_GPT_CKERNELS_H
#define SWIFT_GPT_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// LayerNorm over `rows` rows of width `C`; stores mean and 1/std per row for the backward.
/// `bias` may be NULL.
void gpt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, long rows, long C, float epsilon);
/// Accumulates into dinp, dweight and dbias (dbias may be NULL).
void gpt_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, long rows, long C);

/// GELU with GPT-2's tanh approximation.
void gpt_gelu_forward(float *out, const float *inp, long count);
void gpt_gelu_backward(float *dinp, const float *inp, const float *dout, long count);
void gpt_relu_forward(float *out, const float *inp, long count);
void gpt_relu_backward(float *dinp, const float *inp, const float *dout, long count);

/// out = a + b (writes).
void gpt_add(float *out, const float *a, const float *b, long count);
/// out += a.
void gpt_accumulate(float *out, const float *a, long count);
/// x *= scale.
void gpt_scale(float *x, long count, float scale);
/// Sum of squares, accumulated in double.
double gpt_sum_of_squares(const float *x, long count);

/// One causal attention row (writes): probs[j] = softmax(scale * scores)[j] for j < valid,
/// probs[j] = 0 for valid <= j < length. `probs` may alias `scores`.
void gpt_causal_softmax_row(float *probs, const float *scores, long valid, long length, float scale);
/// Backward of one attention softmax row (writes): dscores = scale * p * (dp - <p, dp>),
/// zero for j >= valid. `dscores` may alias `dprobs`.
void gpt_causal_softmax_backward_row(float *dscores, const float *probs, const float *dprobs,
                                     long valid, long length, float scale);

/// Cross-entropy over `rows` rows of `V` logits (writes losses and log-sum-exp per row).
void gpt_cross_entropy_forward(float *losses, float *logsumexp, const float *logits,
                               const int32_t *targets, long rows, long V);
/// Writes dlogits = dloss * (softmax(logits) - onehot(target)).
void gpt_cross_entropy_backward(float *dlogits, const float *logits, const float *logsumexp,
                                const int32_t *targets, float dloss, long rows, long V);
/// Knowledge distillation over `rows` rows of `V` logits (writes losses and dlogits):
/// loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, target),
/// dlogits = dloss · (α·T·(softmax(student/T) − softmax(teacher/T)) + (1 − α)·(softmax(student) − onehot)).
void gpt_distillation_rows(float *losses, float *dlogits, const float *student, const float *teacher,
                           const int32_t *targets, long rows, long V, float temperature, float alpha, float dloss);

/// Softmax of one row with temperature (writes); returns nothing. Subtracts the max first.
void gpt_softmax(float *probs, const float *logits, long count, float inverse_temperature);

/// Inverted dropout with a counter-based mask (writes): element i is kept when
/// hash(seed, offset + i) >= probability, and scaled by 1 / (1 - probability).
/// The same (seed, offset) always gives the same mask, whatever the thread split.
void gpt_dropout(float *out, const float *inp, long count, uint64_t seed, uint64_t offset,
                 float probability);

/// AdamW (decoupled weight decay) on `count` parameters.
/// bias_correction1 = 1 - beta1^t, bias_correction2 = 1 - beta2^t.
void gpt_adamw_update(float *params, const float *grads, float *m, float *v, long count,
                      float learning_rate, float beta1, float beta2, float epsilon,
                      float weight_decay, float bias_correction1, float bias_correction2);

/// y[0..columns) (+)= Σ_i x[i] · w[i·stride + j]: a vector times a row-major matrix slice
/// (`rows` × `columns`, row stride `stride`), four rows per pass. Writes unless `accumulate`.
void gpt_vector_times_matrix(float *y, const float *x, const float *w, long rows, long columns, long stride,
                             int accumulate);
/// y[r] (+)= Σ_j w[r·columns + j] · x[j] for r < rows: a row-major matrix times a vector.
void gpt_matrix_times_vector(float *y, const float *w, const float *x, long rows, long columns, int accumulate);

/// One query over `length` cached keys and values (rows `stride` floats apart), softmax with
/// `scale`: out[0..<head) = Σ_j softmax(scale · q·k_j) v_j. `scores` holds `length` floats of scratch.
void gpt_attention_decode(float *out, const float *query, const float *keys, const float *values, long length,
                          long head, long stride, float scale, float *scores);

/// Sum of `count` floats, read once (for measuring memory read bandwidth).
float gpt_read_sum(const float *x, long count);

/// t-SNE, rows [first, last): the conditional affinities P(j|i) of points X (n × d), each row's
/// Gaussian width found by bisection so that its perplexity equals `perplexity` (writes P rows).
void gpt_tsne_affinities(float *P, const float *X, long n, long d, float perplexity, long first, long last);
/// t-SNE, rows [first, last): num[i][j] = 1 / (1 + |y_i − y_j|²) (0 on the diagonal); returns the rows' sum.
double gpt_tsne_kernel(float *num, const float *Y, long n, long dims, long first, long last);
/// t-SNE gradient rows [first, last): 4 Σ_j (exaggeration·P_ij − num_ij / Z) num_ij (y_i − y_j) (writes).
void gpt_tsne_gradient(float *gradient, const float *P, const float *num, const float *Y, long n, long dims,
                       float exaggeration, float inverse_z, long first, long last);

/// A spin-wait hint to the CPU (x86 PAUSE); does nothing elsewhere.
void gpt_cpu_relax(void);
/// Whether the calling thread is running inside a parallel region (a worker, or a caller
/// between starting and finishing one): a region started there runs serially.
int gpt_thread_in_region(void);
void gpt_set_thread_in_region(int inside);

/// Adam with L2-coupled weight decay (torch.optim.Adam): g += decay·p, then the Adam step.
void gpt_adam_update(float *params, const float *grads, float *m, float *v, long count,
                     float learning_rate, float beta1, float beta2, float epsilon,
                     float weight_decay, float bias_correction1, float bias_correction2);
/// SGD (torch.optim.SGD, dampening 0): g += decay·p; with momentum, buf = μ·buf + g (buf = g on
/// the first step) and the step uses buf, or g + μ·buf with Nesterov.
void gpt_sgd_update(float *params, const float *grads, float *momentum_buffer, long count,
                    float learning_rate, float momentum, int nesterov, int first_step, float weight_decay);
/// RMSprop (torch.optim.RMSprop, no momentum, not centred): g += decay·p;
/// s = α·s + (1 − α)·g²; p −= lr · g / (sqrt(s) + ε).
void gpt_rmsprop_update(float *params, const float *grads, float *square_average, long count,
                        float learning_rate, float alpha, float epsilon, float weight_decay);

/// The instruction set chosen at load time: "avx512", "avx2" or "baseline".
const char *gpt_kernels_isa(void);

#ifdef __cplusplus
}
#endif

#endif
