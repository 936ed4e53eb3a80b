// Internal helpers of libbitgpt, called from its Swift side. Not API: not installed.
#ifndef BITGPT_INTERNAL_H
#define BITGPT_INTERNAL_H
#include "bitgpt.h"

/// Stores the calling thread's last error message (copied; truncated to 1023 bytes).
void bgpt_capi_set_last_error(const char *message) __attribute__((visibility("hidden")));
/// sizeof of each params struct, so Swift checks struct_size against the C layout.
uint32_t bgpt_capi_sizeof_model_params(void) __attribute__((visibility("hidden")));
uint32_t bgpt_capi_sizeof_model_info(void) __attribute__((visibility("hidden")));
uint32_t bgpt_capi_sizeof_context_params(void) __attribute__((visibility("hidden")));
uint32_t bgpt_capi_sizeof_sampler_params(void) __attribute__((visibility("hidden")));
uint32_t bgpt_capi_sizeof_generate_params(void) __attribute__((visibility("hidden")));
uint32_t bgpt_capi_sizeof_generate_result(void) __attribute__((visibility("hidden")));
/// Calls a piece callback (NULL callback: returns 0).
int bgpt_capi_call_piece(bg_piece_callback cb, const char *piece, size_t len, void *user) __attribute__((visibility("hidden")));
/// Reads a volatile abort flag (NULL: 0).
int bgpt_capi_read_flag(const volatile int *flag) __attribute__((visibility("hidden")));
#endif
