/// A C interface over the SentencePiece C++ processor, so Swift can use it without C++ interop.
///
/// Every function returns a status code (BGPT_SPM_OK or an error); on error the message is in
/// bgpt_spm_last_error(), a thread-local string valid until the next call on the same thread.
/// No function lets a C++ exception escape. Handles are immutable after loading and may be used
/// from several threads at once.
#ifndef BGPT_SPM_H
#define BGPT_SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes.
enum {
    BGPT_SPM_OK = 0,
    /// The model bytes or file could not be loaded (malformed, truncated, self-test failure).
    BGPT_SPM_ERR_LOAD = 1,
    /// An argument is out of range (id outside the vocabulary, NULL pointer).
    BGPT_SPM_ERR_ARGUMENT = 2,
    /// The output buffer is too small; the needed size was written to the count argument.
    BGPT_SPM_ERR_BUFFER = 3,
    /// An unexpected failure inside the library (exception, allocation failure).
    BGPT_SPM_ERR_INTERNAL = 4,
};

/// Piece kinds, the values of the model proto's `Type` enum.
enum {
    BGPT_SPM_NORMAL = 1, BGPT_SPM_UNKNOWN = 2, BGPT_SPM_CONTROL = 3,
    BGPT_SPM_USER_DEFINED = 4, BGPT_SPM_UNUSED = 5, BGPT_SPM_BYTE = 6,
};

/// An opaque loaded model.
typedef struct bgpt_spm bgpt_spm;

/// The last error message of the calling thread ("" if none). Never NULL.
const char *bgpt_spm_last_error(void);

/// Loads a model from a serialized ModelProto (`len` bytes). On success *out is a new handle.
int bgpt_spm_load_bytes(const void *data, size_t len, bgpt_spm **out);

/// Loads a model from a `.model` file.
int bgpt_spm_load_file(const char *path, bgpt_spm **out);

/// Frees a handle (NULL is allowed).
void bgpt_spm_free(bgpt_spm *model);

/// The number of pieces.
int bgpt_spm_vocab_size(const bgpt_spm *model);

/// Special ids (-1 when absent).
void bgpt_spm_special_ids(const bgpt_spm *model, int32_t *bos, int32_t *eos, int32_t *unk, int32_t *pad);

/// Encodes `len` bytes of UTF-8 text. Writes the id count to *count; if it exceeds `cap`,
/// returns BGPT_SPM_ERR_BUFFER and the caller retries with a buffer of *count ids.
int bgpt_spm_encode(const bgpt_spm *model, const char *text, size_t len, int32_t *ids, size_t cap, size_t *count);

/// Decodes ids to UTF-8 text. Writes the byte count to *len (no NUL is written); if it exceeds
/// `cap`, returns BGPT_SPM_ERR_BUFFER and the caller retries.
int bgpt_spm_decode(const bgpt_spm *model, const int32_t *ids, size_t n, char *out, size_t cap, size_t *len);

/// The piece text of `id` (UTF-8, `▁` for spaces), its score and its kind (BGPT_SPM_NORMAL...).
/// The piece is copied like bgpt_spm_decode's output.
int bgpt_spm_piece(const bgpt_spm *model, int32_t id, char *out, size_t cap, size_t *len, float *score, int32_t *kind);

/// The serialized ModelProto of a loaded model (for storing in `tokenizer.sentencepiece.model`).
int bgpt_spm_serialized(const bgpt_spm *model, void *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
