// The parts of libbitgpt's C API that are plain C: status names, parameter defaults and the
// per-thread last-error buffer. Everything else is in Swift (Sources/BitGPTCAPI, @_cdecl).
#include "bitgpt.h"
#include "bitgpt_internal.h"
#include <string.h>

static _Thread_local char last_error[1024];

const char *bg_last_error(void) { return last_error; }

void bgpt_capi_set_last_error(const char *message) {
    if (!message) { last_error[0] = 0; return; }
    size_t n = strlen(message);
    if (n >= sizeof last_error) n = sizeof last_error - 1;
    memcpy(last_error, message, n);
    last_error[n] = 0;
}

const char *bg_status_string(bg_status status) {
    switch (status) {
    case BG_OK: return "BG_OK";
    case BG_ERR_INVALID_ARGUMENT: return "BG_ERR_INVALID_ARGUMENT";
    case BG_ERR_IO: return "BG_ERR_IO";
    case BG_ERR_FORMAT: return "BG_ERR_FORMAT";
    case BG_ERR_UNSUPPORTED: return "BG_ERR_UNSUPPORTED";
    case BG_ERR_TOKENIZER: return "BG_ERR_TOKENIZER";
    case BG_ERR_BUFFER_TOO_SMALL: return "BG_ERR_BUFFER_TOO_SMALL";
    case BG_ERR_CONTEXT_FULL: return "BG_ERR_CONTEXT_FULL";
    case BG_ERR_STRUCT_SIZE: return "BG_ERR_STRUCT_SIZE";
    case BG_ERR_ABORTED: return "BG_ERR_ABORTED";
    case BG_ERR_VALIDATE_ONLY: return "BG_ERR_VALIDATE_ONLY";
    case BG_ERR_INTERNAL: return "BG_ERR_INTERNAL";
    }
    return "BG_ERR_UNKNOWN";
}

int bg_api_version(void) { return BG_API_VERSION; }

void bg_model_params_init(bg_model_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

void bg_context_params_init(bg_context_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

void bg_sampler_params_init(bg_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->repeat_penalty = 1.0f;
    p->temperature = 1.0f;
    p->top_k = 200;
    p->top_p = 1.0f;
    p->min_p = 0.0f;
    p->seed = 1337;
}

void bg_generate_params_init(bg_generate_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_new_tokens = 500;
}

void bg_generate_result_init(bg_generate_result *r) {
    if (!r) return;
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
}

uint32_t bgpt_capi_sizeof_generate_result(void) { return sizeof(bg_generate_result); }
uint32_t bgpt_capi_sizeof_model_params(void) { return sizeof(bg_model_params); }
uint32_t bgpt_capi_sizeof_model_info(void) { return sizeof(bg_model_info); }
uint32_t bgpt_capi_sizeof_context_params(void) { return sizeof(bg_context_params); }
uint32_t bgpt_capi_sizeof_sampler_params(void) { return sizeof(bg_sampler_params); }
uint32_t bgpt_capi_sizeof_generate_params(void) { return sizeof(bg_generate_params); }

int bgpt_capi_call_piece(bg_piece_callback cb, const char *piece, size_t len, void *user) {
    return cb ? cb(piece, len, user) : 0;
}

int bgpt_capi_read_flag(const volatile int *flag) { return flag ? *flag : 0; }
