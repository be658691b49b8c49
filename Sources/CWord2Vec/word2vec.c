// word2vec training kernels (see CWord2Vec.h).
#include "CWord2Vec.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

#define EXP_TABLE_SIZE 1000
#define MAX_EXP 6
#define MAX_SENTENCE 10000

static float sigmoid_table[EXP_TABLE_SIZE];

// Filled once when the library loads, before any training thread reads it.
__attribute__((constructor)) static void prepare_sigmoid(void) {
    for (int i = 0; i < EXP_TABLE_SIZE; i++) {
        double e = exp(((double)i / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP);
        sigmoid_table[i] = (float)(e / (e + 1));
    }
}

static inline uint64_t next_random(uint64_t *state) {
    *state = *state * 25214903917ULL + 11;
    return *state;
}

static inline float dot(const float *a, const float *b, int n) {
#pragma clang fp reassociate(on)
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static inline void axpy(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/// One target of negative sampling: g = (label − σ(hidden·out))·α; error += g·out; out += g·hidden.
static inline void update_target(const float *hidden, float *error, float *out, float label, float alpha, int n) {
    float f = dot(hidden, out, n);
    float g;
    // The table index is computed only for f in [−MAX_EXP, MAX_EXP]: a NaN (a diverged run) takes
    // the last branch instead of indexing the table with (int)NaN.
    if (f > MAX_EXP) g = (label - 1) * alpha;
    else if (f >= -MAX_EXP) g = (label - sigmoid_table[(int)((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))]) * alpha;
    else g = (label - 0) * alpha;
    axpy(error, g, out, n);
    axpy(out, g, hidden, n);
}

/// A word drawn ∝ count^0.75: binary search of the cumulative table (as gensim; the table is
/// small enough to stay in cache, unlike word2vec.c's 10^8-entry one).
static inline int32_t draw_negative(const gpt_word2vec_model *m, uint64_t *random) {
    uint32_t target = (uint32_t)((next_random(random) >> 16) % m->cumulative[m->vocabulary - 1]);
    long low = 0, count = m->vocabulary;
    while (count > 0) {  // first index whose cumulative value exceeds target
        long half = count / 2;
        if (m->cumulative[low + half] <= target) {
            low += half + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    return (int32_t)low;
}

/// Negative-sampling update of `hidden` against the output vector of `word` and negatives;
/// accumulates the hidden gradient into `error`.
static inline void negative_sampling(const gpt_word2vec_model *m, const float *hidden, float *error, int32_t word,
                                     float alpha, uint64_t *random) {
    int n = m->dimensions;
    for (int d = 0; d <= m->negatives; d++) {
        int32_t target = word;
        float label = 1;
        if (d > 0) {
            target = draw_negative(m, random);
            if (target == word) continue;
            label = 0;
        }
        update_target(hidden, error, m->output + (long)target * n, label, alpha, n);
    }
}

void gpt_word2vec_pair_update(float *input, float *output, const int32_t *targets, const float *labels, int count,
                              int dimensions, float alpha, float *error) {
    memset(error, 0, (size_t)dimensions * sizeof(float));
    for (int d = 0; d < count; d++) {
        update_target(input, error, output + (long)targets[d] * dimensions, labels[d], alpha, dimensions);
    }
    axpy(input, 1, error, dimensions);
}

MULTIVERSION
long gpt_word2vec_train(const gpt_word2vec_model *m, const int32_t *ids, const int64_t *starts, long first,
                        long last, uint64_t *random_state, float alpha, float min_alpha, long words_before,
                        long total_words, float *scratch) {
    // A local copy: threads' states sit side by side in memory, and writing them there on
    // every draw would bounce one cache line between the cores.
    uint64_t local_random = *random_state;
    uint64_t *random = &local_random;
    int n = m->dimensions;
    float *hidden = scratch, *error = scratch + n;
    int32_t sentence[MAX_SENTENCE];
    long processed = 0;
    float rate = alpha;
    for (long s = first; s < last; s++) {
        // Subsample, then train on what is left.
        int length = 0;
        for (int64_t k = starts[s]; k < starts[s + 1] && length < MAX_SENTENCE; k++) {
            int32_t word = ids[k];
            processed++;
            if ((next_random(random) & 0xFFFFFFFFULL) >= m->keep_threshold[word]) continue;
            sentence[length++] = word;
        }
        rate = alpha - (alpha - min_alpha) * (float)((double)(words_before + processed) / (double)total_words);
        if (rate < min_alpha) rate = min_alpha;
        for (int i = 0; i < length; i++) {
            int reduced = (int)(next_random(random) % (uint64_t)m->window);
            int from = i - m->window + reduced, to = i + m->window - reduced;
            if (from < 0) from = 0;
            if (to >= length) to = length - 1;
            if (m->skipgram) {
                for (int c = from; c <= to; c++) {
                    if (c == i) continue;
                    float *input = m->input + (long)sentence[c] * n;
                    memset(error, 0, (size_t)n * sizeof(float));
                    negative_sampling(m, input, error, sentence[i], rate, random);
                    axpy(input, 1, error, n);
                }
            } else {
                memset(hidden, 0, (size_t)n * sizeof(float));
                int count = 0;
                for (int c = from; c <= to; c++) {
                    if (c == i) continue;
                    axpy(hidden, 1, m->input + (long)sentence[c] * n, n);
                    count++;
                }
                if (count == 0) continue;
                float inverse = 1.0f / (float)count;
                for (int k = 0; k < n; k++) hidden[k] *= inverse;
                memset(error, 0, (size_t)n * sizeof(float));
                negative_sampling(m, hidden, error, sentence[i], rate, random);
                for (int c = from; c <= to; c++) {
                    if (c == i) continue;
                    axpy(m->input + (long)sentence[c] * n, 1, error, n);
                }
            }
        }
    }
    *random_state = local_random;
    return processed;
}

double gpt_word2vec_pair_loss(const float *input, const float *output, const int32_t *targets, const float *labels,
                              int count, int dimensions) {
    double loss = 0;
    for (int d = 0; d < count; d++) {
        const float *out = output + (long)targets[d] * dimensions;
        double f = 0;
        for (int i = 0; i < dimensions; i++) f += (double)input[i] * out[i];
        double sign = labels[d] > 0.5f ? 1.0 : -1.0;
        loss -= log(1.0 / (1.0 + exp(-sign * f)));
    }
    return loss;
}
