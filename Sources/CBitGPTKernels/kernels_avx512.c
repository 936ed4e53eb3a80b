// AVX-512 (F, BW, VL, DQ) + VNNI variant. Ternary and int8 dots use vpdpbusd, which multiplies
// unsigned bytes by signed bytes and adds groups of four into int32 lanes without saturation:
//   ternary: codes c = t + 1 ∈ {0, 1, 2} are the unsigned operand, Σ c·q − Σ q = Σ t·q;
//   int8:    w ⊕ 0x80 = w + 128 ∈ [0, 255] is the unsigned operand, Σ (w + 128)·q − 128·Σ q = Σ w·q.
// Both are exact in int32 (wrapping arithmetic, the same as the scalar sum modulo 2^32).
// Floats: one 16-lane FMA accumulator per output element, masked loads for the column tail, one
// fixed horizontal reduction (see kernels_internal.h for why this keeps results independent of the
// tiling).
#include "kernels_internal.h"
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define TILE_FN static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

// ---------------------------------------------------------------------------------------------
// Activation quantization.

TGT void bgpt_k_quantize_i8_avx512(int8_t *q, float *scale, const float *x, size_t n, size_t cols) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    size_t full = cols / 16, rem = cols % 16;
    __mmask16 tm = (__mmask16)((1u << rem) - 1);
    for (size_t t = 0; t < n; t++) {
        const float *xt = x + t * cols;
        int8_t *qt = q + t * cols;
        // max(a, m) returns m when a is NaN: NaN inputs are skipped, as in the scalar loop.
        __m512 m = _mm512_setzero_ps();
        for (size_t i = 0; i < full; i++) m = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(xt + 16 * i), absmask), m);
        if (rem) m = _mm512_max_ps(_mm512_and_ps(_mm512_maskz_loadu_ps(tm, xt + 16 * full), absmask), m);
        float mx = _mm512_reduce_max_ps(m);
        float s = 127.0f / (mx > 1e-5f ? mx : 1e-5f);
        scale[t] = s;
        const __m512 vs = _mm512_set1_ps(s);
        // cvtps rounds to nearest even (default MXCSR), cvtsepi32 saturates to [-128, 127].
        for (size_t i = 0; i < full; i++) {
            __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xt + 16 * i), vs));
            _mm_storeu_si128((__m128i *)(qt + 16 * i), _mm512_cvtsepi32_epi8(v));
        }
        if (rem) {
            __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(tm, xt + 16 * full), vs));
            _mm512_mask_cvtsepi32_storeu_epi8(qt + 16 * full, tm, v);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared preparation of a token chunk for the byte-dot kernels: Σ q and permuted tails.

TILE_FN int32_t sum_q512(const int8_t *q, size_t cols) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i s = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= cols; i += 64) s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(q + i));
    if (i < cols) {
        __mmask64 m = (__mmask64)((~0ull) >> (64 - (cols - i)));
        s = _mm512_dpbusd_epi32(s, ones, _mm512_maskz_loadu_epi8(m, q + i));
    }
    return _mm512_reduce_add_epi32(s);
}

static inline __mmask32 bytes_mask32(size_t nbytes) {
    return nbytes >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << nbytes) - 1);
}

// Sums of four int32 vectors, [Σa0, Σa1, Σa2, Σa3], in 13 instructions instead of four reductions.
TILE_FN __m128i reduce4_epi32(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
    __m256i v = _mm256_add_epi32(_mm512_castsi512_si256(u), _mm512_extracti64x4_epi64(u, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

// Stores the RT × TT sums of acc minus corr[j] (the Σ q term of token t + j) at out[(t + j)·ld + r + i].
// Four sums at a time go through reduce4_epi32: four rows of a token, or two rows of two tokens.
#define STORE_SUMS(k, r, t, RT, TT, acc, corr)                                                         \
    do {                                                                                               \
        int32_t *out_ = (int32_t *)(k)->out;                                                           \
        if ((RT) == 4) {                                                                               \
            for (int j = 0; j < (TT); j++) {                                                           \
                int32_t *o_ = out_ + ((t) + j) * (k)->ld + (r);                                        \
                __m128i s_ = reduce4_epi32(acc[0][j], acc[1][j], acc[2][j], acc[3][j]);                \
                _mm_storeu_si128((__m128i *)o_, _mm_sub_epi32(s_, _mm_set1_epi32((corr)[j])));         \
            }                                                                                          \
        } else {                                                                                       \
            int j = 0;                                                                                 \
            if ((RT) == 2)                                                                             \
                for (; j + 2 <= (TT); j += 2) {                                                        \
                    int32_t *o_ = out_ + ((t) + j) * (k)->ld + (r);                                    \
                    __m128i s_ = reduce4_epi32(acc[0][j], acc[1][j], acc[0][j + 1], acc[1][j + 1]);    \
                    s_ = _mm_sub_epi32(s_, _mm_setr_epi32((corr)[j], (corr)[j], (corr)[j + 1], (corr)[j + 1])); \
                    _mm_storel_epi64((__m128i *)o_, s_);                                               \
                    _mm_storel_epi64((__m128i *)(o_ + (k)->ld), _mm_unpackhi_epi64(s_, s_));           \
                }                                                                                      \
            for (; j < (TT); j++)                                                                      \
                for (int i = 0; i < (RT); i++)                                                         \
                    out_[((t) + j) * (k)->ld + (r) + i] = _mm512_reduce_add_epi32(acc[i][j]) - (corr)[j]; \
        }                                                                                              \
    } while (0)

// ---------------------------------------------------------------------------------------------
// T2: one 32-byte block = 128 weights, byte j holds elements j, 32+j, 64+j, 96+j in bit pairs
// k = 0..3. The block is broadcast to both halves of a zmm and masked, without shifting, with
// 0x03 | 0x0C and 0x30 | 0xC0: bytes then hold 4^k·c for elements 0–31 | 32–63 and 64–95 | 96–127,
// matching two plain 64-byte loads of q. Dword lanes 0–7 only see the low half and 8–15 the high
// half, so each lane of the two accumulators is 4^k times an exact partial sum for one k; one
// per-lane arithmetic shift at the end removes the factor exactly (lanes stay below 2^31 for
// cols < 2^22). Per block and row: one load, two ANDs, two vpdpbusd.

TILE_FN void t2_tile512(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const __m512i m01 = _mm512_inserti64x4(_mm512_set1_epi8(0x03), _mm256_set1_epi8(0x0c), 1);
    const __m512i m23 = _mm512_inserti64x4(_mm512_set1_epi8(0x30), _mm256_set1_epi8((char)0xc0), 1);
    const __m512i sh01 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(2), 1);
    const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi32(4), _mm256_set1_epi32(6), 1);
    const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m512i a01[4][4], a23[4][4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) a01[i][j] = a23[i][j] = _mm512_setzero_si512();
    size_t nb = k->full + (k->tail ? 1 : 0);
    __mmask32 tm = bytes_mask32(k->tail);
    for (size_t b = 0; b < nb; b++) {
        int is_tail = b == k->full;
        __m512i c01[4], c23[4];
        for (int i = 0; i < RT; i++) {
            const uint8_t *p = w + i * k->wstride + 32 * b;
            __m256i raw = is_tail ? _mm256_maskz_loadu_epi8(tm, p) : _mm256_loadu_si256((const __m256i *)p);
            __m512i wv = _mm512_broadcast_i64x4(raw);
            c01[i] = _mm512_and_si512(wv, m01);
            c23[i] = _mm512_and_si512(wv, m23);
        }
        for (int j = 0; j < TT; j++) {
            const int8_t *xb = is_tail ? k->tq + (t + j) * BGPT_TAIL_BYTES : x + j * k->cols + 128 * b;
            __m512i q0 = _mm512_loadu_si512(xb), q1 = _mm512_loadu_si512(xb + 64);
            for (int i = 0; i < RT; i++) {
                a01[i][j] = _mm512_dpbusd_epi32(a01[i][j], c01[i], q0);
                a23[i][j] = _mm512_dpbusd_epi32(a23[i][j], c23[i], q1);
            }
        }
    }
    __m512i acc[4][4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++)
            acc[i][j] = _mm512_add_epi32(_mm512_srav_epi32(a01[i][j], sh01), _mm512_srav_epi32(a23[i][j], sh23));
    STORE_SUMS(k, r, t, RT, TT, acc, k->sq + t);
}

BGPT_TERNARY_ENTRY(TGT, bgpt_k_dot_t2_avx512, t2_tile512, sum_q512, 128, 4, bgpt_t2_tail_bytes, 0, 2, 4)

// ---------------------------------------------------------------------------------------------
// T1: one 32-byte block = 160 weights, byte j holds elements j + 32·d as base-3 digit d (0 most
// significant): x_d = (b·3^d) mod 256 and c_d = (3·x_d) >> 8, that is c_d = [x_d ≥ 86] + [x_d ≥ 171].
// Two blocks fill a zmm; per digit: two byte compares and two masked moves give the codes, and
// x_{d+1} = 3·x_d (mod 256) is two byte adds, so port 0 only runs vpdpbusd. The activations of
// digit d of the two blocks are two 32-byte loads joined in one zmm.

TILE_FN __m512i join256(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

/// Adds Σ c·q of one pair of blocks: wv[i] holds row i's two blocks; token j's activations of
/// digit d are at qlo[j] + 32·d and (when has_hi) qhi[j] + 32·d.
TILE_FN void t1_pair512(__m512i acc[4][4], __m512i *wv, const int8_t *const *qlo, const int8_t *const *qhi,
                        int has_hi, int RT, int TT) {
    const __m512i k86 = _mm512_set1_epi8(86), k171 = _mm512_set1_epi8((char)171);
    const __m512i one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    for (int d = 0; d < 5; d++) {
        __m512i c[4];
        for (int i = 0; i < RT; i++) {
            __mmask64 ge86 = _mm512_cmpge_epu8_mask(wv[i], k86), ge171 = _mm512_cmpge_epu8_mask(wv[i], k171);
            c[i] = _mm512_mask_mov_epi8(_mm512_maskz_mov_epi8(ge86, one), ge171, two);
            if (d < 4) wv[i] = _mm512_add_epi8(_mm512_add_epi8(wv[i], wv[i]), wv[i]);
        }
        for (int j = 0; j < TT; j++) {
            __m256i lo = _mm256_loadu_si256((const __m256i *)(qlo[j] + 32 * d));
            __m256i hi = has_hi ? _mm256_loadu_si256((const __m256i *)(qhi[j] + 32 * d)) : _mm256_setzero_si256();
            __m512i qv = join256(lo, hi);
            for (int i = 0; i < RT; i++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], c[i], qv);
        }
    }
}

TILE_FN void t1_tile512(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m512i acc[4][4], wv[4];
    const int8_t *qlo[4], *qhi[4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) acc[i][j] = _mm512_setzero_si512();
    size_t b = 0;
    for (; b + 2 <= k->full; b += 2) {
        for (int i = 0; i < RT; i++) wv[i] = _mm512_loadu_si512(w + i * k->wstride + 32 * b);
        for (int j = 0; j < TT; j++) {
            qlo[j] = x + j * k->cols + 160 * b;
            qhi[j] = qlo[j] + 160;
        }
        t1_pair512(acc, wv, qlo, qhi, 1, RT, TT);
    }
    // Leftovers: at most one full block and the tail (masked loads; zero bytes give code 0).
    size_t left = (k->full - b) + (k->tail ? 1 : 0);
    if (left > 0) {
        __mmask32 tm = bytes_mask32(k->tail);
        for (int i = 0; i < RT; i++) {
            const uint8_t *p = w + i * k->wstride + 32 * b;
            __m256i lo = b < k->full ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi8(tm, p);
            __m256i hi = left == 2 ? _mm256_maskz_loadu_epi8(tm, p + 32) : _mm256_setzero_si256();
            wv[i] = join256(lo, hi);
        }
        for (int j = 0; j < TT; j++) {
            const int8_t *tq = k->tq + (t + j) * BGPT_TAIL_BYTES;
            qlo[j] = b < k->full ? x + j * k->cols + 160 * b : tq;
            qhi[j] = tq;
        }
        t1_pair512(acc, wv, qlo, qhi, left == 2, RT, TT);
    }
    STORE_SUMS(k, r, t, RT, TT, acc, k->sq + t);
}

BGPT_TERNARY_ENTRY(TGT, bgpt_k_dot_t1_avx512, t1_tile512, sum_q512, 160, 5, bgpt_t1_tail_bytes, 0, 2, 4)

// ---------------------------------------------------------------------------------------------
// I8: 64 columns per step, masked loads for the column tail (masked-off weights become 0x80 after
// the xor, but meet zero activations).

TILE_FN void i8_tile512(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const int8_t *w = (const int8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m512i acc[4][4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) acc[i][j] = _mm512_setzero_si512();
    for (size_t b = 0; b < k->full; b++) {
        __m512i u[4];
        for (int i = 0; i < RT; i++) u[i] = _mm512_xor_si512(_mm512_loadu_si512(w + i * k->wstride + 64 * b), bias);
        for (int j = 0; j < TT; j++) {
            __m512i qv = _mm512_loadu_si512(x + j * k->cols + 64 * b);
            for (int i = 0; i < RT; i++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], u[i], qv);
        }
    }
    if (k->tail) {
        __mmask64 m = (__mmask64)((~0ull) >> (64 - k->tail));
        __m512i u[4];
        for (int i = 0; i < RT; i++)
            u[i] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, w + i * k->wstride + 64 * k->full), bias);
        for (int j = 0; j < TT; j++) {
            __m512i qv = _mm512_maskz_loadu_epi8(m, x + j * k->cols + 64 * k->full);
            for (int i = 0; i < RT; i++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], u[i], qv);
        }
    }
    int32_t corr[4];
    for (int j = 0; j < TT; j++) corr[j] = (int32_t)(128u * (uint32_t)k->sq[t + j]);
    STORE_SUMS(k, r, t, RT, TT, acc, corr);
}

TGT void bgpt_k_dot_i8_avx512(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0,
                              size_t r1, size_t n) {
    if (r0 >= r1 || n == 0) return;  // no rows or no tokens: read nothing (q may be short)
    int32_t sq[BGPT_TOKEN_CHUNK];
    bgpt_kctx k = {0};
    k.ld = ld; k.w = w; k.wstride = cols; k.cols = cols;
    k.full = cols / 64; k.tail = cols % 64;
    k.sq = sq;
    for (size_t t0 = 0; t0 < n; t0 += BGPT_TOKEN_CHUNK) {
        size_t tn = n - t0 < BGPT_TOKEN_CHUNK ? n - t0 : BGPT_TOKEN_CHUNK;
        for (size_t t = 0; t < tn; t++) sq[t] = sum_q512(q + (t0 + t) * cols, cols);
        k.out = acc + t0 * ld; k.x = q + t0 * cols;
        BGPT_DRIVE(i8_tile512, &k, r0, r1, tn, 4, 4);
    }
}

// ---------------------------------------------------------------------------------------------
// Float matmuls. LOADW(p, mask) gives 16 weights as f32 (masked-off lanes zero).

TILE_FN __m512 loadw_f32(const void *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
TILE_FN __m512 loadw_f16(const void *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
TILE_FN __m512 loadw_bf16(const void *p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

#define FLOAT_TILE512(NAME, LOADW, ESIZE)                                                                \
    TILE_FN void NAME(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {                         \
        const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;                                      \
        const float *x = (const float *)k->x + t * k->cols;                                             \
        if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);                                             \
        __m512 acc[4][4];                                                                               \
        for (int i = 0; i < RT; i++)                                                                    \
            for (int j = 0; j < TT; j++) acc[i][j] = _mm512_setzero_ps();                               \
        for (size_t b = 0; b < k->full; b++) {                                                          \
            __m512 wv[4];                                                                               \
            for (int i = 0; i < RT; i++) wv[i] = LOADW(w + i * k->wstride + 16 * (ESIZE) * b, 0xffff);  \
            for (int j = 0; j < TT; j++) {                                                              \
                __m512 xv = _mm512_loadu_ps(x + j * k->cols + 16 * b);                                  \
                for (int i = 0; i < RT; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);         \
            }                                                                                           \
        }                                                                                               \
        if (k->tail) {                                                                                  \
            __mmask16 m = (__mmask16)((1u << k->tail) - 1);                                             \
            __m512 wv[4];                                                                               \
            for (int i = 0; i < RT; i++) wv[i] = LOADW(w + i * k->wstride + 16 * (ESIZE) * k->full, m); \
            for (int j = 0; j < TT; j++) {                                                              \
                __m512 xv = _mm512_maskz_loadu_ps(m, x + j * k->cols + 16 * k->full);                   \
                for (int i = 0; i < RT; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);         \
            }                                                                                           \
        }                                                                                               \
        float *out = (float *)k->out;                                                                   \
        for (int j = 0; j < TT; j++)                                                                    \
            for (int i = 0; i < RT; i++) out[(t + j) * k->ld + r + i] = _mm512_reduce_add_ps(acc[i][j]); \
    }

FLOAT_TILE512(f32_tile512, loadw_f32, 4)
FLOAT_TILE512(f16_tile512, loadw_f16, 2)
FLOAT_TILE512(bf16_tile512, loadw_bf16, 2)

BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_f32_avx512, f32_tile512, float, 4, 16, 4, 4)
BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_f16_avx512, f16_tile512, uint16_t, 2, 16, 4, 4)
BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_bf16_avx512, bf16_tile512, uint16_t, 2, 16, 4, 4)
