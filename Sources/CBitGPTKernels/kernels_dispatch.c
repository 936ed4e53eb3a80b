// The public bgpt_k_* entry points: each forwards to the variant chosen once at run time.
//
// Choice: the best variant this CPU and OS support (avx512vnni > avx2 > scalar), unless the
// environment variable BGPT_KERNELS names another one (scalar, avx2, avx512 or avx512vnni) that
// this CPU can run; an unknown or unsupported name is ignored. bgpt_k_variant() reports the choice.
#include "kernels_internal.h"
#include <stdatomic.h>
#include <stdlib.h>

#define BGPT_TABLE(V)                                                                                  \
    static const bgpt_k_table table_##V = {                                                            \
        #V, bgpt_k_quantize_i8_##V, bgpt_k_dot_t2_##V, bgpt_k_dot_t1_##V, bgpt_k_dot_i8_##V,           \
        bgpt_k_matmul_f32_##V, bgpt_k_matmul_f16_##V, bgpt_k_matmul_bf16_##V,                          \
        bgpt_k_attend_f32_##V, bgpt_k_attend_f16_##V,                                                  \
    };

BGPT_TABLE(scalar)
BGPT_TABLE(avx2)

static const bgpt_k_table table_avx512vnni = {
    "avx512vnni", bgpt_k_quantize_i8_avx512, bgpt_k_dot_t2_avx512, bgpt_k_dot_t1_avx512, bgpt_k_dot_i8_avx512,
    bgpt_k_matmul_f32_avx512, bgpt_k_matmul_f16_avx512, bgpt_k_matmul_bf16_avx512,
    bgpt_k_attend_f32_avx512, bgpt_k_attend_f16_avx512,
};

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

static int cpu_has_avx512vnni(void) {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
}

const bgpt_k_table *bgpt_k_table_named(const char *name) {
    if (name == NULL) return NULL;
    if (strcmp(name, "scalar") == 0) return &table_scalar;
    if (strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &table_avx2 : NULL;
    if (strcmp(name, "avx512") == 0 || strcmp(name, "avx512vnni") == 0)
        return cpu_has_avx512vnni() ? &table_avx512vnni : NULL;
    return NULL;
}

static const bgpt_k_table *choose(void) {
    const bgpt_k_table *forced = bgpt_k_table_named(getenv("BGPT_KERNELS"));
    if (forced != NULL) return forced;
    if (cpu_has_avx512vnni()) return &table_avx512vnni;
    if (cpu_has_avx2()) return &table_avx2;
    return &table_scalar;
}

// Racing first calls all compute and store the same pointer, so a plain atomic suffices.
static _Atomic(const bgpt_k_table *) active_table;

static inline const bgpt_k_table *active(void) {
    const bgpt_k_table *t = atomic_load_explicit(&active_table, memory_order_acquire);
    if (t == NULL) {
        t = choose();
        atomic_store_explicit(&active_table, t, memory_order_release);
    }
    return t;
}

const char *bgpt_k_variant(void) { return active()->name; }

void bgpt_k_quantize_i8(int8_t *q, float *scale, const float *x, size_t n, size_t cols) {
    active()->quantize_i8(q, scale, x, n, cols);
}

void bgpt_k_dot_t2(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n) {
    active()->dot_t2(acc, ld, w, row_bytes, q, cols, r0, r1, n);
}

void bgpt_k_dot_t1(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n) {
    active()->dot_t1(acc, ld, w, row_bytes, q, cols, r0, r1, n);
}

void bgpt_k_dot_i8(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0, size_t r1,
                   size_t n) {
    active()->dot_i8(acc, ld, w, q, cols, r0, r1, n);
}

void bgpt_k_matmul_f32(float *out, size_t ld, const float *w, const float *x, size_t cols, size_t r0, size_t r1,
                       size_t n) {
    active()->matmul_f32(out, ld, w, x, cols, r0, r1, n);
}

void bgpt_k_matmul_f16(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0,
                       size_t r1, size_t n) {
    active()->matmul_f16(out, ld, w, x, cols, r0, r1, n);
}

void bgpt_k_matmul_bf16(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0,
                        size_t r1, size_t n) {
    active()->matmul_bf16(out, ld, w, x, cols, r0, r1, n);
}

void bgpt_k_attend_f32(float *out, const float *q, const float *kt, size_t kt_ld, const float *v, size_t v_ld,
                       size_t hd, size_t npos, float scale, float *att) {
    active()->attend_f32(out, q, kt, kt_ld, v, v_ld, hd, npos, scale, att);
}

void bgpt_k_attend_f16(float *out, const float *q, const uint16_t *kt, size_t kt_ld, const uint16_t *v, size_t v_ld,
                       size_t hd, size_t npos, float scale, float *att) {
    active()->attend_f16(out, q, kt, kt_ld, v, v_ld, hd, npos, scale, att);
}
