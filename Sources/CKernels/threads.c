// Small helpers for the worker pool: a spin-wait hint and a per-thread "inside a region" flag
// (Swift has no cheap thread-local storage of its own).
#include "CKernels.h"

void gpt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static _Thread_local int in_region = 0;

int gpt_thread_in_region(void) { return in_region; }

void gpt_set_thread_in_region(int inside) { in_region = inside; }
