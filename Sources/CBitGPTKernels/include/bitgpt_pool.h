// bitgpt_pool.h: the runtime's thread pool, in C.
//
// Not API: used by the BitGPT Swift module's WorkerPool. A decode step runs about five parallel
// loops per layer, each a few microseconds long, so the cost of starting a loop is what limits
// small models. The workers therefore spin for a bounded time (BGPT_SPIN_US, default 1000 µs)
// after each loop and only then sleep; they claim parts of a new loop as they see it. The caller
// runs part 0, then every part no worker has claimed yet, then waits for the claimed ones, so a
// worker the scheduler keeps off the CPU (another process holds the core) delays nothing.
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
/// started now. NULL if `threads` is not in 1...65535 or a thread cannot be started.
bgpt_pool *bgpt_pool_create(int threads);

/// Runs fn(ctx, i, parts) for i = 0 ..< parts, part 0 on the calling thread and the others on
/// whichever thread claims them first, and returns when all have returned. `parts` is clamped to
/// [1, threads].
void bgpt_pool_run(bgpt_pool *pool, int parts, bgpt_pool_fn fn, void *ctx);

/// Stops and joins the workers and frees the pool. NULL is ignored.
void bgpt_pool_destroy(bgpt_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
