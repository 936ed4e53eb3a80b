// The runtime's thread pool (bitgpt_pool.h): spinning workers that claim parts, a caller that
// steals the parts nobody has claimed.
//
// One 64-bit word describes the current round: round number (32 bits), parts (16) and the next
// unclaimed part (16). The caller writes the task, then stores a new word (part 0 already taken
// by itself). A worker that sees a new round claims a part by compare-and-swap on the word, which
// can only succeed while that round is still open; the task fields are read after a successful
// claim, when the round cannot end before this part is done. The caller, after its own part,
// claims and runs whatever is left, then waits until every claimed part is done. So a worker that
// the scheduler has not run yet never holds up a round: on a machine where other processes keep
// the cores busy, the caller simply does the work itself instead of waiting for a time slice.
//
// Each part computes the same rows whichever thread runs it, so results never depend on who did
// what. A worker that finds no new round for BGPT_SPIN_US (default 1000) sleeps on a condition
// variable; `sleepers` (sequentially consistent, like the round word) tells the caller to wake it.
#include "bitgpt_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define LINE 64

struct bgpt_pool {
    _Alignas(LINE) _Atomic uint64_t round;  // round << 32 | parts << 16 | next unclaimed part
    _Alignas(LINE) _Atomic int done;        // parts finished in the current round
    _Alignas(LINE) _Atomic int sleepers;    // workers waiting on `wake`
    _Atomic int stop;
    bgpt_pool_fn fn;                        // the current round's task (written before `round`)
    void *ctx;
    int threads;
    long spin_ns;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *workers;                     // threads - 1
};

static inline uint32_t round_of(uint64_t w) { return (uint32_t)(w >> 32); }
static inline int parts_of(uint64_t w) { return (int)((w >> 16) & 0xffff); }
static inline int next_of(uint64_t w) { return (int)(w & 0xffff); }

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/// Claims and runs parts of the round `w` belongs to until none is left or the round is over.
static void run_parts(struct bgpt_pool *p, uint64_t w) {
    uint32_t r = round_of(w);
    for (;;) {
        if (round_of(w) != r || next_of(w) >= parts_of(w)) return;
        if (atomic_compare_exchange_weak_explicit(&p->round, &w, w + 1, memory_order_acq_rel, memory_order_acquire)) {
            p->fn(p->ctx, next_of(w), parts_of(w));
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
            w = atomic_load_explicit(&p->round, memory_order_acquire);
        }
        // On failure w holds the current word: retry (or return if the round changed).
    }
}

static void *worker_main(void *arg) {
    struct bgpt_pool *p = arg;
    uint32_t seen = 0;  // the round number at creation: a round published before this thread ran is still seen
    for (;;) {
        long deadline = 0;
        uint64_t w;
        for (unsigned i = 0;; i++) {
            w = atomic_load_explicit(&p->round, memory_order_acquire);
            if (round_of(w) != seen) break;
            CPU_RELAX();
            if ((i & 255) == 255) {
                long t = now_ns();
                if (deadline == 0) {
                    deadline = t + p->spin_ns;
                } else if (t > deadline) {
                    pthread_mutex_lock(&p->lock);
                    atomic_fetch_add(&p->sleepers, 1);
                    while (round_of(w = atomic_load(&p->round)) == seen) pthread_cond_wait(&p->wake, &p->lock);
                    atomic_fetch_sub(&p->sleepers, 1);
                    pthread_mutex_unlock(&p->lock);
                    break;
                }
            }
        }
        seen = round_of(w);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
        run_parts(p, w);
    }
}

/// Opens a new round of `parts` parts with part 0 taken by the caller; wakes sleeping workers.
static uint64_t open_round(struct bgpt_pool *p, int parts) {
    uint64_t old = atomic_load_explicit(&p->round, memory_order_relaxed);
    uint64_t w = ((uint64_t)(round_of(old) + 1) << 32) | ((uint64_t)parts << 16) | 1;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store(&p->round, w);  // seq_cst: pairs with the sleepers check below
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    return w;
}

bgpt_pool *bgpt_pool_create(int threads) {
    if (threads < 1 || threads > 0xffff) return NULL;
    struct bgpt_pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->threads = threads;
    long us = 1000;
    const char *env = getenv("BGPT_SPIN_US");
    if (env != NULL) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end != env && *end == 0 && v >= 0 && v <= 1000000) us = v;
    }
    p->spin_ns = us * 1000;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        if (p->workers == NULL) {
            free(p);
            return NULL;
        }
        for (int i = 0; i < threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                p->threads = i + 1;  // stop and join the ones that started
                bgpt_pool_destroy(p);
                return NULL;
            }
        }
    }
    return p;
}

void bgpt_pool_run(bgpt_pool *p, int parts, bgpt_pool_fn fn, void *ctx) {
    if (parts > p->threads) parts = p->threads;
    if (parts <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    open_round(p, parts);
    fn(ctx, 0, parts);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_relaxed);
    run_parts(p, atomic_load_explicit(&p->round, memory_order_acquire));
    // Every part is claimed now; wait for the workers still running theirs.
    long deadline = 0;
    for (unsigned i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < parts; i++) {
        if (deadline < 0) {
            sched_yield();
            continue;
        }
        CPU_RELAX();
        if ((i & 255) == 255) {
            long t = now_ns();
            if (deadline == 0) deadline = t + p->spin_ns;
            else if (t > deadline) deadline = -1;
        }
    }
}

void bgpt_pool_destroy(bgpt_pool *p) {
    if (p == NULL) return;
    if (p->threads > 1) {
        atomic_store(&p->stop, 1);
        open_round(p, 0);
        for (int i = 0; i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
}
