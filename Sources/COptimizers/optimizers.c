// Optimizer updates (AdamW, Adam, SGD, RMSprop), one fused pass over the parameters each.
#include "COptimizers.h"
#include "gpt_levels.h"

// ---------------------------------------------------------------- AdamW

GPT_BODY void adamw_update_body(float *params, const float *grads, float *m, float *v, long count,
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


GPT_BODY void adam_update_body(float *params, const float *grads, float *m, float *v, long count,
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

GPT_BODY void sgd_update_body(float *params, const float *grads, float *momentum_buffer, long count,
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

GPT_BODY void rmsprop_update_body(float *params, const float *grads, float *square_average, long count,
                        float learning_rate, float alpha, float epsilon, float weight_decay) {
    for (long i = 0; i < count; i++) {
        float g = grads[i] + weight_decay * params[i];
        float s = alpha * square_average[i] + (1.0f - alpha) * g * g;
        square_average[i] = s;
        params[i] -= learning_rate * g / (__builtin_elementwise_sqrt(s) + epsilon);
    }
}

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS_VOID(adamw_update,
    (float *params, const float *grads, float *m, float *v, long count, float learning_rate, float beta1, float beta2, float epsilon, float weight_decay, float bias_correction1, float bias_correction2),
    (params, grads, m, v, count, learning_rate, beta1, beta2, epsilon, weight_decay, bias_correction1, bias_correction2))
GPT_LEVELS_VOID(adam_update,
    (float *params, const float *grads, float *m, float *v, long count, float learning_rate, float beta1, float beta2, float epsilon, float weight_decay, float bias_correction1, float bias_correction2),
    (params, grads, m, v, count, learning_rate, beta1, beta2, epsilon, weight_decay, bias_correction1, bias_correction2))
GPT_LEVELS_VOID(sgd_update,
    (float *params, const float *grads, float *momentum_buffer, long count, float learning_rate, float momentum, int nesterov, int first_step, float weight_decay),
    (params, grads, momentum_buffer, count, learning_rate, momentum, nesterov, first_step, weight_decay))
GPT_LEVELS_VOID(rmsprop_update,
    (float *params, const float *grads, float *square_average, long count, float learning_rate, float alpha, float epsilon, float weight_decay),
    (params, grads, square_average, count, learning_rate, alpha, epsilon, weight_decay))

#define TABLE(level) { \
    #level, adamw_update_##level, adam_update_##level, sgd_update_##level, rmsprop_update_##level }
static const gpt_optimizers tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_optimizers *gpt_optimizers_for_level(int level) { return &tables[gpt_usable_level(level)]; }
