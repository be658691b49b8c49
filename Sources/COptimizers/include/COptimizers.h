// Optimizer updates, one fused pass over the parameters each, at every instruction level (gpt_levels.h).
#ifndef SWIFT_GPT_COPTIMIZERS_H
#define SWIFT_GPT_COPTIMIZERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Every pointer is non-null unless marked _Nullable (Swift then calls the tables without unwrapping).
#pragma clang assume_nonnull begin

typedef struct gpt_optimizers {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// AdamW (decoupled weight decay) on `count` parameters.
    /// bias_correction1 = 1 - beta1^t, bias_correction2 = 1 - beta2^t.
    void (*adamw_update)(float *params, const float *grads, float *m, float *v, long count, float learning_rate,
        float beta1, float beta2, float epsilon, float weight_decay, float bias_correction1, float bias_correction2);
    /// Adam with L2-coupled weight decay (torch.optim.Adam): g += decay·p, then the Adam step.
    void (*adam_update)(float *params, const float *grads, float *m, float *v, long count, float learning_rate,
        float beta1, float beta2, float epsilon, float weight_decay, float bias_correction1, float bias_correction2);
    /// SGD (torch.optim.SGD, dampening 0): g += decay·p; with momentum, buf = μ·buf + g (buf = g on
    /// the first step) and the step uses buf, or g + μ·buf with Nesterov.
    void (*sgd_update)(float *params, const float *grads, float *_Nullable momentum_buffer, long count, float learning_rate,
        float momentum, int nesterov, int first_step, float weight_decay);
    /// RMSprop (torch.optim.RMSprop, no momentum, not centred): g += decay·p;
    /// s = α·s + (1 − α)·g²; p −= lr · g / (sqrt(s) + ε).
    void (*rmsprop_update)(float *params, const float *grads, float *square_average, long count, float learning_rate,
        float alpha, float epsilon, float weight_decay);
} gpt_optimizers;
/// The gpt_optimizers table compiled for `level` (clamped to what this CPU runs).
const gpt_optimizers *gpt_optimizers_for_level(int level);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
