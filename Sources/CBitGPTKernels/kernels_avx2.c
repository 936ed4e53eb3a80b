// AVX2 + FMA + F16C variant (no VNNI). Ternary dots: codes c = t + 1 ∈ {0, 1, 2} times q with
// vpmaddubsw (pairs stay within ±512, no saturation), summed in int16 over up to 8 T2 blocks
// (≤ ±16384) or one T1 block (≤ ±2560), widened with vpmaddwd, then Σ c·q − Σ q = Σ t·q.
// Int8 dots: see the I8 section. Floats: one 8-lane FMA accumulator per output element, a fixed
// horizontal reduction, then the column tail in scalar code in column order (kernels_internal.h
// explains the determinism).
#include "kernels_internal.h"
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma,f16c")))
#define TILE_FN static inline __attribute__((always_inline, target("avx2,fma,f16c")))

TILE_FN int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

TILE_FN float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---------------------------------------------------------------------------------------------
// Activation quantization.

TGT void bgpt_k_quantize_i8_avx2(int8_t *q, float *scale, const float *x, size_t n, size_t cols) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (size_t t = 0; t < n; t++) {
        const float *xt = x + t * cols;
        int8_t *qt = q + t * cols;
        // max(a, m) returns m when a is NaN: NaN inputs are skipped, as in the scalar loop.
        __m256 m = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xt + c), absmask), m);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float mx = _mm_cvtss_f32(m4);
        for (; c < cols; c++) { float a = __builtin_fabsf(xt[c]); if (a > mx) mx = a; }
        float s = 127.0f / (mx > 1e-5f ? mx : 1e-5f);
        scale[t] = s;
        const __m256 vs = _mm256_set1_ps(s);
        // cvtps rounds to nearest even (default MXCSR); the packs saturate to [-128, 127].
        c = 0;
        for (; c + 32 <= cols; c += 32) {
            __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xt + c), vs));
            __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xt + c + 8), vs));
            __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xt + c + 16), vs));
            __m256i e = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xt + c + 24), vs));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(d, e));
            _mm256_storeu_si256((__m256i *)(qt + c), _mm256_permutevar8x32_epi32(p, order));
        }
        for (; c < cols; c++) {
            float v = __builtin_nearbyintf(xt[c] * s);
            if (v > 127.0f) v = 127.0f;
            if (v < -128.0f) v = -128.0f;
            qt[c] = (int8_t)v;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Byte-dot preparation: Σ q per token.

TILE_FN int32_t sum_q256(const int8_t *q, size_t cols) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 16 <= cols; c += 16)
        s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + c))), ones));
    int32_t r = hsum_epi32(s);
    for (; c < cols; c++) r += q[c];
    return r;
}

// The 32-byte window holding a row's tail: the last 32 bytes of the row when it is that long
// (the tail bytes at offset toff = 32 − tail), else a zero-padded copy.
TILE_FN __m256i tail_window(const bgpt_kctx *k, const uint8_t *row) {
    if (k->toff != 0 || k->full > 0)
        return _mm256_loadu_si256((const __m256i *)(row + 32 * k->full + k->tail - 32));
    uint8_t buf[32] = {0};
    memcpy(buf, row, k->tail);
    return _mm256_loadu_si256((const __m256i *)buf);
}

// ---------------------------------------------------------------------------------------------
// T2.

TILE_FN void t2_block256(__m256i s16[4][4], const __m256i *wv, const int8_t *const *xb, int RT, int TT) {
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int i = 0; i < RT; i++) {
        __m256i c0 = _mm256_and_si256(wv[i], m3);
        __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(wv[i], 2), m3);
        __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(wv[i], 4), m3);
        __m256i c3 = _mm256_and_si256(_mm256_srli_epi16(wv[i], 6), m3);
        for (int j = 0; j < TT; j++) {
            __m256i p0 = _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)(xb[j])));
            __m256i p1 = _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(xb[j] + 32)));
            __m256i p2 = _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(xb[j] + 64)));
            __m256i p3 = _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(xb[j] + 96)));
            s16[i][j] = _mm256_add_epi16(s16[i][j], _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3)));
        }
    }
}

TILE_FN void t2_tile256(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m256i acc[4][4], s16[4][4], wv[4];
    const int8_t *xb[4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) acc[i][j] = _mm256_setzero_si256();
    // int16 sums of up to 8 blocks (|sum| ≤ 8 · 4 · 512) before widening to int32.
    for (size_t b0 = 0; b0 < k->full; b0 += 8) {
        size_t be = k->full - b0 > 8 ? b0 + 8 : k->full;
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) s16[i][j] = _mm256_setzero_si256();
        for (size_t b = b0; b < be; b++) {
            for (int i = 0; i < RT; i++) wv[i] = _mm256_loadu_si256((const __m256i *)(w + i * k->wstride + 32 * b));
            for (int j = 0; j < TT; j++) xb[j] = x + j * k->cols + 128 * b;
            t2_block256(s16, wv, xb, RT, TT);
        }
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(s16[i][j], ones));
    }
    if (k->tail) {
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) s16[i][j] = _mm256_setzero_si256();
        for (int i = 0; i < RT; i++) wv[i] = tail_window(k, w + i * k->wstride);
        for (int j = 0; j < TT; j++) xb[j] = k->tq + (t + j) * BGPT_TAIL_BYTES;
        t2_block256(s16, wv, xb, RT, TT);
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(s16[i][j], ones));
    }
    int32_t *out = (int32_t *)k->out;
    for (int j = 0; j < TT; j++)
        for (int i = 0; i < RT; i++) out[(t + j) * k->ld + r + i] = hsum_epi32(acc[i][j]) - k->sq[t + j];
}

BGPT_TERNARY_ENTRY(TGT, bgpt_k_dot_t2_avx2, t2_tile256, sum_q256, 128, 4, bgpt_t2_tail_bytes, 1, 1, 2)

// ---------------------------------------------------------------------------------------------
// T1 (digit extraction as in kernels_avx512.c, one digit per step).

TILE_FN __m256i t1_codes256(__m256i se, __m256i so, int mul) {
    const __m256i three = _mm256_set1_epi16(3), k768 = _mm256_set1_epi16(768);
    const __m256i hi = _mm256_set1_epi16((short)0xff00);
    const __m256i m = _mm256_set1_epi16((short)mul);
    __m256i ce = _mm256_mulhi_epu16(_mm256_mullo_epi16(se, m), three);
    __m256i co = _mm256_and_si256(_mm256_mulhi_epu16(_mm256_mullo_epi16(so, m), k768), hi);
    return _mm256_or_si256(ce, co);
}

TILE_FN void t1_tile256(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i hi = _mm256_set1_epi16((short)0xff00);
    static const int pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m256i acc[4][4], s16[4][4];
    const int8_t *xb[4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) acc[i][j] = _mm256_setzero_si256();
    size_t nb = k->full + (k->tail ? 1 : 0);
    for (size_t b = 0; b < nb; b++) {
        int is_tail = b == k->full;
        __m256i se[4], so[4];
        for (int i = 0; i < RT; i++) {
            const uint8_t *row = w + i * k->wstride;
            __m256i wv = is_tail ? tail_window(k, row) : _mm256_loadu_si256((const __m256i *)(row + 32 * b));
            se[i] = _mm256_slli_epi16(wv, 8);
            so[i] = _mm256_and_si256(wv, hi);
        }
        for (int j = 0; j < TT; j++) xb[j] = is_tail ? k->tq + (t + j) * BGPT_TAIL_BYTES : x + j * k->cols + 160 * b;
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) s16[i][j] = _mm256_setzero_si256();
        for (int d = 0; d < 5; d++)
            for (int i = 0; i < RT; i++) {
                __m256i c = t1_codes256(se[i], so[i], pow3[d]);
                for (int j = 0; j < TT; j++)
                    s16[i][j] = _mm256_add_epi16(
                        s16[i][j], _mm256_maddubs_epi16(c, _mm256_loadu_si256((const __m256i *)(xb[j] + 32 * d))));
            }
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < TT; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(s16[i][j], ones));
    }
    int32_t *out = (int32_t *)k->out;
    for (int j = 0; j < TT; j++)
        for (int i = 0; i < RT; i++) out[(t + j) * k->ld + r + i] = hsum_epi32(acc[i][j]) - k->sq[t + j];
}

BGPT_TERNARY_ENTRY(TGT, bgpt_k_dot_t1_avx2, t1_tile256, sum_q256, 160, 5, bgpt_t1_tail_bytes, 1, 1, 2)

// ---------------------------------------------------------------------------------------------
// I8. Single-token fast path when no activation is −128 (activation quantization never produces
// it: |x·scale| ≤ 127): vpmaddubsw(|w|, sign(q, w)) multiplies |w| ≤ 128 (unsigned) by
// q·sign(w) ∈ [−127, 127], pairs stay within ±32512, so no saturation; 32 columns per step
// (llvm-mca, cascadelake: 1.5x the widening loop). Otherwise, and for multi-token tiles where
// sharing the widened q across rows wins, both operands are widened to int16 for vpmaddwd, exact
// for every value. Column tails in scalar code.

TILE_FN void i8_tile256(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {
    const int8_t *w = (const int8_t *)k->w + r * k->wstride;
    const int8_t *x = (const int8_t *)k->x + t * k->cols;
    if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);
    __m256i acc[4][4];
    for (int i = 0; i < RT; i++)
        for (int j = 0; j < TT; j++) acc[i][j] = _mm256_setzero_si256();
    size_t done;
    if (k->no_q_min && TT == 1) {
        const __m256i ones = _mm256_set1_epi16(1);
        size_t steps = k->cols / 32;
        for (size_t b = 0; b < steps; b++) {
            __m256i wv[4], aw[4];
            for (int i = 0; i < RT; i++) {
                wv[i] = _mm256_loadu_si256((const __m256i *)(w + i * k->wstride + 32 * b));
                aw[i] = _mm256_abs_epi8(wv[i]);
            }
            for (int j = 0; j < TT; j++) {
                __m256i qv = _mm256_loadu_si256((const __m256i *)(x + j * k->cols + 32 * b));
                for (int i = 0; i < RT; i++) {
                    __m256i p = _mm256_maddubs_epi16(aw[i], _mm256_sign_epi8(qv, wv[i]));
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p, ones));
                }
            }
        }
        done = 32 * steps;
    } else {
        for (size_t b = 0; b < k->full; b++) {
            __m256i wv[4];
            for (int i = 0; i < RT; i++)
                wv[i] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i * k->wstride + 16 * b)));
            for (int j = 0; j < TT; j++) {
                __m256i qv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + j * k->cols + 16 * b)));
                for (int i = 0; i < RT; i++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(wv[i], qv));
            }
        }
        done = 16 * k->full;
    }
    int32_t *out = (int32_t *)k->out;
    for (int j = 0; j < TT; j++)
        for (int i = 0; i < RT; i++) {
            uint32_t s = (uint32_t)hsum_epi32(acc[i][j]);
            const int8_t *wr = w + i * k->wstride, *xr = x + j * k->cols;
            for (size_t c = done; c < k->cols; c++) s += (uint32_t)((int32_t)wr[c] * xr[c]);
            out[(t + j) * k->ld + r + i] = (int32_t)s;
        }
}

/// 1 when none of q[0..count) is −128.
TILE_FN int no_min_int8(const int8_t *q, size_t count) {
    const __m256i m = _mm256_set1_epi8(-128);
    __m256i any = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 32 <= count; c += 32) any = _mm256_or_si256(any, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(q + c)), m));
    if (!_mm256_testz_si256(any, any)) return 0;
    for (; c < count; c++)
        if (q[c] == -128) return 0;
    return 1;
}

TGT void bgpt_k_dot_i8_avx2(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols, size_t r0,
                            size_t r1, size_t n) {
    if (r0 >= r1 || n == 0) return;  // no rows or no tokens: read nothing (q may be short)
    bgpt_kctx k = {0};
    k.ld = ld; k.w = w; k.wstride = cols; k.cols = cols;
    k.full = cols / 16; k.tail = cols % 16;
    for (size_t t0 = 0; t0 < n; t0 += BGPT_TOKEN_CHUNK) {
        size_t tn = n - t0 < BGPT_TOKEN_CHUNK ? n - t0 : BGPT_TOKEN_CHUNK;
        k.out = acc + t0 * ld; k.x = q + t0 * cols;
        k.no_q_min = no_min_int8(q + t0 * cols, tn * cols);
        BGPT_DRIVE(i8_tile256, &k, r0, r1, tn, 2, 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Float matmuls. LOADW(p) gives 8 weights as f32; W1(p, c) one weight.

TILE_FN __m256 loadw_f32(const void *p) { return _mm256_loadu_ps((const float *)p); }
TILE_FN __m256 loadw_f16(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
TILE_FN __m256 loadw_bf16(const void *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
TILE_FN float w1_f32(const void *p, size_t c) { return ((const float *)p)[c]; }
TILE_FN float w1_f16(const void *p, size_t c) { return _cvtsh_ss(((const uint16_t *)p)[c]); }
TILE_FN float w1_bf16(const void *p, size_t c) {
    uint32_t u = (uint32_t)((const uint16_t *)p)[c] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#define FLOAT_TILE256(NAME, LOADW, W1, ESIZE)                                                           \
    TILE_FN void NAME(const bgpt_kctx *k, size_t r, size_t t, int RT, int TT) {                        \
        const uint8_t *w = (const uint8_t *)k->w + r * k->wstride;                                     \
        const float *x = (const float *)k->x + t * k->cols;                                            \
        if (TT == 1) bgpt_prefetch_rows(w, k->wstride, RT);                                            \
        __m256 acc[4][4];                                                                              \
        for (int i = 0; i < RT; i++)                                                                   \
            for (int j = 0; j < TT; j++) acc[i][j] = _mm256_setzero_ps();                              \
        for (size_t b = 0; b < k->full; b++) {                                                         \
            __m256 wv[4];                                                                              \
            for (int i = 0; i < RT; i++) wv[i] = LOADW(w + i * k->wstride + 8 * (ESIZE) * b);          \
            for (int j = 0; j < TT; j++) {                                                             \
                __m256 xv = _mm256_loadu_ps(x + j * k->cols + 8 * b);                                  \
                for (int i = 0; i < RT; i++) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);        \
            }                                                                                          \
        }                                                                                              \
        float *out = (float *)k->out;                                                                  \
        for (int j = 0; j < TT; j++)                                                                   \
            for (int i = 0; i < RT; i++) {                                                             \
                float s = hsum_ps(acc[i][j]);                                                          \
                const uint8_t *wr = w + i * k->wstride;                                                \
                const float *xr = x + j * k->cols;                                                     \
                for (size_t c = 8 * k->full; c < k->cols; c++) s = __builtin_fmaf(W1(wr, c), xr[c], s); \
                out[(t + j) * k->ld + r + i] = s;                                                      \
            }                                                                                          \
    }

FLOAT_TILE256(f32_tile256, loadw_f32, w1_f32, 4)
FLOAT_TILE256(f16_tile256, loadw_f16, w1_f16, 2)
FLOAT_TILE256(bf16_tile256, loadw_bf16, w1_bf16, 2)

BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_f32_avx2, f32_tile256, float, 4, 8, 2, 2)
BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_f16_avx2, f16_tile256, uint16_t, 2, 8, 2, 2)
BGPT_FLOAT_ENTRY(TGT, bgpt_k_matmul_bf16_avx2, bf16_tile256, uint16_t, 2, 8, 2, 2)
