/* errors.c — every error path of the C API returns its status and a message; the process survives.
 *
 *   ./errors GOOD.bgpt SCRATCH_DIR
 * Prints one line per check and "N passed, M failed"; exits non-zero if any check failed.
 */
#include <bitgpt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed = 0, failed = 0;

static void check(int ok, const char *what, bg_status st, const char *msg) {
    if (ok) passed++; else failed++;
    printf("%s %s (%s: %s)\n", ok ? "ok  " : "FAIL", what, bg_status_string(st), msg ? msg : "(null)");
}

static long write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return (long)w;
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)size);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s GOOD.bgpt SCRATCH_DIR\n", argv[0]); return 2; }
    const char *good = argv[1];
    char path[4096];
    bg_model *m = NULL;
    bg_status st;

    /* Versions. */
    check(bg_api_version() == BG_API_VERSION, "api version matches header", BG_OK, bg_version());

    /* Loading: bad path, truncated file, non-.bgpt file, NULL arguments, wrong struct_size. */
    st = bg_model_load("/nonexistent/model.bgpt", NULL, &m);
    check(st == BG_ERR_IO && m == NULL && strlen(bg_last_error()) > 0, "missing file gives BG_ERR_IO", st, bg_last_error());

    size_t n = 0;
    unsigned char *bytes = read_file(good, &n);
    if (!bytes) { fprintf(stderr, "cannot read %s\n", good); return 2; }
    snprintf(path, sizeof path, "%s/truncated.bgpt", argv[2]);
    write_file(path, bytes, n / 2);
    st = bg_model_load(path, NULL, &m);
    check(st == BG_ERR_FORMAT && m == NULL, "truncated file gives BG_ERR_FORMAT", st, bg_last_error());

    snprintf(path, sizeof path, "%s/not-a-model.bgpt", argv[2]);
    const char *text = "this is not a model, just some text that is long enough to look like a header..........\n";
    write_file(path, text, strlen(text));
    st = bg_model_load(path, NULL, &m);
    check(st == BG_ERR_FORMAT && m == NULL, "non-.bgpt file gives BG_ERR_FORMAT", st, bg_last_error());

    st = bg_model_load(NULL, NULL, &m);
    check(st == BG_ERR_INVALID_ARGUMENT, "NULL path gives BG_ERR_INVALID_ARGUMENT", st, bg_last_error());
    st = bg_model_load(good, NULL, NULL);
    check(st == BG_ERR_INVALID_ARGUMENT, "NULL out gives BG_ERR_INVALID_ARGUMENT", st, bg_last_error());

    bg_model_params mp;
    bg_model_params_init(&mp);
    mp.struct_size = 3;
    st = bg_model_load(good, &mp, &m);
    check(st == BG_ERR_STRUCT_SIZE && m == NULL, "wrong struct_size gives BG_ERR_STRUCT_SIZE", st, bg_last_error());

    /* Corrupt one byte in the middle of the data: open succeeds (data is not read at open), but
       a load with verify_checksums fails. */
    bytes[n - 100] ^= 0xFF;
    bg_model_params_init(&mp);
    mp.verify_checksums = true;
    st = bg_model_load_from_memory(bytes, n, &mp, &m);
    check(st == BG_ERR_FORMAT && m == NULL, "corrupt tensor with verify_checksums gives BG_ERR_FORMAT", st, bg_last_error());
    bytes[n - 100] ^= 0xFF;

    st = bg_model_load_from_memory(bytes, n, NULL, &m);
    check(st == BG_OK && m != NULL, "load from memory", st, bg_last_error());
    free(bytes);
    bg_model_free(m);
    m = NULL;
    bg_model_free(NULL); /* no-op */

    /* validate_only: loads, reports info, refuses to create a context. */
    bg_model_params_init(&mp);
    mp.validate_only = true;
    st = bg_model_load(good, &mp, &m);
    check(st == BG_OK, "validate_only load", st, bg_last_error());
    bg_context *vctx = NULL;
    st = bg_context_create(m, NULL, &vctx);
    check(st == BG_ERR_VALIDATE_ONLY && vctx == NULL, "context on a validate_only model is refused", st, bg_model_last_error(m));
    bg_model_free(m);

    st = bg_model_load(good, NULL, &m);
    check(st == BG_OK, "load good model", st, bg_last_error());
    if (st != BG_OK) { printf("%d passed, %d failed\n", passed, failed + 1); return 1; }

    bg_model_info info;
    info.struct_size = sizeof info;
    st = bg_model_get_info(m, &info);
    check(st == BG_OK && info.vocab_size > 0 && info.context_length > 0, "model info", st, info.architecture);
    info.struct_size = 1;
    st = bg_model_get_info(m, &info);
    check(st == BG_ERR_STRUCT_SIZE, "model info with wrong struct_size", st, bg_model_last_error(m));
    st = bg_model_get_info(NULL, &info);
    check(st == BG_ERR_INVALID_ARGUMENT, "model info of NULL model", st, bg_last_error());

    /* Tokenizer buffers. */
    size_t needed = 0;
    st = bg_tokenize(m, "hello world", 11, NULL, 0, &needed);
    check(st == BG_ERR_BUFFER_TOO_SMALL && needed > 0, "tokenize into a zero buffer reports the size", st, bg_model_last_error(m));
    bg_token toks[64];
    size_t nt = 0;
    st = bg_tokenize(m, "hello world", 11, toks, 64, &nt);
    check(st == BG_OK && nt == needed, "tokenize", st, bg_model_last_error(m));
    char small[2];
    st = bg_detokenize(m, toks, nt, small, sizeof small, &needed);
    check(st == BG_ERR_BUFFER_TOO_SMALL && needed == 12, "detokenize into a small buffer reports the size", st, bg_model_last_error(m));
    char out[64];
    st = bg_detokenize(m, toks, nt, out, sizeof out, &needed);
    check(st == BG_OK && strcmp(out, "hello world") == 0, "detokenize round trip", st, out);
    bg_token bad = info.vocab_size + 5;
    st = bg_detokenize(m, &bad, 1, out, sizeof out, &needed);
    check(st == BG_ERR_TOKENIZER, "detokenize an unknown id", st, bg_model_last_error(m));
    st = bg_detokenize(m, toks, nt, NULL, 10, &needed);
    check(st == BG_ERR_INVALID_ARGUMENT, "detokenize into a NULL buffer with a capacity", st, bg_model_last_error(m));
    st = bg_detokenize(m, toks, nt, NULL, 0, &needed);
    check(st == BG_ERR_BUFFER_TOO_SMALL && needed == 12, "detokenize size query (NULL, 0)", st, bg_model_last_error(m));
    st = bg_tokenize(m, NULL, 5, toks, 64, &nt);
    check(st == BG_ERR_INVALID_ARGUMENT, "tokenize NULL text", st, bg_model_last_error(m));

    /* Contexts and decode. */
    bg_context_params cp;
    bg_context_params_init(&cp);
    cp.struct_size = 1000;
    bg_context *ctx = NULL;
    st = bg_context_create(m, &cp, &ctx);
    check(st == BG_ERR_STRUCT_SIZE && ctx == NULL, "context with wrong struct_size", st, bg_model_last_error(m));
    st = bg_context_create(m, NULL, &ctx);
    check(st == BG_OK, "create context", st, bg_model_last_error(m));
    const float *logits = NULL;
    st = bg_decode(ctx, &bad, 1, &logits);
    check(st == BG_ERR_INVALID_ARGUMENT && logits == NULL, "decode an out-of-range id", st, bg_context_last_error(ctx));
    bg_token neg = -1;
    st = bg_decode(ctx, &neg, 1, &logits);
    check(st == BG_ERR_INVALID_ARGUMENT, "decode a negative id", st, bg_context_last_error(ctx));
    st = bg_decode(ctx, NULL, 1, &logits);
    check(st == BG_ERR_INVALID_ARGUMENT, "decode NULL tokens", st, bg_context_last_error(ctx));
    st = bg_decode(ctx, toks, 0, &logits);
    check(st == BG_ERR_INVALID_ARGUMENT, "decode zero tokens", st, bg_context_last_error(ctx));
    size_t too_many = (size_t)info.context_length + 1;
    bg_token *many = calloc(too_many, sizeof(bg_token));
    st = bg_decode(ctx, many, too_many, &logits);
    check(st == BG_ERR_CONTEXT_FULL, "decode more tokens than the context", st, bg_context_last_error(ctx));
    free(many);
    size_t pos = 99;
    bg_context_position(ctx, &pos);
    check(pos == 0, "failed decodes leave the context empty", BG_OK, "");
    st = bg_decode(ctx, toks, nt, &logits);
    check(st == BG_OK && logits != NULL, "decode the prompt", st, bg_context_last_error(ctx));
    bg_context_position(ctx, &pos);
    check(pos == nt, "position advances", BG_OK, "");

    bg_sampler_params sp;
    bg_sampler_params_init(&sp);
    sp.struct_size = 2;
    bg_sampler *smp = NULL;
    st = bg_sampler_create(&sp, &smp);
    check(st == BG_ERR_STRUCT_SIZE, "sampler with wrong struct_size", st, bg_last_error());
    bg_sampler_params_init(&sp);
    sp.temperature = -1;
    st = bg_sampler_create(&sp, &smp);
    check(st == BG_ERR_INVALID_ARGUMENT, "sampler with negative temperature", st, bg_last_error());
    bg_sampler_params_init(&sp);
    st = bg_sampler_create(&sp, &smp);
    bg_token next = -1;
    st = bg_sample(ctx, smp, &next);
    check(st == BG_OK && next >= 0 && next < info.vocab_size, "sample", st, bg_context_last_error(ctx));
    st = bg_sample(ctx, NULL, &next);
    check(st == BG_ERR_INVALID_ARGUMENT, "sample with NULL sampler", st, bg_context_last_error(ctx));

    /* A prompt longer than the context, through bg_generate: cropped like lm-run, still OK. */
    size_t long_len = (size_t)info.context_length * 3;
    char *long_prompt = malloc(long_len + 1);
    for (size_t i = 0; i < long_len; i++) long_prompt[i] = 'a' + (char)(i % 26);
    long_prompt[long_len] = 0;
    bg_generate_params gp;
    bg_generate_params_init(&gp);
    gp.max_new_tokens = 3;
    st = bg_generate(ctx, long_prompt, &sp, &gp, NULL, NULL, NULL);
    check(st == BG_OK, "generate from a prompt longer than the context", st, bg_context_last_error(ctx));
    free(long_prompt);
    volatile int abort_now = 1;
    st = bg_generate(ctx, "abc", &sp, &gp, NULL, NULL, &abort_now);
    check(st == BG_ERR_ABORTED, "abort flag stops generation", st, bg_context_last_error(ctx));
    gp.struct_size = 7;
    st = bg_generate(ctx, "abc", &sp, &gp, NULL, NULL, NULL);
    check(st == BG_ERR_STRUCT_SIZE, "generate with wrong struct_size", st, bg_context_last_error(ctx));
    st = bg_generate(NULL, "abc", &sp, NULL, NULL, NULL, NULL);
    check(st == BG_ERR_INVALID_ARGUMENT, "generate with NULL context", st, bg_last_error());

    bg_sampler_free(smp);
    bg_sampler_free(NULL);
    bg_context_free(ctx);
    bg_context_free(NULL);
    bg_model_free(m);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
