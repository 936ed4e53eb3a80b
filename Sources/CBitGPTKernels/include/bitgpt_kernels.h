// bitgpt_kernels.h: the hot loops of the BitGPT runtime, in C.
//
// Not API: used only by the BitGPT Swift module. Every function works on a range of output rows
// [r0, r1) so callers can split rows across threads; calls on disjoint row ranges may run
// concurrently (they only read w, q and x, and write their own rows). Nothing is allocated.
//
// Shapes: W is (rows, cols) row-major as stored in a .bgpt tensor; x/q are (n, cols) row-major
// (n tokens); outputs are (n, ld) with element [t * ld + r], r0 <= r < r1 <= ld.
//
// Variants: each function has a scalar reference, an AVX2 (+FMA, F16C) and an AVX-512 (F, BW, VL,
// DQ + VNNI) implementation. The best one this CPU supports is chosen once, at the first call;
// the environment variable BGPT_KERNELS=scalar|avx2|avx512 forces one (ignored when unknown or
// unsupported). bgpt_k_variant() names the choice; bitgpt_kernels_variants.h reaches each one.
//
// Determinism: the value of an output element never depends on r0, r1 or n: integer results are
// exact, and every float variant accumulates an element with the same sequence of operations
// whichever rows and tokens share its call. So output is bit-identical for any thread count.
// Different variants may differ in the last bits of float results (different summation order).
//
// Exactness: the int32 sums of the ternary and int8 kernels equal the mathematical sum whenever
// it fits in int32 (wrapping as two's complement otherwise, like the scalar loop); the AVX-512 T2
// kernel additionally needs cols < 2^22.
#ifndef BITGPT_KERNELS_H
#define BITGPT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Per-token int8 quantization of activations (BitNet b1.58 / BitGPT absmax rule):
/// scale[t] = 127 / max(max_c |x[t][c]|, 1e-5); q[t][c] = clamp(round_half_even(x[t][c] * scale[t]), -128, 127).
/// Rounding uses the current floating-point rounding mode, which must be the default (nearest-even).
/// All variants give identical codes and scales for finite x; NaN elements are ignored by the max.
void bgpt_k_quantize_i8(int8_t *q, float *scale, const float *x, size_t n, size_t cols);

/// acc[t*ld + r] = sum_c T[r][c] * q[t][c], exactly, for T2-packed ternary W (formats/bgpt.md "T2").
/// w points at row 0; row r starts at w + r * row_bytes.
void bgpt_k_dot_t2(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n);

/// As bgpt_k_dot_t2 for T1-packed (base-3) ternary W (formats/bgpt.md "T1").
void bgpt_k_dot_t1(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                   size_t r0, size_t r1, size_t n);

/// acc[t*ld + r] = sum_c W[r][c] * q[t][c], exactly, for int8 codes W (row r at w + r * cols).
void bgpt_k_dot_i8(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0, size_t r1, size_t n);

/// out[t*ld + r] = sum_c W[r][c] * x[t][c] for f32 W.
void bgpt_k_matmul_f32(float *out, size_t ld, const float *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n);

/// As bgpt_k_matmul_f32 for IEEE binary16 W.
void bgpt_k_matmul_f16(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n);

/// As bgpt_k_matmul_f32 for bfloat16 W.
void bgpt_k_matmul_bf16(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n);

/// Causal attention of one query head over `npos` cached positions, into out (hd):
///   s_j = (Σ_i q[i]·K[i][j]) · scale, p = softmax(s), out[i] = Σ_j p_j·V[j][i]   (0 ≤ j < npos).
/// K is cached transposed: K[i][j] = kt[i·kt_ld + j]; V[j][i] = v[j·v_ld + i]; att (npos) is scratch
/// and holds p on return. Every variant performs the same float operations in the same order
/// (kernels_attention.c), so all give identical results. npos = 0 writes nothing.
void bgpt_k_attend_f32(float *out, const float *q, const float *kt, size_t kt_ld, const float *v, size_t v_ld,
                       size_t hd, size_t npos, float scale, float *att);

/// As bgpt_k_attend_f32 with K and V cached as IEEE binary16 (converted exactly to f32 on load).
void bgpt_k_attend_f16(float *out, const float *q, const uint16_t *kt, size_t kt_ld, const uint16_t *v, size_t v_ld,
                       size_t hd, size_t npos, float scale, float *att);

/// dst[i·stride] = src[i] as IEEE binary16, rounded to nearest even, for i < n (storing into an F16 KV cache).
void bgpt_k_f32_to_f16(uint16_t *dst, size_t stride, const float *src, size_t n);

/// Wrapping sum of p[0..n): a streaming read of 8·n bytes, for measuring read bandwidth.
uint64_t bgpt_k_stream_sum(const uint64_t *p, size_t n);

/// Name of the instruction-set variant chosen at run time ("scalar", "avx2", "avx512vnni", ...).
const char *bgpt_k_variant(void);

#ifdef __cplusplus
}
#endif

#endif
