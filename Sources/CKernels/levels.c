// Which instruction level this CPU runs, detected once.
#include "gpt_levels.h"

static int detect(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq"))
        return GPT_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return GPT_LEVEL_AVX2;
#endif
    return GPT_LEVEL_BASELINE;
}

int gpt_supported_level(void) {
    static int level = -1;  // a benign race: every thread computes the same value
    if (level < 0) level = detect();
    return level;
}

int gpt_usable_level(int level) {
    int supported = gpt_supported_level();
    if (level < GPT_LEVEL_BASELINE) return GPT_LEVEL_BASELINE;
    return level > supported ? supported : level;
}
