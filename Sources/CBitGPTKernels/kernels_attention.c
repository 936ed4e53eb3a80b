// Causal attention of one query head over the KV cache (bitgpt_kernels.h bgpt_k_attend_*), in every
// variant.
//
// The keys are cached transposed, K[i][j] at kt + i·kt_ld + j (dimension i, position j), so the
// score of position j is formed in one SIMD lane: acc_j = 0, then acc_j = acc_j + q[i]·K[i][j] for
// i = 0, 1, … (a product rounded, then a sum rounded: no fused multiply-add). That is exactly the
// scalar loop, in every variant, so scores, probabilities and outputs are the same in all of
// them and equal to the NumPy reference's (tools/reference.py), which sums in index order too.
// Softmax: the maximum, e_j = exp(s_j − max) in double rounded once to float, the sum of e_j in
// index order, p_j = e_j · (1/sum). Output: o = 0, then o = o + p_j·V[j] for j = 0, 1, …
#include "kernels_internal.h"
#include <math.h>
#include <stdatomic.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

static inline float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalize
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400) == 0);
            bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// Softmax of att[0..npos) in place; shared by every variant (the exponentials are scalar).
static inline void softmax_rows(float *att, size_t npos, float m) {
    float sum = 0;
    for (size_t j = 0; j < npos; j++) {
        float e = (float)exp((double)(att[j] - m));
        att[j] = e;
        sum += e;
    }
    float inv = 1 / sum;
    for (size_t j = 0; j < npos; j++) att[j] *= inv;
}

// ---------------------------------------------------------------------------------------------
// Scalar reference.

#define ATTEND_GENERIC(NAME, ATTR, KT, LOAD)                                                            \
    ATTR void NAME(float *out, const float *q, const KT *kt, size_t kt_ld, const KT *v, size_t v_ld,    \
                   size_t hd, size_t npos, float scale, float *att) {                                   \
        if (npos == 0) return;                                                                          \
        for (size_t j = 0; j < npos; j++) att[j] = 0;                                                   \
        for (size_t i = 0; i < hd; i++) {                                                               \
            const KT *row = kt + i * kt_ld;                                                             \
            float qi = q[i];                                                                            \
            for (size_t j = 0; j < npos; j++) {                                                         \
                float p = qi * LOAD(row[j]);                                                            \
                att[j] = att[j] + p;                                                                    \
            }                                                                                           \
        }                                                                                               \
        float m = att[0] * scale;                                                                       \
        for (size_t j = 0; j < npos; j++) {                                                             \
            att[j] = att[j] * scale;                                                                    \
            if (att[j] > m) m = att[j];                                                                 \
        }                                                                                               \
        softmax_rows(att, npos, m);                                                                     \
        for (size_t i = 0; i < hd; i++) out[i] = 0;                                                     \
        for (size_t j = 0; j < npos; j++) {                                                             \
            const KT *vj = v + j * v_ld;                                                                \
            float pj = att[j];                                                                          \
            for (size_t i = 0; i < hd; i++) {                                                           \
                float p = pj * LOAD(vj[i]);                                                             \
                out[i] = out[i] + p;                                                                    \
            }                                                                                           \
        }                                                                                               \
    }

#define LOAD_F32(x) (x)
#define LOAD_F16(x) f16_bits_to_f32(x)
ATTEND_GENERIC(bgpt_k_attend_f32_scalar, , float, LOAD_F32)
ATTEND_GENERIC(bgpt_k_attend_f16_scalar, , uint16_t, LOAD_F16)

#if defined(__x86_64__)
// ---------------------------------------------------------------------------------------------
// AVX2: scores for 32 positions at a time (four independent 8-lane accumulators) and outputs for
// 32 dimensions at a time; positions or dimensions left over (fewer than 8) in scalar code with the
// same operations, so every lane still computes the scalar loop's value. The compiler does not
// vectorize the generic loop's per-element F16 conversion, which made this kernel a quarter of a
// batched decode step.

#define TGT256 __attribute__((target("avx2,f16c")))
#define FN256 static inline __attribute__((always_inline, target("avx2,f16c")))

FN256 __m256 load8_f32(const float *p) { return _mm256_loadu_ps(p); }
FN256 __m256 load8_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
FN256 float load1_f32(const float *p) { return *p; }
FN256 float load1_f16(const uint16_t *p) { return _cvtsh_ss(*p); }

#define ATTEND256(NAME, KT, LOAD8, LOAD1)                                                                \
    TGT256 void NAME(float *out, const float *q, const KT *kt, size_t kt_ld, const KT *v, size_t v_ld,  \
                     size_t hd, size_t npos, float scale, float *att) {                                 \
        if (npos == 0) return;                                                                           \
        const __m256 vs = _mm256_set1_ps(scale);                                                         \
        size_t j0 = 0;                                                                                   \
        for (; j0 + 8 <= npos; j0 += 32) {                                                               \
            size_t nv = (npos - j0) / 8 < 4 ? (npos - j0) / 8 : 4; /* vectors of 8 in this group */      \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                  \
            for (size_t i = 0; i < hd; i++) {                                                            \
                const KT *row = kt + i * kt_ld + j0;                                                     \
                __m256 qi = _mm256_set1_ps(q[i]);                                                        \
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(qi, LOAD8(row)));                                   \
                if (nv > 1) a1 = _mm256_add_ps(a1, _mm256_mul_ps(qi, LOAD8(row + 8)));                   \
                if (nv > 2) a2 = _mm256_add_ps(a2, _mm256_mul_ps(qi, LOAD8(row + 16)));                  \
                if (nv > 3) a3 = _mm256_add_ps(a3, _mm256_mul_ps(qi, LOAD8(row + 24)));                  \
            }                                                                                            \
            _mm256_storeu_ps(att + j0, _mm256_mul_ps(a0, vs));                                           \
            if (nv > 1) _mm256_storeu_ps(att + j0 + 8, _mm256_mul_ps(a1, vs));                           \
            if (nv > 2) _mm256_storeu_ps(att + j0 + 16, _mm256_mul_ps(a2, vs));                          \
            if (nv > 3) _mm256_storeu_ps(att + j0 + 24, _mm256_mul_ps(a3, vs));                          \
            if (nv < 4) { j0 += 8 * nv; break; }                                                         \
        }                                                                                                \
        if (j0 > npos) j0 = npos;                                                                        \
        for (size_t j = j0; j < npos; j++) {                                                             \
            float s = 0;                                                                                 \
            for (size_t i = 0; i < hd; i++) {                                                            \
                float p = q[i] * LOAD1(kt + i * kt_ld + j);                                              \
                s = s + p;                                                                               \
            }                                                                                            \
            att[j] = s * scale;                                                                          \
        }                                                                                                \
        float m = att[0];                                                                                \
        for (size_t j = 1; j < npos; j++)                                                                \
            if (att[j] > m) m = att[j];                                                                  \
        softmax_rows(att, npos, m);                                                                      \
        size_t i0 = 0;                                                                                   \
        for (; i0 + 8 <= hd; i0 += 32) {                                                                 \
            size_t nv = (hd - i0) / 8 < 4 ? (hd - i0) / 8 : 4;                                           \
            __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;                                  \
            for (size_t j = 0; j < npos; j++) {                                                          \
                const KT *vj = v + j * v_ld + i0;                                                        \
                __m256 pj = _mm256_set1_ps(att[j]);                                                      \
                o0 = _mm256_add_ps(o0, _mm256_mul_ps(pj, LOAD8(vj)));                                    \
                if (nv > 1) o1 = _mm256_add_ps(o1, _mm256_mul_ps(pj, LOAD8(vj + 8)));                    \
                if (nv > 2) o2 = _mm256_add_ps(o2, _mm256_mul_ps(pj, LOAD8(vj + 16)));                   \
                if (nv > 3) o3 = _mm256_add_ps(o3, _mm256_mul_ps(pj, LOAD8(vj + 24)));                   \
            }                                                                                            \
            _mm256_storeu_ps(out + i0, o0);                                                              \
            if (nv > 1) _mm256_storeu_ps(out + i0 + 8, o1);                                              \
            if (nv > 2) _mm256_storeu_ps(out + i0 + 16, o2);                                             \
            if (nv > 3) _mm256_storeu_ps(out + i0 + 24, o3);                                             \
            if (nv < 4) { i0 += 8 * nv; break; }                                                         \
        }                                                                                                \
        if (i0 > hd) i0 = hd;                                                                            \
        for (size_t i = i0; i < hd; i++) {                                                               \
            float o = 0;                                                                                 \
            for (size_t j = 0; j < npos; j++) {                                                          \
                float p = att[j] * LOAD1(v + j * v_ld + i);                                              \
                o = o + p;                                                                               \
            }                                                                                            \
            out[i] = o;                                                                                  \
        }                                                                                                \
    }

ATTEND256(bgpt_k_attend_f32_avx2, float, load8_f32, load1_f32)
ATTEND256(bgpt_k_attend_f16_avx2, uint16_t, load8_f16, load1_f16)

// ---------------------------------------------------------------------------------------------
// AVX-512: scores for 64 positions at a time (four independent accumulators), masked tail.

#define TGT512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c")))
#define FN512 static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,f16c")))

FN512 __m512 load16_f32(const float *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
FN512 __m512 load16_f16(const uint16_t *p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

static inline __mmask16 mask16(size_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

#define ATTEND512(NAME, KT, LOAD16)                                                                      \
    TGT512 void NAME(float *out, const float *q, const KT *kt, size_t kt_ld, const KT *v, size_t v_ld,  \
                     size_t hd, size_t npos, float scale, float *att) {                                 \
        if (npos == 0) return;                                                                           \
        const __m512 vs = _mm512_set1_ps(scale);                                                         \
        __m512 vmax = _mm512_set1_ps(-INFINITY);                                                         \
        for (size_t j0 = 0; j0 < npos; j0 += 64) {                                                       \
            __mmask16 m0 = mask16(npos - j0), m1 = npos > j0 + 16 ? mask16(npos - j0 - 16) : 0;          \
            __mmask16 m2 = npos > j0 + 32 ? mask16(npos - j0 - 32) : 0;                                  \
            __mmask16 m3 = npos > j0 + 48 ? mask16(npos - j0 - 48) : 0;                                  \
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                  \
            for (size_t i = 0; i < hd; i++) {                                                            \
                const KT *row = kt + i * kt_ld + j0;                                                     \
                __m512 qi = _mm512_set1_ps(q[i]);                                                        \
                a0 = _mm512_add_ps(a0, _mm512_mul_ps(qi, LOAD16(row, m0)));                              \
                if (m1) a1 = _mm512_add_ps(a1, _mm512_mul_ps(qi, LOAD16(row + 16, m1)));                 \
                if (m2) a2 = _mm512_add_ps(a2, _mm512_mul_ps(qi, LOAD16(row + 32, m2)));                 \
                if (m3) a3 = _mm512_add_ps(a3, _mm512_mul_ps(qi, LOAD16(row + 48, m3)));                 \
            }                                                                                            \
            a0 = _mm512_mul_ps(a0, vs); a1 = _mm512_mul_ps(a1, vs);                                      \
            a2 = _mm512_mul_ps(a2, vs); a3 = _mm512_mul_ps(a3, vs);                                      \
            vmax = _mm512_mask_max_ps(vmax, m0, vmax, a0);                                               \
            vmax = _mm512_mask_max_ps(vmax, m1, vmax, a1);                                               \
            vmax = _mm512_mask_max_ps(vmax, m2, vmax, a2);                                               \
            vmax = _mm512_mask_max_ps(vmax, m3, vmax, a3);                                               \
            _mm512_mask_storeu_ps(att + j0, m0, a0);                                                     \
            if (m1) _mm512_mask_storeu_ps(att + j0 + 16, m1, a1);                                        \
            if (m2) _mm512_mask_storeu_ps(att + j0 + 32, m2, a2);                                        \
            if (m3) _mm512_mask_storeu_ps(att + j0 + 48, m3, a3);                                        \
        }                                                                                                \
        softmax_rows(att, npos, _mm512_reduce_max_ps(vmax));                                             \
        for (size_t i0 = 0; i0 < hd; i0 += 64) {                                                         \
            __mmask16 m0 = mask16(hd - i0), m1 = hd > i0 + 16 ? mask16(hd - i0 - 16) : 0;                \
            __mmask16 m2 = hd > i0 + 32 ? mask16(hd - i0 - 32) : 0;                                      \
            __mmask16 m3 = hd > i0 + 48 ? mask16(hd - i0 - 48) : 0;                                      \
            __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;                                  \
            for (size_t j = 0; j < npos; j++) {                                                          \
                const KT *vj = v + j * v_ld + i0;                                                        \
                __m512 pj = _mm512_set1_ps(att[j]);                                                      \
                o0 = _mm512_add_ps(o0, _mm512_mul_ps(pj, LOAD16(vj, m0)));                               \
                if (m1) o1 = _mm512_add_ps(o1, _mm512_mul_ps(pj, LOAD16(vj + 16, m1)));                  \
                if (m2) o2 = _mm512_add_ps(o2, _mm512_mul_ps(pj, LOAD16(vj + 32, m2)));                  \
                if (m3) o3 = _mm512_add_ps(o3, _mm512_mul_ps(pj, LOAD16(vj + 48, m3)));                  \
            }                                                                                            \
            _mm512_mask_storeu_ps(out + i0, m0, o0);                                                     \
            if (m1) _mm512_mask_storeu_ps(out + i0 + 16, m1, o1);                                        \
            if (m2) _mm512_mask_storeu_ps(out + i0 + 32, m2, o2);                                        \
            if (m3) _mm512_mask_storeu_ps(out + i0 + 48, m3, o3);                                        \
        }                                                                                                \
    }

ATTEND512(bgpt_k_attend_f32_avx512, float, load16_f32)
ATTEND512(bgpt_k_attend_f16_avx512, uint16_t, load16_f16)
#else
// Not x86: the "avx2" and "avx512" tables are never chosen; alias them to the scalar code.
ATTEND_GENERIC(bgpt_k_attend_f32_avx2, , float, LOAD_F32)
ATTEND_GENERIC(bgpt_k_attend_f16_avx2, , uint16_t, LOAD_F16)
ATTEND_GENERIC(bgpt_k_attend_f32_avx512, , float, LOAD_F32)
ATTEND_GENERIC(bgpt_k_attend_f16_avx512, , uint16_t, LOAD_F16)
#endif

// ---------------------------------------------------------------------------------------------
// Storing into an F16 cache: round to nearest even, with F16C when the CPU has it (the same
// result as the compiler's conversion, which is the portable path).

#if defined(__x86_64__)
__attribute__((target("f16c"))) static void to_f16_f16c(uint16_t *dst, size_t stride, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i * stride] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}
#endif

static void to_f16_portable(uint16_t *dst, size_t stride, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        _Float16 h = (_Float16)src[i];
        memcpy(dst + i * stride, &h, 2);
    }
}

void bgpt_k_f32_to_f16(uint16_t *dst, size_t stride, const float *src, size_t n) {
#if defined(__x86_64__)
    static _Atomic int f16c = -1;  // racing first calls store the same value
    int has = atomic_load_explicit(&f16c, memory_order_relaxed);
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("f16c") ? 1 : 0;
        atomic_store_explicit(&f16c, has, memory_order_relaxed);
    }
    if (has) {
        to_f16_f16c(dst, stride, src, n);
        return;
    }
#endif
    to_f16_portable(dst, stride, src, n);
}
