// bitgpt_kernels.h: the hot loops of the BitGPT runtime, in C.
//
// Not API: used only by the BitGPT Swift module. Every function works on a range of output rows
// [r0, r1) so callers can split rows across threads. The result for an output element never
// depends on r0, r1 or n (same summation order), so output is bit-identical for any thread count.
//
// Shapes: W is (rows, cols) row-major as stored in a .bgpt tensor; x/q are (n, cols) row-major
// (n tokens); outputs are (n, ld) with element [t * ld + r].
#ifndef BITGPT_KERNELS_H
#define BITGPT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Per-token int8 quantization of activations (BitNet b1.58 / BitGPT absmax rule):
/// scale[t] = 127 / max(max_c |x[t][c]|, 1e-5); q[t][c] = clamp(round_half_even(x[t][c] * scale[t]), -128, 127).
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

/// Name of the instruction-set variant chosen at run time ("scalar", "avx2", "avx512vnni", ...).
const char *bgpt_k_variant(void);

#ifdef __cplusplus
}
#endif

#endif
