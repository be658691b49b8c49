// One kernel body compiled for every instruction level, and the level chosen at run time.
//
// A kernel is written once as a `GPT_BODY` function; `GPT_LEVELS(…)` then defines one copy per level
// (baseline x86-64, AVX2+FMA, AVX-512) whose target attribute lets clang vectorise the inlined body for
// that level. Each C target gathers its copies into a table per level (a struct of function pointers);
// callers pick a table once — the best this CPU runs, or a lower one they ask for (tests run every
// level on one machine). No build flags are needed, and the binary runs on any x86-64 (or ARM, where
// every level is the plain build).
#ifndef SWIFT_GPT_LEVELS_H
#define SWIFT_GPT_LEVELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/// Instruction levels, lowest first.
enum { GPT_LEVEL_BASELINE = 0, GPT_LEVEL_AVX2 = 1, GPT_LEVEL_AVX512 = 2, GPT_LEVEL_COUNT = 3 };

/// The highest level this CPU runs (detected once).
int gpt_supported_level(void);
/// `level` clamped to [baseline, what this CPU runs].
int gpt_usable_level(int level);

#if defined(__x86_64__) && defined(__clang__)
// Feature names, not "arch=…" (which names CPU models and so never matches AMD cores).
#define GPT_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c")))
#define GPT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define GPT_TARGET_AVX512
#define GPT_TARGET_AVX2
#endif

/// A kernel's one body: inlined into each level's copy.
#define GPT_BODY static inline __attribute__((always_inline))

/// name_baseline, name_avx2 and name_avx512, each `name_body` compiled for its level.
#define GPT_LEVELS_VOID(name, params, args) \
    static GPT_TARGET_AVX512 void name##_avx512 params { name##_body args; } \
    static GPT_TARGET_AVX2 void name##_avx2 params { name##_body args; } \
    static void name##_baseline params { name##_body args; }
#define GPT_LEVELS(type, name, params, args) \
    static GPT_TARGET_AVX512 type name##_avx512 params { return name##_body args; } \
    static GPT_TARGET_AVX2 type name##_avx2 params { return name##_body args; } \
    static type name##_baseline params { return name##_body args; }

#endif
