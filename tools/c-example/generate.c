/* generate.c — load a .bgpt model with libbitgpt and generate text, as `lm-run` does.
 *
 *   cc generate.c $(pkg-config --cflags --libs bitgpt) -o generate
 *   ./generate MODEL.bgpt [PROMPT] [MAX_NEW_TOKENS] [SEED] [TEMPERATURE] [TOP_K]
 *
 * With the same settings, its stdout is byte-identical to
 *   lm-run MODEL.bgpt --prompt PROMPT --num-samples 1 --max-new-tokens N --seed S --temperature T --top-k K --cache-type f32
 * (the library's KV cache is F32; lm-run's default is F16)
 */
#include <bitgpt.h>
#include <stdio.h>
#include <stdlib.h>

static int print_piece(const char *piece, size_t len, void *user) {
    (void)user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.bgpt [PROMPT] [MAX_NEW_TOKENS] [SEED] [TEMPERATURE] [TOP_K]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 2 ? argv[2] : "";
    bg_model *model = NULL;
    bg_status st = bg_model_load(argv[1], NULL, &model);
    if (st != BG_OK) {
        fprintf(stderr, "error: %s: %s\n", bg_status_string(st), bg_last_error());
        return 1;
    }
    bg_context *ctx = NULL;
    st = bg_context_create(model, NULL, &ctx);
    if (st != BG_OK) {
        fprintf(stderr, "error: %s: %s\n", bg_status_string(st), bg_model_last_error(model));
        bg_model_free(model);
        return 1;
    }
    bg_sampler_params sp;
    bg_sampler_params_init(&sp);
    if (argc > 4) sp.seed = strtoull(argv[4], NULL, 10);
    if (argc > 5) sp.temperature = strtof(argv[5], NULL);
    if (argc > 6) sp.top_k = atoi(argv[6]);
    bg_generate_params gp;
    bg_generate_params_init(&gp);
    if (argc > 3) gp.max_new_tokens = atoi(argv[3]);

    fputs(prompt, stdout);
    st = bg_generate(ctx, prompt, &sp, &gp, print_piece, NULL, NULL);
    fputc('\n', stdout);
    int rc = 0;
    if (st != BG_OK) {
        fprintf(stderr, "error: %s: %s\n", bg_status_string(st), bg_context_last_error(ctx));
        rc = 1;
    }
    bg_context_free(ctx);
    bg_model_free(model);
    return rc;
}
