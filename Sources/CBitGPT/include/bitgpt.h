/*
 * bitgpt.h — the C API of libbitgpt: load a .bgpt model and generate text from C.
 *
 * API version 1 (BG_API_VERSION). Link with `$(pkg-config --cflags --libs bitgpt)`.
 *
 * Rules that hold for every function below:
 *
 *  - Errors. Every function that can fail returns a bg_status (BG_OK = 0, errors < 0) and gives
 *    its results through out-pointers, which are written only on success. No function aborts,
 *    exits or traps on bad input: NULL pointers, unknown token ids, corrupted files, too many
 *    tokens and wrong struct sizes all return a status. A readable message for the last failure
 *    is kept per handle (bg_model_last_error, bg_context_last_error) and per thread
 *    (bg_last_error) for calls that have no handle yet, such as a failed load.
 *  - Ownership. Every handle is created by a bg_*_load/create function and released by the
 *    matching bg_*_free; freeing NULL is a no-op. A model must outlive every context created from
 *    it. Strings returned as `const char *` are owned by the library and stay valid until the next
 *    call on the same handle (or, for bg_last_error, the next failing call on the same thread);
 *    bg_version and bg_status_string return static strings.
 *  - Threads. A bg_model is immutable after loading and may be shared by any number of threads.
 *    A bg_context (and a bg_sampler) belongs to one thread at a time; use one per thread.
 *  - Parameter structs are passed by pointer and begin with `uint32_t struct_size`, which the
 *    caller sets to sizeof(the struct) by calling its bg_*_params_init function. A struct_size
 *    smaller than this version's struct or larger than the library knows gives
 *    BG_ERR_STRUCT_SIZE; a NULL params pointer means "defaults".
 *  - Text. Text passed in (bg_tokenize's text, bg_generate's prompt) must be valid UTF-8;
 *    invalid input gives BG_ERR_TOKENIZER with a message naming the offset of the first bad byte
 *    ("invalid UTF-8 at byte 5"), never a silent U+FFFD. Text passed out is whole UTF-8
 *    characters; only ids that split a character decode to U+FFFD.
 *  - Buffers. Functions that fill a caller's buffer take its capacity and report the size needed
 *    through `size_t *needed`; when the buffer is too small they return BG_ERR_BUFFER_TOO_SMALL,
 *    write nothing, and still set *needed. A NULL buffer with capacity 0 asks for the size only;
 *    a NULL buffer with a non-zero capacity is BG_ERR_INVALID_ARGUMENT (*needed is not set).
 */
#ifndef BITGPT_H
#define BITGPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The API version this header describes. Compare with bg_api_version() at run time. */
#define BG_API_VERSION 1

/** Status codes. 0 is success; every error is negative. */
typedef enum bg_status {
    BG_OK = 0,
    BG_ERR_INVALID_ARGUMENT = -1, /**< a NULL pointer, an out-of-range value or id */
    BG_ERR_IO = -2,               /**< the file could not be opened or read */
    BG_ERR_FORMAT = -3,           /**< the file is not a valid .bgpt model (corrupt, truncated, wrong version) */
    BG_ERR_UNSUPPORTED = -4,      /**< a valid file this library cannot run (e.g. no tokenizer) */
    BG_ERR_TOKENIZER = -5,        /**< the text cannot be tokenized, or an id cannot be decoded */
    BG_ERR_BUFFER_TOO_SMALL = -6, /**< the output buffer is too small; *needed tells the size */
    BG_ERR_CONTEXT_FULL = -7,     /**< more tokens than the context holds */
    BG_ERR_STRUCT_SIZE = -8,      /**< a params struct's struct_size is not one this library knows */
    BG_ERR_ABORTED = -9,          /**< generation stopped by the abort flag or the callback */
    BG_ERR_VALIDATE_ONLY = -10,   /**< the model was loaded with validate_only and cannot run */
    BG_ERR_INTERNAL = -99         /**< a bug in the library; the message says where */
} bg_status;

/** Token id. */
typedef int32_t bg_token;

/** A loaded model: immutable, shareable between threads. */
typedef struct bg_model bg_model;
/** Decoding state (KV cache, buffers) of one sequence; one thread at a time. */
typedef struct bg_context bg_context;
/** A seeded sampler; one thread at a time. */
typedef struct bg_sampler bg_sampler;

/** The library version, e.g. "0.1.0" (static string). */
const char *bg_version(void);
/** The API version the library implements (BG_API_VERSION of its header). */
int bg_api_version(void);
/** A short name for a status, e.g. "BG_ERR_FORMAT" (static string; "BG_ERR_UNKNOWN" for others). */
const char *bg_status_string(bg_status status);
/** The message of the last failure on this thread (e.g. a failed load), or "" if none. */
const char *bg_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

/** How to load a model. Initialise with bg_model_params_init. */
typedef struct bg_model_params {
    uint32_t struct_size;  /**< sizeof(bg_model_params) */
    bool validate_only;    /**< only validate: check the file, its checksums and tensors, load nothing to run */
    bool verify_checksums; /**< hash every tensor at load (slower; default false) */
} bg_model_params;

/** Fills *params with defaults and sets struct_size. */
void bg_model_params_init(bg_model_params *params);

/**
 * Loads the model at `path` (memory-mapped, read-only).
 * On success *out owns the model (free with bg_model_free). On failure *out is untouched and
 * bg_last_error() says why: BG_ERR_IO, BG_ERR_FORMAT, BG_ERR_UNSUPPORTED, BG_ERR_STRUCT_SIZE,
 * BG_ERR_INVALID_ARGUMENT.
 */
bg_status bg_model_load(const char *path, const bg_model_params *params, bg_model **out);

/**
 * Loads a model from a memory buffer of `size` bytes, which is copied: the caller may free it
 * when this returns. Errors as bg_model_load.
 */
bg_status bg_model_load_from_memory(const void *data, size_t size, const bg_model_params *params, bg_model **out);

/**
 * Applies the LoRA adapter at `path` (a safetensors file written by `lm-train --lora-rank`; format
 * in docs/training.md, "LoRA adapter files and run-time use") to `model` at run-time scale `scale`
 * (1 = as trained): every targeted linear then adds scale·(alpha/r)·B·(A·x) in float32 to its
 * output. The base weights are not changed (a ternary base keeps its packed integer path).
 * Repeatable: adapters add up. Call it right after loading, before creating any context of the
 * model and while no other thread uses the model (it is the one call that changes a model).
 * Errors (the model is unchanged, bg_model_last_error says why, one line naming the file):
 * BG_ERR_INVALID_ARGUMENT (NULL model or path, a scale that is not finite), BG_ERR_FORMAT (not a
 * valid adapter file: missing, truncated, bad metadata, unknown tensors), BG_ERR_UNSUPPORTED (an
 * adapter for another base: architecture, layer count, shapes or base fingerprint differ),
 * BG_ERR_VALIDATE_ONLY (the model was loaded with validate_only).
 */
bg_status bg_model_load_lora(bg_model *model, const char *path, float scale);

/** Frees a model. NULL is a no-op. Every context of the model must be freed first. */
void bg_model_free(bg_model *model);

/** The message of the last failure of a call on this model, or "". */
const char *bg_model_last_error(const bg_model *model);

/** What a model is. */
typedef struct bg_model_info {
    uint32_t struct_size;   /**< sizeof(bg_model_info), set by the caller */
    char architecture[16];  /**< "gpt2", "bitgpt" or "llama", NUL-terminated */
    int32_t vocab_size;
    int32_t context_length;
    int32_t dim;
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t hidden_dim;
    uint64_t n_params;      /**< total parameters (elements of all tensors) */
    uint64_t file_size;     /**< bytes */
    bg_token bos_token;     /**< -1 if none */
    bg_token eos_token;     /**< -1 if none */
} bg_model_info;

/** Fills *info (whose struct_size the caller sets to sizeof(bg_model_info)). */
bg_status bg_model_get_info(const bg_model *model, bg_model_info *info);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer (thread-safe: uses only the immutable model)
 * ------------------------------------------------------------------------------------------- */

/**
 * Encodes `text_len` bytes of UTF-8 `text` into at most `capacity` tokens (BG_ERR_TOKENIZER,
 * naming the first bad byte, if the text is not valid UTF-8).
 * *n_tokens receives the count needed; BG_ERR_BUFFER_TOO_SMALL if capacity < *n_tokens
 * (tokens is then untouched). `tokens` may be NULL when capacity is 0 (a size query);
 * NULL with a non-zero capacity is BG_ERR_INVALID_ARGUMENT.
 */
bg_status bg_tokenize(const bg_model *model, const char *text, size_t text_len, bg_token *tokens, size_t capacity,
                      size_t *n_tokens);

/**
 * Decodes `n` tokens to UTF-8 text in `buf` (capacity bytes), NUL-terminated. *needed receives the
 * bytes needed including the NUL; BG_ERR_BUFFER_TOO_SMALL if capacity < *needed. Special tokens
 * are written as their text. BG_ERR_TOKENIZER for an id outside the vocabulary. `buf` may be
 * NULL when capacity is 0 (a size query: BG_ERR_BUFFER_TOO_SMALL with *needed set); NULL with a
 * non-zero capacity is BG_ERR_INVALID_ARGUMENT.
 */
bg_status bg_detokenize(const bg_model *model, const bg_token *tokens, size_t n, char *buf, size_t capacity,
                        size_t *needed);

/* ---------------------------------------------------------------------------------------------
 * Contexts and decoding
 * ------------------------------------------------------------------------------------------- */

/** How to create a context. Initialise with bg_context_params_init. */
typedef struct bg_context_params {
    uint32_t struct_size; /**< sizeof(bg_context_params) */
    int32_t n_threads;    /**< worker threads, 1 to 1024; 0 = all cores. Output does not depend on it. */
} bg_context_params;

/** Fills *params with defaults and sets struct_size. */
void bg_context_params_init(bg_context_params *params);

/** Creates a context on `model` (which must outlive it). Free with bg_context_free. */
bg_status bg_context_create(bg_model *model, const bg_context_params *params, bg_context **out);

/** Frees a context. NULL is a no-op. */
void bg_context_free(bg_context *ctx);

/** Forgets every token decoded so far (the next bg_decode starts at position 0). */
bg_status bg_context_reset(bg_context *ctx);

/** Tokens decoded so far in this context. */
bg_status bg_context_position(const bg_context *ctx, size_t *position);

/** The message of the last failure of a call on this context, or "". */
const char *bg_context_last_error(const bg_context *ctx);

/**
 * Appends `n` tokens (n ≥ 1) to the sequence and runs the model over them (the batch in one
 * pass). *logits receives a pointer to vocab_size floats: the next-token logits after the last
 * of them; it stays valid until the next call on this context. BG_ERR_CONTEXT_FULL if the
 * sequence would pass the context length (nothing is decoded; reset or start over);
 * BG_ERR_INVALID_ARGUMENT for an id outside the vocabulary (nothing is decoded).
 */
bg_status bg_decode(bg_context *ctx, const bg_token *tokens, size_t n, const float **logits);

/* ---------------------------------------------------------------------------------------------
 * Sampling and generation
 * ------------------------------------------------------------------------------------------- */

/** Sampling settings, applied in the order of the fields below. Initialise with bg_sampler_params_init. */
typedef struct bg_sampler_params {
    uint32_t struct_size;  /**< sizeof(bg_sampler_params) */
    float repeat_penalty;  /**< > 0; 1 = off (default 1) */
    float temperature;     /**< ≥ 0; 0 = greedy (default 1) */
    int32_t top_k;         /**< ≥ 0; 0 = off (default 200, as lm-run) */
    float top_p;           /**< in (0, 1]; 1 = off (default 1) */
    float min_p;           /**< in [0, 1); 0 = off (default 0) */
    uint64_t seed;         /**< RNG seed (default 1337, as lm-run) */
} bg_sampler_params;

/** Fills *params with defaults (lm-run's) and sets struct_size. */
void bg_sampler_params_init(bg_sampler_params *params);

/** Creates a sampler. Free with bg_sampler_free. */
bg_status bg_sampler_create(const bg_sampler_params *params, bg_sampler **out);

/** Frees a sampler. NULL is a no-op. */
void bg_sampler_free(bg_sampler *sampler);

/**
 * Picks the next token from the logits of the context's last bg_decode, with the sampler's
 * settings and RNG; the repetition penalty uses the context's tokens so far.
 */
bg_status bg_sample(bg_context *ctx, bg_sampler *sampler, bg_token *token);

/**
 * Receives generated text. `piece` holds `len` bytes of whole UTF-8 characters (not
 * NUL-terminated, valid during the call). Return 0 to continue, non-zero to stop (bg_generate
 * then returns BG_ERR_ABORTED).
 */
typedef int (*bg_piece_callback)(const char *piece, size_t len, void *user_data);

/** What bg_generate does. Initialise with bg_generate_params_init. */
typedef struct bg_generate_params {
    uint32_t struct_size;        /**< sizeof(bg_generate_params) */
    int32_t max_new_tokens;      /**< tokens to generate (default 500) */
    bool ignore_eos;             /**< keep going past the end-of-sequence token (default false) */
    bool print_special;          /**< pass special tokens' text to the callback (default false) */
} bg_generate_params;

/** Fills *params with defaults and sets struct_size. */
void bg_generate_params_init(bg_generate_params *params);

/**
 * Resets the context, decodes the prompt, then samples up to max_new_tokens tokens, streaming
 * their text to `callback` — exactly what `lm-run --cache-type f32` does with the same settings
 * (a context's KV cache is F32), so the output is byte-identical. Stops early at the end-of-sequence token, when `*abort_flag` (if not NULL)
 * becomes non-zero, or when the callback returns non-zero (both give BG_ERR_ABORTED).
 * When the context fills, every family re-runs the last context_length tokens as a fresh window
 * with positions from 0, as lm-run (and nanoGPT's generate()) does; each token past the context
 * then costs a full-window pass.
 */
bg_status bg_generate(bg_context *ctx, const char *prompt, const bg_sampler_params *sampling,
                      const bg_generate_params *params, bg_piece_callback callback, void *user_data,
                      const volatile int *abort_flag);

/** Why generation ended (bg_generate_result.stop_reason). */
typedef enum bg_stop_reason {
    BG_STOP_NONE = 0,       /**< nothing was generated: the call failed before sampling */
    BG_STOP_MAX_TOKENS = 1, /**< max_new_tokens were generated */
    BG_STOP_EOS = 2,        /**< the end-of-sequence token was generated (it is counted in n_generated) */
    BG_STOP_ABORTED = 3,    /**< the abort flag or the callback stopped it (BG_ERR_ABORTED) */
} bg_stop_reason;

/** What bg_generate_with_result reports. Initialise with bg_generate_result_init. */
typedef struct bg_generate_result {
    uint32_t struct_size;     /**< sizeof(bg_generate_result) */
    int32_t n_prompt_tokens;  /**< prompt tokens decoded (after cropping to the context length) */
    int32_t n_generated;      /**< tokens sampled, an end-of-sequence token included */
    int32_t stop_reason;      /**< a bg_stop_reason */
} bg_generate_result;

/** Zeroes *result and sets struct_size. */
void bg_generate_result_init(bg_generate_result *result);

/**
 * bg_generate, and on return (also on BG_ERR_ABORTED) fills *result with the number of prompt
 * and generated tokens and why generation stopped. `result` may be NULL (then this is
 * bg_generate); its struct_size must be set by bg_generate_result_init (BG_ERR_STRUCT_SIZE
 * otherwise). On other errors *result says BG_STOP_NONE with the counts reached so far.
 * Added in API version 1 without changing bg_generate.
 */
bg_status bg_generate_with_result(bg_context *ctx, const char *prompt, const bg_sampler_params *sampling,
                                  const bg_generate_params *params, bg_piece_callback callback, void *user_data,
                                  const volatile int *abort_flag, bg_generate_result *result);

#ifdef __cplusplus
}
#endif

#endif /* BITGPT_H */
