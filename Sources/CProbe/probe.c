// The memory-bandwidth probe the benchmarks measure their ceiling with.
#include "CProbe.h"
#include "gpt_levels.h"

typedef float gpt_v16 __attribute__((vector_size(64), aligned(4)));

GPT_BODY float read_sum_body(const float *x, long count) {
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

// ---------------------------------------------------------------- every level, and the table

GPT_LEVELS(float, read_sum, (const float *x, long count), (x, count))

#define TABLE(level) { \
    #level, read_sum_##level }
static const gpt_probe tables[GPT_LEVEL_COUNT] = { TABLE(baseline), TABLE(avx2), TABLE(avx512) };
#undef TABLE

const gpt_probe *gpt_probe_for_level(int level) { return &tables[gpt_usable_level(level)]; }
