// bitgpt_pool.h: the runtime's thread pool, in C.
//
// Not API: used by the BitGPT Swift module's WorkerPool. A decode step runs about five parallel
// loops per layer, each a few microseconds long, so the cost of starting a loop is what limits
// small models. The workers therefore spin on a shared generation counter for a bounded time
// (BGPT_SPIN_US, default 2000 µs) after each loop and only then sleep on a futex; the caller runs
// part 0 itself and spins (then yields) until every worker has finished.
//
// One caller at a time: bgpt_pool_run must not be called concurrently on the same pool, nor
// from inside one of its tasks.
#ifndef BITGPT_POOL_H
#define BITGPT_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/// A task: part `index` of `parts` (0 ≤ index < parts).
typedef void (*bgpt_pool_fn)(void *ctx, int index, int parts);

typedef struct bgpt_pool bgpt_pool;

/// A pool of `threads` threads in all: the caller of bgpt_pool_run plus `threads - 1` workers,
/// started now. NULL if `threads` < 1 or a thread cannot be started.
bgpt_pool *bgpt_pool_create(int threads);

/// Runs fn(ctx, i, parts) for i = 0 ..< parts, part 0 on the calling thread and part i on worker i,
/// and returns when all have returned. `parts` is clamped to [1, threads].
void bgpt_pool_run(bgpt_pool *pool, int parts, bgpt_pool_fn fn, void *ctx);

/// Number of threads (caller included).
int bgpt_pool_threads(const bgpt_pool *pool);

/// Stops and joins the workers and frees the pool. NULL is ignored.
void bgpt_pool_destroy(bgpt_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
