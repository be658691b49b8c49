// word2vec training with negative sampling (skip-gram and CBOW), as in Mikolov's word2vec.c
// and gensim: per-sentence subsampling, a reduced random window, a unigram^0.75 table for
// negatives, a tabulated sigmoid, and lock-free (Hogwild) updates when several threads run.
#ifndef SWIFT_GPT_CWORD2VEC_H
#define SWIFT_GPT_CWORD2VEC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float *input;                  // (vocabulary, dimensions): the word vectors (syn0)
    float *output;                 // (vocabulary, dimensions): the context vectors (syn1neg)
    const uint32_t *cumulative;    // per word: the cumulative share of count^0.75, scaled to 2^31 (negatives ∝ count^0.75)
    long vocabulary;
    const uint32_t *keep_threshold; // per word: kept when (random & 0xFFFFFFFF) < threshold (subsampling)
    int dimensions;
    int window;
    int negatives;
    int skipgram;                  // 1: skip-gram, 0: CBOW (mean of the context)
} gpt_word2vec_model;

/// One pass over sentences [first, last): `ids` holds every sentence's word ids back to back,
/// sentence s being ids[starts[s] ..< starts[s + 1]]. The learning rate falls linearly from
/// `alpha` to `min_alpha` as (words_before + words processed here) goes to `total_words`.
/// `random` is this thread's generator state. Returns the words processed (before subsampling).
long gpt_word2vec_train(const gpt_word2vec_model *model, const int32_t *ids, const int64_t *starts, long first,
                        long last, uint64_t *random, float alpha, float min_alpha, long words_before,
                        long total_words, float *scratch);

/// The update training applies for one input vector against given output targets (label 1 for
/// the true context, 0 for negatives), with learning rate `alpha`; `error` is dimensions of scratch.
void gpt_word2vec_pair_update(float *input, float *output, const int32_t *targets, const float *labels, int count,
                              int dimensions, float alpha, float *error);

/// The loss −log σ(u·v) − Σ log σ(−u·v_neg) of one (input, output, negatives) example, exactly (for tests).
double gpt_word2vec_pair_loss(const float *input, const float *output, const int32_t *targets, const float *labels,
                              int count, int dimensions);

#ifdef __cplusplus
}
#endif

#endif
