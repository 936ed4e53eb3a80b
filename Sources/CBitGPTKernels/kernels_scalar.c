// Portable scalar kernels: the reference the SIMD variants are tested against, and the fallback.
#include "kernels_internal.h"
#include <math.h>

void bgpt_k_quantize_i8_scalar(int8_t *q, float *scale, const float *x, size_t n, size_t cols) {
    for (size_t t = 0; t < n; t++) {
        const float *xt = x + t * cols;
        float m = 0.0f;
        for (size_t c = 0; c < cols; c++) { float a = fabsf(xt[c]); if (a > m) m = a; }
        float s = 127.0f / (m > 1e-5f ? m : 1e-5f);
        scale[t] = s;
        for (size_t c = 0; c < cols; c++) {
            float v = nearbyintf(xt[c] * s);
            if (v > 127.0f) v = 127.0f;
            if (v < -128.0f) v = -128.0f;
            q[t * cols + c] = (int8_t)v;
        }
    }
}

/// Code c = t + 1 of weight n (0...3) of a T2 byte: bits 2n, 2n+1.
static inline int t2_code(uint8_t byte, int n) { return (byte >> (2 * n)) & 3; }

/// Code c = t + 1 of weight n (0...4) of a T1 byte: base-3 digit n, most significant first.
static inline int t1_code(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    uint8_t v = (uint8_t)(byte * pow3[n]);
    return (int)(((uint16_t)v * 3) >> 8);
}

/// acc[t·ld + r] = Σ_c t(w[r, c]) · q[t, c] for a ternary packing of PER weights per byte and
/// 32-byte blocks of 32·PER weights (byte j of a block holds weights j + 32·k, k < PER; the
/// tail packs PER consecutive weights per byte). One definition for T2 and T1.
static inline __attribute__((always_inline)) void ternary_dot_scalar(int32_t *acc, size_t ld, const uint8_t *w,
                                                                     size_t row_bytes, const int8_t *q, size_t cols,
                                                                     size_t r0, size_t r1, size_t n, int per,
                                                                     int (*code)(uint8_t, int)) {
    size_t weights = 32 * (size_t)per, full = cols / weights, tail = cols % weights;
    for (size_t t = 0; t < n; t++) {
        const int8_t *qt = q + t * cols;
        for (size_t r = r0; r < r1; r++) {
            const uint8_t *row = w + r * row_bytes;
            int32_t s = 0;
            for (size_t b = 0; b < full; b++) {
                const uint8_t *p = row + b * 32;
                const int8_t *x = qt + b * weights;
                for (int j = 0; j < 32; j++)
                    for (int k = 0; k < per; k++) s += (code(p[j], k) - 1) * x[32 * k + j];
            }
            const uint8_t *p = row + full * 32;
            const int8_t *x = qt + full * weights;
            for (size_t i = 0; i < tail; i++) s += (code(p[i / per], (int)(i % per)) - 1) * x[i];
            acc[t * ld + r] = s;
        }
    }
}

void bgpt_k_dot_t2_scalar(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                          size_t r0, size_t r1, size_t n) {
    ternary_dot_scalar(acc, ld, w, row_bytes, q, cols, r0, r1, n, 4, t2_code);
}

void bgpt_k_dot_t1_scalar(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols,
                          size_t r0, size_t r1, size_t n) {
    ternary_dot_scalar(acc, ld, w, row_bytes, q, cols, r0, r1, n, 5, t1_code);
}

void bgpt_k_dot_i8_scalar(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0, size_t r1, size_t n) {
    for (size_t t = 0; t < n; t++)
        for (size_t r = r0; r < r1; r++) {
            int32_t s = 0;
            for (size_t c = 0; c < cols; c++) s += (int32_t)w[r * cols + c] * q[t * cols + c];
            acc[t * ld + r] = s;
        }
}

void bgpt_k_matmul_f32_scalar(float *out, size_t ld, const float *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n) {
    for (size_t t = 0; t < n; t++)
        for (size_t r = r0; r < r1; r++) {
            float s = 0.0f;
            for (size_t c = 0; c < cols; c++) s += w[r * cols + c] * x[t * cols + c];
            out[t * ld + r] = s;
        }
}

static inline float f16_to_f32(uint16_t h) {
    _Float16 v;
    __builtin_memcpy(&v, &h, 2);
    return (float)v;
}

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}

void bgpt_k_matmul_f16_scalar(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n) {
    for (size_t t = 0; t < n; t++)
        for (size_t r = r0; r < r1; r++) {
            float s = 0.0f;
            for (size_t c = 0; c < cols; c++) s += f16_to_f32(w[r * cols + c]) * x[t * cols + c];
            out[t * ld + r] = s;
        }
}

void bgpt_k_matmul_bf16_scalar(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols, size_t r0, size_t r1, size_t n) {
    for (size_t t = 0; t < n; t++)
        for (size_t r = r0; r < r1; r++) {
            float s = 0.0f;
            for (size_t c = 0; c < cols; c++) s += bf16_to_f32(w[r * cols + c]) * x[t * cols + c];
            out[t * ld + r] = s;
        }
}
