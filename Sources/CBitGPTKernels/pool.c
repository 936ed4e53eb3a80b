// The runtime's thread pool (bitgpt_pool.h): spinning workers, one generation counter.
//
// Round k: the caller stores the task, sets `pending` to the number of workers and bumps `gen`
// (release). Each worker, spinning on `gen` (acquire), runs its part if it has one and decrements
// `pending` (release); the caller runs part 0, then waits for `pending` to reach 0 (acquire). Every
// worker acknowledges every round, so no worker can still be reading round k's task when round
// k + 1 is written. A worker that spun BGPT_SPIN_US without a new round sleeps on a condition
// variable; `sleepers` (sequentially consistent, like `gen`) tells the caller whether to wake it.
#include "bitgpt_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
    _Alignas(LINE) _Atomic unsigned gen;   // round counter; workers spin on it
    _Alignas(LINE) _Atomic int pending;    // workers yet to finish the current round
    _Alignas(LINE) _Atomic int sleepers;   // workers waiting on `wake`
    _Atomic int stop;
    bgpt_pool_fn fn;                       // the current round's task (written before gen is bumped)
    void *ctx;
    int parts;
    int threads;
    long spin_ns;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *workers;                    // threads - 1
    struct worker_arg { struct bgpt_pool *pool; int index; } *args;
};

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/// Spins until `gen` differs from `seen` or `spin_ns` passes; returns the new value or `seen`.
static unsigned spin_for_round(struct bgpt_pool *p, unsigned seen) {
    long deadline = 0;
    for (unsigned i = 0;; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        CPU_RELAX();
        if ((i & 255) == 255) {
            long t = now_ns();
            if (deadline == 0) deadline = t + p->spin_ns;
            else if (t > deadline) return seen;
        }
    }
}

static void *worker_main(void *arg) {
    struct worker_arg *a = arg;
    struct bgpt_pool *p = a->pool;
    unsigned seen = 0;  // gen's value at creation: a round published before this thread ran is still seen
    for (;;) {
        unsigned g = spin_for_round(p, seen);
        if (g == seen) {
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
        if (a->index < p->parts) p->fn(p->ctx, a->index, p->parts);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

static void publish_round(struct bgpt_pool *p) {
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1);  // seq_cst: pairs with the sleepers check below
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
}

static void wait_round(struct bgpt_pool *p) {
    long deadline = 0;
    for (unsigned i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
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

bgpt_pool *bgpt_pool_create(int threads) {
    if (threads < 1) return NULL;
    struct bgpt_pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->threads = threads;
    long us = 2000;
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
        p->args = calloc((size_t)threads - 1, sizeof *p->args);
        if (p->workers == NULL || p->args == NULL) {
            free(p->workers);
            free(p->args);
            free(p);
            return NULL;
        }
        for (int i = 0; i < threads - 1; i++) {
            p->args[i].pool = p;
            p->args[i].index = i + 1;
            if (pthread_create(&p->workers[i], NULL, worker_main, &p->args[i]) != 0) {
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
    p->parts = parts;
    publish_round(p);
    fn(ctx, 0, parts);
    wait_round(p);
}

int bgpt_pool_threads(const bgpt_pool *p) { return p->threads; }

void bgpt_pool_destroy(bgpt_pool *p) {
    if (p == NULL) return;
    if (p->threads > 1) {
        atomic_store(&p->stop, 1);
        p->parts = 0;
        publish_round(p);
        for (int i = 0; i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p->args);
    free(p);
}
