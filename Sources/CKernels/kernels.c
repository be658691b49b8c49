// Fused elementwise kernels (see CKernels.h for the contracts).
//
// Each kernel is one GPT_BODY compiled at every level (gpt_levels.h) and reached through the
// gpt_elementwise table of that level. Loops are written plainly so that clang vectorises them; reductions allow
// reassociation (`#pragma clang fp reassociate(on)`), which is deterministic for a
// given binary and CPU.
#include "kernels_common.h"

// ---------------------------------------------------------------- LayerNorm

GPT_BODY void layernorm_forward_body(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, long rows, long C, float epsilon) {
#pragma clang fp reassociate(on)
    for (long row = 0; row < rows; row++) {
        const float *x = inp + row * C;
        float *y = out + row * C;
        float sum = 0.0f;
        for (long i = 0; i < C; i++) sum += x[i];
        float m = sum / (float)C;
        float variance = 0.0f;
        for (long i = 0; i < C; i++) { float d = x[i] - m; variance += d * d; }
        float s = 1.0f / sqrtf(variance / (float)C + epsilon);
        if (bias) {
            for (long i = 0; i < C; i++) y[i] = (x[i] - m) * s * weight[i] + bias[i];
        } else {
            for (long i = 0; i < C; i++) y[i] = (x[i] - m) * s * weight[i];
        }
        mean[row] = m;
        rstd[row] = s;
    }
}

GPT_BODY void layernorm_backward_body(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, long rows, long C) {
#pragma clang fp reassociate(on)
    for (long row = 0; row < rows; row++) {
        const float *x = inp + row * C;
        const float *dy = dout + row * C;
        float *dx = dinp + row * C;
        float m = mean[row], s = rstd[row];
        // Two reductions: mean of (dy * w) and mean of (dy * w * xhat).
        float dnormMean = 0.0f, dnormNormMean = 0.0f;
        for (long i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = weight[i] * dy[i];
            dnormMean += dnorm;
            dnormNormMean += dnorm * xhat;
        }
        dnormMean /= (float)C;
        dnormNormMean /= (float)C;
        for (long i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = weight[i] * dy[i];
            dweight[i] += xhat * dy[i];
            dx[i] += (dnorm - dnormMean - xhat * dnormNormMean) * s;
        }
        if (dbias) {
            for (long i = 0; i < C; i++) dbias[i] += dy[i];
        }
    }
}

// ---------------------------------------------------------------- activations

#define GELU_SCALE 0.7978845608028654f   // sqrt(2 / pi)
#define GELU_CUBIC 0.044715f

GPT_BODY void gelu_forward_body(float *out, const float *inp, long count) {
    for (long i = 0; i < count; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
        out[i] = 0.5f * x * (1.0f + fast_tanh(u));
    }
}

GPT_BODY void gelu_backward_body(float *dinp, const float *inp, const float *dout, long count) {
    for (long i = 0; i < count; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
        float t = fast_tanh(u);
        float du = GELU_SCALE * (1.0f + 3.0f * GELU_CUBIC * x * x);
        float local = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
        dinp[i] += local * dout[i];
    }
}

GPT_BODY void relu_forward_body(float *out, const float *inp, long count) {
    for (long i = 0; i < count; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

GPT_BODY void relu_backward_body(float *dinp, const float *inp, const float *dout, long count) {
    for (long i = 0; i < count; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

// ---------------------------------------------------------------- vector helpers

GPT_BODY void add_body(float *out, const float *a, const float *b, long count) {
    for (long i = 0; i < count; i++) out[i] = a[i] + b[i];
}

GPT_BODY void accumulate_body(float *out, const float *a, long count) {
    for (long i = 0; i < count; i++) out[i] += a[i];
}

GPT_BODY void scale_body(float *x, long count, float scale) {
    for (long i = 0; i < count; i++) x[i] *= scale;
}

GPT_BODY double sum_of_squares_body(const float *x, long count) {
#pragma clang fp reassociate(on)
    double sum = 0.0;
    for (long i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

// ---------------------------------------------------------------- softmax


GPT_BODY void causal_softmax_backward_row_body(float *dscores, const float *probs, const float *dprobs,
                                     long valid, long length, float scale) {
#pragma clang fp reassociate(on)
    float dot = 0.0f;
    for (long j = 0; j < valid; j++) dot += probs[j] * dprobs[j];
    for (long j = 0; j < valid; j++) dscores[j] = scale * probs[j] * (dprobs[j] - dot);
    for (long j = valid; j < length; j++) dscores[j] = 0.0f;
}

GPT_BODY void softmax_body(float *probs, const float *logits, long count, float inverse_temperature) {
#pragma clang fp reassociate(on)
    float maximum = -INFINITY;
    for (long j = 0; j < count; j++) maximum = fmaxf(maximum, logits[j]);
    float sum = 0.0f;
    for (long j = 0; j < count; j++) {
        float e = fast_exp((logits[j] - maximum) * inverse_temperature);
        probs[j] = e;
        sum += e;
    }
    float inverse = 1.0f / sum;
    for (long j = 0; j < count; j++) probs[j] *= inverse;
}

// ---------------------------------------------------------------- cross-entropy

GPT_BODY void cross_entropy_forward_body(float *losses, float *logsumexp, const float *logits,
                               const int32_t *targets, long rows, long V) {
#pragma clang fp reassociate(on)
    for (long row = 0; row < rows; row++) {
        const float *z = logits + row * V;
        float maximum = -INFINITY;
        for (long j = 0; j < V; j++) maximum = fmaxf(maximum, z[j]);
        float sum = 0.0f;
        for (long j = 0; j < V; j++) sum += fast_exp(z[j] - maximum);
        float lse = maximum + logf(sum);
        logsumexp[row] = lse;
        losses[row] = lse - z[targets[row]];
    }
}

GPT_BODY void cross_entropy_backward_body(float *dlogits, const float *logits, const float *logsumexp,
                                const int32_t *targets, float dloss, long rows, long V) {
    for (long row = 0; row < rows; row++) {
        const float *z = logits + row * V;
        float *dz = dlogits + row * V;
        float lse = logsumexp[row];
        for (long j = 0; j < V; j++) dz[j] = dloss * fast_exp(z[j] - lse);
        dz[targets[row]] -= dloss;
    }
}

GPT_BODY void distillation_rows_body(float *losses, float *dlogits, const float *student, const float *teacher,
                           const int32_t *targets, long rows, long V, float temperature, float alpha, float dloss) {
#pragma clang fp reassociate(on)
    float inverse = 1.0f / temperature;
    for (long row = 0; row < rows; row++) {
        const float *s = student + row * V;
        const float *t = teacher + row * V;
        float *d = dlogits + row * V;
        float ms = -INFINITY, mt = -INFINITY;
        for (long j = 0; j < V; j++) { ms = fmaxf(ms, s[j]); mt = fmaxf(mt, t[j]); }
        float zsT = 0.0f, ztT = 0.0f, zs1 = 0.0f;
        for (long j = 0; j < V; j++) {
            zsT += fast_exp((s[j] - ms) * inverse);
            ztT += fast_exp((t[j] - mt) * inverse);
            zs1 += fast_exp(s[j] - ms);
        }
        float lseS = logf(zsT), lseT = logf(ztT), lse1 = logf(zs1);
        float kl = 0.0f;
        for (long j = 0; j < V; j++) {
            float logPs = (s[j] - ms) * inverse - lseS;
            float logPt = (t[j] - mt) * inverse - lseT;
            float pt = fast_exp(logPt);
            float ps = fast_exp(logPs);
            float p1 = fast_exp(s[j] - ms - lse1);
            kl += pt * (logPt - logPs);
            d[j] = dloss * (alpha * temperature * (ps - pt) + (1.0f - alpha) * p1);
        }
        d[targets[row]] -= dloss * (1.0f - alpha);
        float ce = ms + lse1 - s[targets[row]];
        losses[row] = alpha * temperature * temperature * kl + (1.0f - alpha) * ce;
    }
}

// ---------------------------------------------------------------- dropout

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

GPT_BODY void dropout_body(float *out, const float *inp, long count, uint64_t seed, uint64_t offset,
                 float probability) {
    uint32_t threshold = (uint32_t)(probability * 16777216.0f);  // p * 2^24
    float keepScale = 1.0f / (1.0f - probability);
    uint64_t key = mix64(seed);
    for (long i = 0; i < count; i++) {
        uint32_t draw = (uint32_t)(mix64(key + (offset + (uint64_t)i) * 0x9E3779B97F4A7C15ULL) >> 40);
        out[i] = draw >= threshold ? inp[i] * keepScale : 0.0f;
    }
}

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS_VOID(layernorm_forward,
    (float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, long rows, long C, float epsilon),
    (out, mean, rstd, inp, weight, bias, rows, C, epsilon))
GPT_LEVELS_VOID(layernorm_backward,
    (float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const float *mean, const float *rstd, long rows, long C),
    (dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C))
GPT_LEVELS_VOID(gelu_forward, (float *out, const float *inp, long count), (out, inp, count))
GPT_LEVELS_VOID(gelu_backward,
    (float *dinp, const float *inp, const float *dout, long count),
    (dinp, inp, dout, count))
GPT_LEVELS_VOID(relu_forward, (float *out, const float *inp, long count), (out, inp, count))
GPT_LEVELS_VOID(relu_backward,
    (float *dinp, const float *inp, const float *dout, long count),
    (dinp, inp, dout, count))
GPT_LEVELS_VOID(add, (float *out, const float *a, const float *b, long count), (out, a, b, count))
GPT_LEVELS_VOID(accumulate, (float *out, const float *a, long count), (out, a, count))
GPT_LEVELS_VOID(scale, (float *x, long count, float scale), (x, count, scale))
GPT_LEVELS(double, sum_of_squares, (const float *x, long count), (x, count))
GPT_LEVELS_VOID(causal_softmax_row,
    (float *probs, const float *scores, long valid, long length, float scale),
    (probs, scores, valid, length, scale))
GPT_LEVELS_VOID(causal_softmax_backward_row,
    (float *dscores, const float *probs, const float *dprobs, long valid, long length, float scale),
    (dscores, probs, dprobs, valid, length, scale))
GPT_LEVELS_VOID(softmax,
    (float *probs, const float *logits, long count, float inverse_temperature),
    (probs, logits, count, inverse_temperature))
GPT_LEVELS_VOID(cross_entropy_forward,
    (float *losses, float *logsumexp, const float *logits, const int32_t *targets, long rows, long V),
    (losses, logsumexp, logits, targets, rows, V))
GPT_LEVELS_VOID(cross_entropy_backward,
    (float *dlogits, const float *logits, const float *logsumexp, const int32_t *targets, float dloss, long rows, long V),
    (dlogits, logits, logsumexp, targets, dloss, rows, V))
GPT_LEVELS_VOID(distillation_rows,
    (float *losses, float *dlogits, const float *student, const float *teacher, const int32_t *targets, long rows, long V, float temperature, float alpha, float dloss),
    (losses, dlogits, student, teacher, targets, rows, V, temperature, alpha, dloss))
GPT_LEVELS_VOID(dropout,
    (float *out, const float *inp, long count, uint64_t seed, uint64_t offset, float probability),
    (out, inp, count, seed, offset, probability))

#define TABLE(level) { \
    #level, layernorm_forward_##level, layernorm_backward_##level, gelu_forward_##level, \
    gelu_backward_##level, relu_forward_##level, relu_backward_##level, add_##level, accumulate_##level, \
    scale_##level, sum_of_squares_##level, causal_softmax_row_##level, causal_softmax_backward_row_##level, \
    softmax_##level, cross_entropy_forward_##level, cross_entropy_backward_##level, \
    distillation_rows_##level, dropout_##level }
static const gpt_elementwise tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_elementwise *gpt_elementwise_for_level(int level) { return &tables[gpt_usable_level(level)]; }
