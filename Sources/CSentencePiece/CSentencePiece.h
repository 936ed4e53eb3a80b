// Link-only module: libsentencepiece's API is C++ (sentencepiece_processor.h), used only by the
// CSentencePieceShim target, whose C header is what Swift imports.
