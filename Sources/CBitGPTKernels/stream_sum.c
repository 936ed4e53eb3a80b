// bgpt_k_stream_sum: the read-bandwidth probe of lm-bench. Integer addition is associative, so
// the compiler vectorizes the loop; the AVX2 version (chosen when the CPU has it) reads 32 bytes
// per load, so the loop is limited by memory, not by the adds.
#include "bitgpt_kernels.h"

static uint64_t sum_generic(const uint64_t *p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += p[i];
    return s;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += p[i];
    return s;
}
#endif

uint64_t bgpt_k_stream_sum(const uint64_t *p, size_t n) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return sum_avx2(p, n);
#endif
    return sum_generic(p, n);
}
