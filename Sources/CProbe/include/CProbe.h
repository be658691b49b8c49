// The memory-bandwidth probe the benchmarks measure their ceiling with, at every instruction level.
#ifndef SWIFT_GPT_CPROBE_H
#define SWIFT_GPT_CPROBE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Every pointer is non-null unless marked _Nullable (Swift then calls the tables without unwrapping).
#pragma clang assume_nonnull begin

typedef struct gpt_probe {
    /// The instruction level these were compiled for: "baseline", "avx2" or "avx512".
    const char *level;
    /// Sum of `count` floats, read once (for measuring memory read bandwidth).
    float (*read_sum)(const float *x, long count);
} gpt_probe;
/// The gpt_probe table compiled for `level` (clamped to what this CPU runs).
const gpt_probe *gpt_probe_for_level(int level);


#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
