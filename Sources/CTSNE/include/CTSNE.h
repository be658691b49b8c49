// t-SNE's inner loops, each over a block of rows, at every instruction level (gpt_levels.h).
#ifndef SWIFT_GPT_CTSNE_H
#define SWIFT_GPT_CTSNE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Every pointer is non-null unless marked _Nullable (Swift then calls the tables without unwrapping).
#pragma clang assume_nonnull begin

typedef struct gpt_tsne {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// t-SNE, rows [first, last): the conditional affinities P(j|i) of points X (n × d), each row's
    /// Gaussian width found by bisection so that its perplexity equals `perplexity` (writes P rows).
    void (*tsne_affinities)(float *P, const float *X, long n, long d, float perplexity, long first, long last);
    /// t-SNE, rows [first, last): num[i][j] = 1 / (1 + |y_i − y_j|²) (0 on the diagonal); returns the rows' sum.
    double (*tsne_kernel)(float *num, const float *Y, long n, long dims, long first, long last);
    /// t-SNE gradient rows [first, last): 4 Σ_j (exaggeration·P_ij − num_ij / Z) num_ij (y_i − y_j) (writes).
    void (*tsne_gradient)(float *gradient, const float *P, const float *num, const float *Y, long n, long dims,
        float exaggeration, float inverse_z, long first, long last);
} gpt_tsne;
/// The gpt_tsne table compiled for `level` (clamped to what this CPU runs).
const gpt_tsne *gpt_tsne_for_level(int level);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
