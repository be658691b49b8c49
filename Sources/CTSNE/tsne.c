// t-SNE: input affinities, the Student-t kernel and the gradient, each over a block of rows.
#include "CTSNE.h"
#include "gpt_levels.h"

// ---------------------------------------------------------------- t-SNE

GPT_BODY void tsne_affinities_body(float *P, const float *X, long n, long d, float perplexity, long first, long last) {
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

GPT_BODY double tsne_kernel_body(float *num, const float *Y, long n, long dims, long first, long last) {
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

GPT_BODY void tsne_gradient_body(float *gradient, const float *P, const float *num, const float *Y, long n, long dims,
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

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS_VOID(tsne_affinities,
    (float *P, const float *X, long n, long d, float perplexity, long first, long last),
    (P, X, n, d, perplexity, first, last))
GPT_LEVELS(double, tsne_kernel,
    (float *num, const float *Y, long n, long dims, long first, long last),
    (num, Y, n, dims, first, last))
GPT_LEVELS_VOID(tsne_gradient,
    (float *gradient, const float *P, const float *num, const float *Y, long n, long dims, float exaggeration, float inverse_z, long first, long last),
    (gradient, P, num, Y, n, dims, exaggeration, inverse_z, first, last))

#define TABLE(level) { \
    #level, tsne_affinities_##level, tsne_kernel_##level, tsne_gradient_##level }
static const gpt_tsne tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_tsne *gpt_tsne_for_level(int level) { return &tables[gpt_usable_level(level)]; }
