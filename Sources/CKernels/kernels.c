// Fused elementwise kernels (see CKernels.h for the contracts).
//
// Each exported kernel is compiled three times (AVX-512, AVX2+FMA, baseline) with
// clang's target_clones; the loader picks the best one for the CPU. No unsafe
// build flags are needed, and the binary still runs on older x86-64 machines.
// Loops are written plainly so that clang vectorises them; reductions allow
// reassociation (`#pragma clang fp reassociate(on)`), which is deterministic for a
// given binary and CPU.
#include "CKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
// Feature names (not "arch=…", which matches CPU models and so never picks AMD cores).
// In LLVM avx512f implies avx2, fma and f16c.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

// exp(x) to about 1 ulp on [-87, 88] (Cephes-style range reduction + polynomial),
// written branch-free so loops that call it vectorise.
static inline float fast_exp(float x) {
    x = fminf(fmaxf(x, -87.0f), 88.0f);
    // n = round(x / ln 2), through an integer conversion that vectorises on every ISA.
    float t = x * 1.44269504088896341f + 0.5f;
    float n = (float)(int32_t)t;
    n -= (n > t) ? 1.0f : 0.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    union { uint32_t bits; float value; } scale;
    scale.bits = (uint32_t)((int32_t)n + 127) << 23;
    return p * scale.value;
}

static inline float fast_tanh(float x) {
    return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

// ---------------------------------------------------------------- LayerNorm

MULTIVERSION
void gpt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
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

MULTIVERSION
void gpt_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
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

MULTIVERSION
void gpt_gelu_forward(float *out, const float *inp, long count) {
    for (long i = 0; i < count; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
        out[i] = 0.5f * x * (1.0f + fast_tanh(u));
    }
}

MULTIVERSION
void gpt_gelu_backward(float *dinp, const float *inp, const float *dout, long count) {
    for (long i = 0; i < count; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
        float t = fast_tanh(u);
        float du = GELU_SCALE * (1.0f + 3.0f * GELU_CUBIC * x * x);
        float local = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
        dinp[i] += local * dout[i];
    }
}

MULTIVERSION
void gpt_relu_forward(float *out, const float *inp, long count) {
    for (long i = 0; i < count; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

MULTIVERSION
void gpt_relu_backward(float *dinp, const float *inp, const float *dout, long count) {
    for (long i = 0; i < count; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

// ---------------------------------------------------------------- vector helpers

MULTIVERSION
void gpt_add(float *out, const float *a, const float *b, long count) {
    for (long i = 0; i < count; i++) out[i] = a[i] + b[i];
}

MULTIVERSION
void gpt_accumulate(float *out, const float *a, long count) {
    for (long i = 0; i < count; i++) out[i] += a[i];
}

MULTIVERSION
void gpt_scale(float *x, long count, float scale) {
    for (long i = 0; i < count; i++) x[i] *= scale;
}

MULTIVERSION
double gpt_sum_of_squares(const float *x, long count) {
#pragma clang fp reassociate(on)
    double sum = 0.0;
    for (long i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

// ---------------------------------------------------------------- softmax

MULTIVERSION
void gpt_causal_softmax_row(float *probs, const float *scores, long valid, long length, float scale) {
#pragma clang fp reassociate(on)
    float maximum = -INFINITY;
    for (long j = 0; j < valid; j++) maximum = fmaxf(maximum, scores[j]);
    float sum = 0.0f;
    for (long j = 0; j < valid; j++) {
        float e = fast_exp(scale * (scores[j] - maximum));
        probs[j] = e;
        sum += e;
    }
    float inverse = 1.0f / sum;
    for (long j = 0; j < valid; j++) probs[j] *= inverse;
    for (long j = valid; j < length; j++) probs[j] = 0.0f;
}

MULTIVERSION
void gpt_causal_softmax_backward_row(float *dscores, const float *probs, const float *dprobs,
                                     long valid, long length, float scale) {
#pragma clang fp reassociate(on)
    float dot = 0.0f;
    for (long j = 0; j < valid; j++) dot += probs[j] * dprobs[j];
    for (long j = 0; j < valid; j++) dscores[j] = scale * probs[j] * (dprobs[j] - dot);
    for (long j = valid; j < length; j++) dscores[j] = 0.0f;
}

MULTIVERSION
void gpt_softmax(float *probs, const float *logits, long count, float inverse_temperature) {
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

MULTIVERSION
void gpt_cross_entropy_forward(float *losses, float *logsumexp, const float *logits,
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

MULTIVERSION
void gpt_cross_entropy_backward(float *dlogits, const float *logits, const float *logsumexp,
                                const int32_t *targets, float dloss, long rows, long V) {
    for (long row = 0; row < rows; row++) {
        const float *z = logits + row * V;
        float *dz = dlogits + row * V;
        float lse = logsumexp[row];
        for (long j = 0; j < V; j++) dz[j] = dloss * fast_exp(z[j] - lse);
        dz[targets[row]] -= dloss;
    }
}

MULTIVERSION
void gpt_distillation_rows(float *losses, float *dlogits, const float *student, const float *teacher,
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

MULTIVERSION
void gpt_dropout(float *out, const float *inp, long count, uint64_t seed, uint64_t offset,
                 float probability) {
    uint32_t threshold = (uint32_t)(probability * 16777216.0f);  // p * 2^24
    float keepScale = 1.0f / (1.0f - probability);
    uint64_t key = mix64(seed);
    for (long i = 0; i < count; i++) {
        uint32_t draw = (uint32_t)(mix64(key + (offset + (uint64_t)i) * 0x9E3779B97F4A7C15ULL) >> 40);
        out[i] = draw >= threshold ? inp[i] * keepScale : 0.0f;
    }
}

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

// ---------------------------------------------------------------- t-SNE

MULTIVERSION
void gpt_tsne_affinities(float *P, const float *X, long n, long d, float perplexity, long first, long last) {
    double target = log((double)perplexity);
    for (long i = first; i < last; i++) {
        float *row = P + i * n;
        const float *xi = X + i * d;
        // Squared distances into the row first.
        for (long j = 0; j < n; j++) {
            const float *xj = X + j * d;
            float sum = 0.0f;
            for (long k = 0; k < d; k++) { float diff = xi[k] - xj[k]; sum += diff * diff; }
            row[j] = sum;
        }
        double beta = 1.0, low = -1.0, high = -1.0;
        double minimum = INFINITY;
        for (long j = 0; j < n; j++) if (j != i && row[j] < minimum) minimum = row[j];
        for (int step = 0; step < 100; step++) {
            double sum = 0.0, weighted = 0.0;
            for (long j = 0; j < n; j++) {
                if (j == i) continue;
                double w = exp(-(row[j] - minimum) * beta);
                sum += w;
                weighted += w * (row[j] - minimum);
            }
            double entropy = log(sum) + beta * weighted / sum;
            double difference = entropy - target;
            if (fabs(difference) < 1e-5) break;
            if (difference > 0) {  // too flat: sharpen
                low = beta;
                beta = high < 0 ? beta * 2 : (beta + high) / 2;
            } else {
                high = beta;
                beta = low < 0 ? beta / 2 : (beta + low) / 2;
            }
        }
        double sum = 0.0;
        for (long j = 0; j < n; j++) {
            double w = j == i ? 0.0 : exp(-(row[j] - minimum) * beta);
            row[j] = (float)w;
            sum += w;
        }
        for (long j = 0; j < n; j++) row[j] = (float)(row[j] / sum);
    }
}

MULTIVERSION
double gpt_tsne_kernel(float *num, const float *Y, long n, long dims, long first, long last) {
#pragma clang fp reassociate(on)
    double total = 0.0;
    for (long i = first; i < last; i++) {
        float *row = num + i * n;
        float sum = 0.0f;
        if (dims == 2) {
            float x = Y[2 * i], y = Y[2 * i + 1];
            for (long j = 0; j < n; j++) {
                float dx = x - Y[2 * j], dy = y - Y[2 * j + 1];
                float q = 1.0f / (1.0f + dx * dx + dy * dy);
                row[j] = q;
                sum += q;
            }
        } else {
            for (long j = 0; j < n; j++) {
                float distance = 0.0f;
                for (long k = 0; k < dims; k++) { float diff = Y[i * dims + k] - Y[j * dims + k]; distance += diff * diff; }
                float q = 1.0f / (1.0f + distance);
                row[j] = q;
                sum += q;
            }
        }
        sum -= row[i];
        row[i] = 0.0f;
        total += sum;
    }
    return total;
}

MULTIVERSION
void gpt_tsne_gradient(float *gradient, const float *P, const float *num, const float *Y, long n, long dims,
                       float exaggeration, float inverse_z, long first, long last) {
#pragma clang fp reassociate(on)
    for (long i = first; i < last; i++) {
        const float *p = P + i * n, *q = num + i * n;
        for (long k = 0; k < dims; k++) {
            float yi = Y[i * dims + k];
            float sum = 0.0f;
            for (long j = 0; j < n; j++) {
                float multiplier = (exaggeration * p[j] - q[j] * inverse_z) * q[j];
                sum += multiplier * (yi - Y[j * dims + k]);
            }
            gradient[i * dims + k] = 4.0f * sum;
        }
    }
}

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

void gpt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
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
