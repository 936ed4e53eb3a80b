// The extern "C" shim over sentencepiece::SentencePieceProcessor (see include/bgpt_spm.h).
// Each entry point catches every exception, so none crosses into C or Swift.
#include "bgpt_spm.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

struct bgpt_spm {
    sentencepiece::SentencePieceProcessor processor;
};

namespace {

thread_local std::string last_error;

int fail(int code, const std::string &message) noexcept {
    try {
        last_error = message;
    } catch (...) {
    }
    return code;
}

/// Copies `bytes` into out[0..<cap] when they fit; always reports the size.
int copy_out(const std::string &bytes, char *out, size_t cap, size_t *len) noexcept {
    if (len == nullptr) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL length pointer");
    *len = bytes.size();
    if (bytes.size() > cap) return BGPT_SPM_ERR_BUFFER;
    if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
    return BGPT_SPM_OK;
}

int finish_load(std::unique_ptr<bgpt_spm> &model, const sentencepiece::util::Status &status, bgpt_spm **out) {
    if (!status.ok()) return fail(BGPT_SPM_ERR_LOAD, status.ToString());
    if (model->processor.GetPieceSize() <= 0) return fail(BGPT_SPM_ERR_LOAD, "the model has no pieces");
    *out = model.release();
    return BGPT_SPM_OK;
}

}  // namespace

extern "C" const char *bgpt_spm_last_error(void) { return last_error.c_str(); }

extern "C" int bgpt_spm_load_bytes(const void *data, size_t len, bgpt_spm **out) {
    if (out == nullptr || (data == nullptr && len > 0)) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    *out = nullptr;
    try {
        auto model = std::make_unique<bgpt_spm>();
        std::string blob(static_cast<const char *>(data), len);
        auto status = model->processor.LoadFromSerializedProto(blob);
        return finish_load(model, status, out);
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception while loading");
    }
}

extern "C" int bgpt_spm_load_file(const char *path, bgpt_spm **out) {
    if (out == nullptr || path == nullptr) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    *out = nullptr;
    try {
        auto model = std::make_unique<bgpt_spm>();
        auto status = model->processor.Load(path);
        return finish_load(model, status, out);
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception while loading");
    }
}

extern "C" void bgpt_spm_free(bgpt_spm *model) { delete model; }

extern "C" int bgpt_spm_vocab_size(const bgpt_spm *model) {
    if (model == nullptr) return 0;
    try {
        return model->processor.GetPieceSize();
    } catch (...) {
        return 0;
    }
}

extern "C" void bgpt_spm_special_ids(const bgpt_spm *model, int32_t *bos, int32_t *eos, int32_t *unk, int32_t *pad) {
    int32_t b = -1, e = -1, u = -1, p = -1;
    if (model != nullptr) {
        try {
            const auto &sp = model->processor;
            b = sp.bos_id();
            e = sp.eos_id();
            u = sp.unk_id();
            p = sp.pad_id();
        } catch (...) {
        }
    }
    if (bos) *bos = b;
    if (eos) *eos = e;
    if (unk) *unk = u;
    if (pad) *pad = p;
}

extern "C" int bgpt_spm_encode(const bgpt_spm *model, const char *text, size_t len, int32_t *ids, size_t cap, size_t *count) {
    if (model == nullptr || count == nullptr || (text == nullptr && len > 0)) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    try {
        std::vector<int> out;
        auto status = model->processor.Encode(absl::string_view(text == nullptr ? "" : text, len), &out);
        if (!status.ok()) return fail(BGPT_SPM_ERR_INTERNAL, status.ToString());
        *count = out.size();
        if (out.size() > cap) return BGPT_SPM_ERR_BUFFER;
        for (size_t i = 0; i < out.size(); i++) ids[i] = out[i];
        return BGPT_SPM_OK;
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception while encoding");
    }
}

extern "C" int bgpt_spm_decode(const bgpt_spm *model, const int32_t *ids, size_t n, char *out, size_t cap, size_t *len) {
    if (model == nullptr || (ids == nullptr && n > 0)) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    try {
        const int size = model->processor.GetPieceSize();
        std::vector<int> in(n);
        for (size_t i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= size) return fail(BGPT_SPM_ERR_ARGUMENT, "id " + std::to_string(ids[i]) + " is outside the vocabulary");
            in[i] = ids[i];
        }
        std::string text;
        auto status = model->processor.Decode(in, &text);
        if (!status.ok()) return fail(BGPT_SPM_ERR_INTERNAL, status.ToString());
        return copy_out(text, out, cap, len);
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception while decoding");
    }
}

extern "C" int bgpt_spm_piece(const bgpt_spm *model, int32_t id, char *out, size_t cap, size_t *len, float *score, int32_t *kind) {
    if (model == nullptr) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    try {
        const auto &sp = model->processor;
        if (id < 0 || id >= sp.GetPieceSize()) return fail(BGPT_SPM_ERR_ARGUMENT, "id " + std::to_string(id) + " is outside the vocabulary");
        if (score) *score = sp.GetScore(id);
        if (kind) {
            int32_t k = BGPT_SPM_NORMAL;
            if (sp.IsUnknown(id)) k = BGPT_SPM_UNKNOWN;
            else if (sp.IsControl(id)) k = BGPT_SPM_CONTROL;
            else if (sp.IsUnused(id)) k = BGPT_SPM_UNUSED;
            else if (sp.IsByte(id)) k = BGPT_SPM_BYTE;
            *kind = k;
        }
        return copy_out(sp.IdToPiece(id), out, cap, len);
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception");
    }
}

extern "C" int bgpt_spm_serialized(const bgpt_spm *model, void *out, size_t cap, size_t *len) {
    if (model == nullptr) return fail(BGPT_SPM_ERR_ARGUMENT, "NULL argument");
    try {
        return copy_out(model->processor.serialized_model_proto(), static_cast<char *>(out), cap, len);
    } catch (const std::exception &e) {
        return fail(BGPT_SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(BGPT_SPM_ERR_INTERNAL, "unknown exception");
    }
}
