// Link-only module: libsentencepiece_train's API is C++ (sentencepiece_trainer.h), used only by the
// CSentencePieceTrainShim target, whose C header is what Swift imports. It is a module of its own,
// apart from CSentencePiece, so that only the trainer (BitGPTTrain) links libsentencepiece_train
// and libbitgpt.so does not need it.
