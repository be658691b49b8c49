// Optimizer updates (AdamW, Adam, SGD, RMSprop), one fused pass over the parameters each.
#include "kernels_common.h"

// ---------------------------------------------------------------- AdamW

MULTIVERSION
void gpt_adamw_update(float *params, const float *grads, float *m, float *v, long count,
                      float learning_rate, float beta1, float beta2, float epsilon,
                      float weight_decay, float bias_correction1, float bias_correction2) {
    float decay = 1.0f - learning_rate * weight_decay;
    for (long i = 0; i < count; i++) {
        float g = grads[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / bias_correction1;
        float vhat = vi / bias_correction2;
        // __builtin_elementwise_sqrt has no errno side effect, so the loop vectorises.
        params[i] = params[i] * decay - learning_rate * mhat / (__builtin_elementwise_sqrt(vhat) + epsilon);
    }
}


MULTIVERSION
void gpt_adam_update(float *params, const float *grads, float *m, float *v, long count,
                     float learning_rate, float beta1, float beta2, float epsilon,
                     float weight_decay, float bias_correction1, float bias_correction2) {
    for (long i = 0; i < count; i++) {
        float g = grads[i] + weight_decay * params[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= learning_rate * (mi / bias_correction1) / (__builtin_elementwise_sqrt(vi / bias_correction2) + epsilon);
    }
}

MULTIVERSION
void gpt_sgd_update(float *params, const float *grads, float *momentum_buffer, long count,
                    float learning_rate, float momentum, int nesterov, int first_step, float weight_decay) {
    for (long i = 0; i < count; i++) {
        float g = grads[i] + weight_decay * params[i];
        if (momentum != 0.0f) {
            float buffer = first_step ? g : momentum * momentum_buffer[i] + g;
            momentum_buffer[i] = buffer;
            g = nesterov ? g + momentum * buffer : buffer;
        }
        params[i] -= learning_rate * g;
    }
}

MULTIVERSION
void gpt_rmsprop_update(float *params, const float *grads, float *square_average, long count,
                        float learning_rate, float alpha, float epsilon, float weight_decay) {
    for (long i = 0; i < count; i++) {
        float g = grads[i] + weight_decay * params[i];
        float s = alpha * square_average[i] + (1.0f - alpha) * g * g;
        square_average[i] = s;
        params[i] -= learning_rate * g / (__builtin_elementwise_sqrt(s) + epsilon);
    }
}

const char *gpt_kernels_isa(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "baseline";
}
