/* threads.c — two threads, each with its own context on one shared model, give the same text as
 * running the two generations one after the other.
 *
 *   ./threads MODEL.bgpt
 */
#include <bitgpt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bg_model *model;
    const char *prompt;
    uint64_t seed;
    char text[8192];
    size_t len;
    bg_status status;
} job;

static int collect(const char *piece, size_t len, void *user) {
    job *j = user;
    if (j->len + len < sizeof j->text) { memcpy(j->text + j->len, piece, len); j->len += len; }
    return 0;
}

static void *run(void *arg) {
    job *j = arg;
    bg_context *ctx = NULL;
    bg_context_params cp;
    bg_context_params_init(&cp);
    cp.n_threads = 1;
    j->status = bg_context_create(j->model, &cp, &ctx);
    if (j->status != BG_OK) return NULL;
    bg_sampler_params sp;
    bg_sampler_params_init(&sp);
    sp.seed = j->seed;
    bg_generate_params gp;
    bg_generate_params_init(&gp);
    gp.max_new_tokens = 64;
    gp.ignore_eos = true;
    j->status = bg_generate(ctx, j->prompt, &sp, &gp, collect, j, NULL);
    bg_context_free(ctx);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL.bgpt\n", argv[0]); return 2; }
    bg_model *model = NULL;
    if (bg_model_load(argv[1], NULL, &model) != BG_OK) { fprintf(stderr, "load: %s\n", bg_last_error()); return 1; }
    job serial[2] = {{model, "First prompt", 1, {0}, 0, BG_OK}, {model, "Second one", 2, {0}, 0, BG_OK}};
    job parallel[2] = {{model, "First prompt", 1, {0}, 0, BG_OK}, {model, "Second one", 2, {0}, 0, BG_OK}};
    run(&serial[0]);
    run(&serial[1]);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, run, &parallel[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    int failed = 0;
    for (int i = 0; i < 2; i++) {
        int same = serial[i].status == BG_OK && parallel[i].status == BG_OK && serial[i].len == parallel[i].len &&
                   memcmp(serial[i].text, parallel[i].text, serial[i].len) == 0 && serial[i].len > 0;
        printf("%s thread %d output equals serial output (%zu bytes)\n", same ? "ok  " : "FAIL", i, parallel[i].len);
        failed += !same;
    }
    bg_model_free(model);
    printf("%d passed, %d failed\n", 2 - failed, failed);
    return failed == 0 ? 0 : 1;
}
