// The extern "C" shim over sentencepiece::SentencePieceTrainer (see include/bgpt_spm_train.h).
// Every exception is caught here, so none crosses into C or Swift.
#include "bgpt_spm_train.h"
#include "bgpt_spm.h"

#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unordered_map>

namespace {

/// The non-empty lines of a text, as SentencePiece sentences.
class LineIterator : public sentencepiece::SentenceIterator {
  public:
    LineIterator(const char *text, size_t len) : text_(text), len_(len) { Next(); }
    bool done() const override { return done_; }
    void Next() override {
        while (pos_ < len_) {
            const char *start = text_ + pos_;
            const void *nl = std::memchr(start, '\n', len_ - pos_);
            size_t end = nl ? static_cast<size_t>(static_cast<const char *>(nl) - text_) : len_;
            line_.assign(start, end - pos_);
            pos_ = end + 1;
            if (!line_.empty()) return;
        }
        done_ = true;
    }
    const std::string &value() const override { return line_; }
    sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

  private:
    const char *text_;
    size_t len_;
    size_t pos_ = 0;
    bool done_ = false;
    std::string line_;
};

thread_local std::string train_error;

}  // namespace

extern "C" int bgpt_spm_train(const char *text, size_t len, const char *options, void **out, size_t *out_len) {
    if (out == nullptr || out_len == nullptr || options == nullptr || (text == nullptr && len > 0)) {
        train_error = "NULL argument";
        return BGPT_SPM_ERR_ARGUMENT;
    }
    *out = nullptr;
    *out_len = 0;
    try {
        std::unordered_map<std::string, std::string> kwargs;
        std::string all(options);
        size_t p = 0;
        while (p < all.size()) {
            size_t e = all.find('\n', p);
            if (e == std::string::npos) e = all.size();
            std::string item = all.substr(p, e - p);
            p = e + 1;
            if (item.empty()) continue;
            size_t eq = item.find('=');
            if (eq == std::string::npos) {
                train_error = "option \"" + item + "\" is not name=value";
                return BGPT_SPM_ERR_ARGUMENT;
            }
            kwargs[item.substr(0, eq)] = item.substr(eq + 1);
        }
        LineIterator lines(text, len);
        std::string proto;
        auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &lines, &proto);
        if (!status.ok()) {
            train_error = status.ToString();
            return BGPT_SPM_ERR_LOAD;
        }
        void *buffer = std::malloc(proto.size() + 1);
        if (buffer == nullptr) {
            train_error = "out of memory";
            return BGPT_SPM_ERR_INTERNAL;
        }
        std::memcpy(buffer, proto.data(), proto.size());
        *out = buffer;
        *out_len = proto.size();
        return BGPT_SPM_OK;
    } catch (const std::exception &e) {
        train_error = e.what();
        return BGPT_SPM_ERR_INTERNAL;
    } catch (...) {
        train_error = "unknown exception while training";
        return BGPT_SPM_ERR_INTERNAL;
    }
}

extern "C" const char *bgpt_spm_train_last_error(void) { return train_error.c_str(); }

extern "C" void bgpt_spm_train_free(void *buffer) { std::free(buffer); }
