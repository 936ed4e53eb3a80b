// kernels_internal.h: shared pieces of the kernel variants (not exported).
//
// Every SIMD variant is organised the same way. A call is cut into chunks of at most
// BGPT_TOKEN_CHUNK tokens (per-token preparation: sums of q, permuted tails, kept on the stack),
// then into chunks of BGPT_ROW_CHUNK rows (whose weights stay in cache while every token of the
// chunk passes over them), then into tiles of RT rows × TT tokens computed in registers: each
// weight block is loaded and decoded once per tile and used for TT tokens.
//
// Determinism: in every tile shape, an output element is accumulated by exactly the same sequence
// of vector operations (one accumulator per element, blocks in column order, then one fixed
// horizontal reduction and the same tail code), so its value never depends on r0, r1, n or the
// tile it fell in. Integer kernels are exact anyway.
#ifndef BITGPT_KERNELS_INTERNAL_H
#define BITGPT_KERNELS_INTERNAL_H

#include "bitgpt_kernels.h"
#include "bitgpt_kernels_variants.h"
#include <string.h>

#define BGPT_TOKEN_CHUNK 64
#define BGPT_ROW_CHUNK 32
/// Bytes of permuted tail per token: 128 (T2) or 160 (T1) activations.
#define BGPT_TAIL_BYTES 160

/// What a tile needs: pointers at the start of the current token chunk.
typedef struct bgpt_kctx {
    void *out;            // (tn, ld) outputs of the chunk
    size_t ld;
    const void *w;        // weight row 0
    size_t wstride;       // bytes from one weight row to the next
    const void *x;        // (tn, cols) activations of the chunk
    size_t cols;
    size_t full;          // full blocks (or vector chunks) per row
    size_t tail;          // tail bytes (ternary) or tail elements (int8, float)
    size_t toff;          // where the tail bytes sit in the 32-byte window the tile loads
    int no_q_min;         // no activation of the chunk is −128 (AVX2 int8 fast path)
    const int8_t *tq;     // (tn, BGPT_TAIL_BYTES) tail activations permuted to the packing's order
    const int32_t *sq;    // (tn) sums of q per token
} bgpt_kctx;

/// Runs TILE(k, r, t, RT, TT) over rows [r0, r1) × chunk tokens [0, tn): tiles of RTN rows × 4
/// tokens (RTN rows × 2 or 3 for leftover tokens, RT1 rows × 1 for a lone token, as in decode),
/// then one-row tiles for leftover rows.
#define BGPT_ROWS(TILE, k, rb, re, t, RTMAX, TT)                                   \
    do {                                                                           \
        size_t r_ = (rb);                                                          \
        for (; r_ + (RTMAX) <= (re); r_ += (RTMAX)) TILE(k, r_, t, RTMAX, TT);     \
        for (; r_ < (re); r_++) TILE(k, r_, t, 1, TT);                             \
    } while (0)

#define BGPT_DRIVE(TILE, k, r0, r1, tn, RTN, RT1)                                  \
    do {                                                                           \
        for (size_t rb_ = (r0); rb_ < (r1); rb_ += BGPT_ROW_CHUNK) {               \
            size_t re_ = (r1) - rb_ > BGPT_ROW_CHUNK ? rb_ + BGPT_ROW_CHUNK : (r1); \
            size_t t_ = 0;                                                         \
            for (; t_ + 4 <= (tn); t_ += 4) BGPT_ROWS(TILE, k, rb_, re_, t_, RTN, 4); \
            switch ((tn) - t_) {                                                   \
            case 3: BGPT_ROWS(TILE, k, rb_, re_, t_, RTN, 3); break;               \
            case 2: BGPT_ROWS(TILE, k, rb_, re_, t_, RTN, 2); break;               \
            case 1: BGPT_ROWS(TILE, k, rb_, re_, t_, RT1, 1); break;               \
            default: break;                                                        \
            }                                                                      \
        }                                                                          \
    } while (0)

/// Decode streams each weight once from memory, one small matrix after another, where hardware
/// prefetchers restart at every page: a single-token tile of `rows` rows first asks for the rows
/// BGPT_PREFETCH_ROWS ahead (prefetches never fault, so running past the matrix is harmless).
#define BGPT_PREFETCH_ROWS 16
static inline void bgpt_prefetch_rows(const void *w, size_t stride, int rows) {
    const char *p = (const char *)w + BGPT_PREFETCH_ROWS * stride;
    size_t bytes = (size_t)rows * stride;
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
}

/// Bytes in the tail of a packed ternary row (formats/bgpt.md).
static inline size_t bgpt_t2_tail_bytes(size_t cols) { return ((cols % 128) + 3) / 4; }
static inline size_t bgpt_t1_tail_bytes(size_t cols) { return ((cols % 160) + 4) / 5; }

/// Sum of q[0..cols) (exact).
static inline int32_t bgpt_sum_q(const int8_t *q, size_t cols) {
    int32_t s = 0;
    for (size_t c = 0; c < cols; c++) s += q[c];
    return s;
}

/// Permutes the tail activations of one token so a packed tail byte window lines up with them the
/// way a full block does: tq[32·d + off + k] = q[tail0 + per·k + d] (per = 4 for T2, 5 for T1),
/// zero elsewhere, so padding codes meet zero activations.
static inline void bgpt_permute_tail(int8_t *tq, const int8_t *q, size_t tail0, size_t tail, size_t per, size_t off) {
    memset(tq, 0, BGPT_TAIL_BYTES);
    for (size_t i = 0; i < tail; i++) tq[32 * (i % per) + off + i / per] = q[tail0 + i];
}

/// Defines one ternary dot entry point, `bgpt_k_dot_t2_*` or `bgpt_k_dot_t1_*` (contract in
/// bitgpt_kernels.h), around a variant's TILE: per chunk of BGPT_TOKEN_CHUNK tokens, Σ q with
/// SUMQ and the tail activations permuted to the packing's order, then BGPT_DRIVE over the rows.
/// A 32-byte block holds WEIGHTS = 128 (T2, PER = 4 per byte) or 160 (T1, PER = 5) weights, and
/// TAIL_BYTES(cols) gives the row's tail bytes. SHIFTED_TAIL is 1 where TILE reads a tail as the
/// last 32 bytes of the row (so its activations start at byte 32 − tail), 0 where it reads the
/// tail bytes from their start. RTN and RT1 are BGPT_DRIVE's tile heights.
#define BGPT_TERNARY_ENTRY(ATTR, NAME, TILE, SUMQ, WEIGHTS, PER, TAIL_BYTES, SHIFTED_TAIL, RTN, RT1)          \
    ATTR void NAME(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, size_t cols, \
                   size_t r0, size_t r1, size_t n) {                                                          \
        if (r0 >= r1 || n == 0) return; /* no rows or no tokens: read nothing (q may be short) */             \
        int8_t tq[BGPT_TOKEN_CHUNK * BGPT_TAIL_BYTES];                                                         \
        int32_t sq[BGPT_TOKEN_CHUNK];                                                                          \
        bgpt_kctx k = {0};                                                                                     \
        k.ld = ld; k.w = w; k.wstride = row_bytes; k.cols = cols;                                              \
        k.full = cols / (WEIGHTS); k.tail = TAIL_BYTES(cols);                                                  \
        k.toff = (SHIFTED_TAIL) && k.full > 0 ? 32 - k.tail : 0;                                               \
        k.tq = tq; k.sq = sq;                                                                                  \
        for (size_t t0 = 0; t0 < n; t0 += BGPT_TOKEN_CHUNK) {                                                  \
            size_t tn = n - t0 < BGPT_TOKEN_CHUNK ? n - t0 : BGPT_TOKEN_CHUNK;                                 \
            for (size_t t = 0; t < tn; t++) {                                                                  \
                const int8_t *qt = q + (t0 + t) * cols;                                                        \
                sq[t] = SUMQ(qt, cols);                                                                        \
                if (k.tail)                                                                                    \
                    bgpt_permute_tail(tq + t * BGPT_TAIL_BYTES, qt, k.full * (WEIGHTS), cols % (WEIGHTS), PER, \
                                      k.toff);                                                                 \
            }                                                                                                  \
            k.out = acc + t0 * ld; k.x = q + t0 * cols;                                                        \
            BGPT_DRIVE(TILE, &k, r0, r1, tn, RTN, RT1);                                                        \
        }                                                                                                      \
    }

/// Defines one float matmul entry point, `bgpt_k_matmul_{f32,f16,bf16}_*` (contract in
/// bitgpt_kernels.h), around a variant's TILE: per chunk of BGPT_TOKEN_CHUNK tokens, BGPT_DRIVE over
/// the rows. W elements are ESIZE bytes; a row is LANES-wide vectors (`full`) and a `tail` of
/// cols % LANES. RTN and RT1 are BGPT_DRIVE's tile heights.
#define BGPT_FLOAT_ENTRY(ATTR, NAME, TILE, WT, ESIZE, LANES, RTN, RT1)                                    \
    ATTR void NAME(float *out, size_t ld, const WT *w, const float *x, size_t cols, size_t r0, size_t r1, \
                   size_t n) {                                                                           \
        bgpt_kctx k = {0};                                                                                \
        k.ld = ld; k.w = w; k.wstride = cols * (ESIZE); k.cols = cols;                                    \
        k.full = cols / (LANES); k.tail = cols % (LANES);                                                 \
        for (size_t t0 = 0; t0 < n; t0 += BGPT_TOKEN_CHUNK) {                                             \
            size_t tn = n - t0 < BGPT_TOKEN_CHUNK ? n - t0 : BGPT_TOKEN_CHUNK;                            \
            k.out = out + t0 * ld; k.x = x + t0 * cols;                                                   \
            BGPT_DRIVE(TILE, &k, r0, r1, tn, RTN, RT1);                                                   \
        }                                                                                                 \
    }

// Variant entry points (same contracts as bitgpt_kernels.h).
#define BGPT_DECLARE_VARIANT(V)                                                                          \
    void bgpt_k_quantize_i8_##V(int8_t *q, float *scale, const float *x, size_t n, size_t cols);         \
    void bgpt_k_dot_t2_##V(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, \
                           size_t cols, size_t r0, size_t r1, size_t n);                                 \
    void bgpt_k_dot_t1_##V(int32_t *acc, size_t ld, const uint8_t *w, size_t row_bytes, const int8_t *q, \
                           size_t cols, size_t r0, size_t r1, size_t n);                                 \
    void bgpt_k_dot_i8_##V(int32_t *acc, size_t ld, const int8_t *w, const int8_t *q, size_t cols,       \
                           size_t r0, size_t r1, size_t n);                                              \
    void bgpt_k_matmul_f32_##V(float *out, size_t ld, const float *w, const float *x, size_t cols,       \
                               size_t r0, size_t r1, size_t n);                                          \
    void bgpt_k_matmul_f16_##V(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols,    \
                               size_t r0, size_t r1, size_t n);                                          \
    void bgpt_k_matmul_bf16_##V(float *out, size_t ld, const uint16_t *w, const float *x, size_t cols,   \
                                size_t r0, size_t r1, size_t n);                                          \
    void bgpt_k_attend_f32_##V(float *out, const float *q, const float *kt, size_t kt_ld, const float *v,     \
                               size_t v_ld, size_t hd, size_t npos, float scale, float *att);             \
    void bgpt_k_attend_f16_##V(float *out, const float *q, const uint16_t *kt, size_t kt_ld,                \
                               const uint16_t *v, size_t v_ld, size_t hd, size_t npos, float scale,       \
                               float *att);

BGPT_DECLARE_VARIANT(scalar)
BGPT_DECLARE_VARIANT(avx2)
BGPT_DECLARE_VARIANT(avx512)

#endif
