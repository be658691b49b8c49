// What products.c and products_simd.c share: the baseline products (the fallback of every level)
// and each SIMD level's entry points, which the table in products.c lists.
#ifndef GPT_PRODUCTS_H
#define GPT_PRODUCTS_H

#include "CQuantized.h"

int gpt_is_k_type(int type);

#define PRODUCT_DECLARATIONS(suffix) \
    void integer_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, long columns, \
        gpt_q8_activations a); \
    void half_rows_times_vector_##suffix(int type, float *y, const void *w, long row_bytes, long rows, long columns, \
        const float *x); \
    void dequantize_rows_##suffix(int type, float *out, const void *w, long row_bytes, long rows, long columns); \
    void integer_rows_times_rows_##suffix(int type, float *y, long ldy, const void *w, long row_bytes, long rows, \
        long columns, const gpt_q8_activations *a, long count);

PRODUCT_DECLARATIONS(baseline)
PRODUCT_DECLARATIONS(avx2)
PRODUCT_DECLARATIONS(avx512)
#undef PRODUCT_DECLARATIONS

#endif
