// bitgpt_kernels_variants.h: every instruction-set variant of the kernels, by name.
//
// Not API: for the kernel tests (each variant against the scalar reference) and kernel-bench.
// The runtime calls the plain bgpt_k_* functions of bitgpt_kernels.h, which use the variant chosen
// once at start-up.
#ifndef BITGPT_KERNELS_VARIANTS_H
#define BITGPT_KERNELS_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One variant's implementations of the bitgpt_kernels.h functions (same contracts).
typedef struct bgpt_k_table {
    const char *name;
    void (*quantize_i8)(int8_t *q, float *scale, const float *x, size_t n, size_t cols);
    void (*dot_t2)(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n);
    void (*dot_t1)(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n);
    void (*dot_i8)(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0, size_t r1,
                   size_t n);
    void (*matmul_f32)(float *out, size_t ld, const float *w, const float *x, size_t cols, size_t r0, size_t r1,
                       size_t n);
    void (*matmul_f16)(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1,
                       size_t n);
    void (*matmul_bf16)(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1,
                        size_t n);
    void (*attend_f32)(float *out, const float *q, const float *kt, size_t kt_ld, const float *v, size_t v_ld,
                       size_t hd, size_t npos, float scale, float *att);
    void (*attend_f16)(float *out, const float *q, const uint16_t *kt, size_t kt_ld, const uint16_t *v,
                       size_t v_ld, size_t hd, size_t npos, float scale, float *att);
} bgpt_k_table;

/// The table of the variant called `name` ("scalar", "avx2" or "avx512vnni"; "avx512" is accepted
/// for "avx512vnni"), or NULL when the name is unknown or this CPU (and OS) cannot run it.
/// Thread-safe; the tables are static and never freed.
const bgpt_k_table *bgpt_k_table_named(const char *name);

#ifdef __cplusplus
}
#endif

#endif
