/// A C interface over the SentencePiece C++ trainer (libsentencepiece_train), beside bgpt_spm.h.
#ifndef BGPT_SPM_TRAIN_H
#define BGPT_SPM_TRAIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Trains a SentencePiece model on `len` bytes of UTF-8 text, one sentence per line (empty lines
/// are skipped), with trainer flags `options` ("name=value" pairs separated by newlines, the
/// `spm_train` flag names without dashes, e.g. "model_type=bpe\nvocab_size=2048"). No files are
/// read or written. On success *out is a new malloc'd buffer holding the serialized ModelProto
/// (free it with bgpt_spm_train_free) and *out_len its size. Errors (bad flags, too small a
/// vocabulary) return BGPT_SPM_ERR_LOAD (BGPT_SPM_ERR_ARGUMENT for a malformed `options`) with
/// the message in bgpt_spm_train_last_error().
int bgpt_spm_train(const char *text, size_t len, const char *options, void **out, size_t *out_len);

/// Frees a buffer from bgpt_spm_train (NULL is allowed).
void bgpt_spm_train_free(void *buffer);

/// The last training error of the calling thread ("" if none). Never NULL.
const char *bgpt_spm_train_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
