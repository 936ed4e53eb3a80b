import BitGPT
import CSentencePieceShim
import CSentencePieceTrainShim

/// Trains a SentencePiece model with libsentencepiece's own trainer (`SentencePieceTrainer`
/// from libsentencepiece_train, through the `CSentencePieceTrainShim` C interface).
///
/// Each non-empty line of the text is one training sentence. The options keep the text as it is
/// and make every byte representable, so a language model sees exactly its training text:
/// `model_type=bpe` (the kind Llama 2's tokenizer is), `byte_fallback=true` with
/// `character_coverage=1.0`, `normalization_rule_name=identity`, `remove_extra_whitespaces=false`,
/// `add_dummy_prefix=false` (a prompt encodes as the same text inside the training data does),
/// `split_digits=true`, and for determinism `num_threads=1`, `input_sentence_size=0` (every
/// sentence) and `shuffle_input_sentence=false`. Ids: `<unk>` 0, `<s>` 1, `</s>` 2, then the 256
/// byte pieces `<0x00>`…`<0xFF>`, then the merged pieces.
public enum SentencePieceTrainer {
    /// The trainer flags (`spm_train` names), except `vocab_size`.
    public static let options: [(String, String)] = [
        ("model_type", "bpe"), ("byte_fallback", "true"), ("character_coverage", "1.0"),
        ("normalization_rule_name", "identity"), ("remove_extra_whitespaces", "false"), ("add_dummy_prefix", "false"),
        ("split_digits", "true"), ("num_threads", "1"), ("input_sentence_size", "0"), ("shuffle_input_sentence", "false"),
        ("max_sentence_length", "1000000"), ("minloglevel", "2"),
    ]

    /// The smallest vocabulary: 3 special pieces and 256 byte pieces, plus one piece.
    public static let minVocabSize = 260

    /// Trains a model of `vocabSize` pieces on `text`.
    /// - Parameters:
    ///   - text: the training text (one sentence per line).
    ///   - vocabSize: pieces wanted (≥ ``minVocabSize``). SentencePiece fails when the text does
    ///     not hold enough distinct pieces for it.
    /// - Returns: the serialized `ModelProto` (a `.model` file's bytes).
    /// - Throws: ``TokenizerError/invalid(_:)`` with the library's message.
    public static func train(text: String, vocabSize: Int) throws(TokenizerError) -> [UInt8] {
        guard vocabSize >= minVocabSize else {
            throw .invalid("a SentencePiece vocabulary with byte fallback needs at least \(minVocabSize) pieces, got \(vocabSize)")
        }
        let flags = (options + [("vocab_size", String(vocabSize))]).map { $0.0 + "=" + $0.1 }.joined(separator: "\n")
        var copy = text
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let status = copy.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { c in bgpt_spm_train(c.baseAddress, c.count, flags, &buffer, &length) }
        }
        defer { bgpt_spm_train_free(buffer) }
        guard status == Int32(BGPT_SPM_OK), let buffer else {
            throw .invalid("SentencePiece training failed: \(String(cString: bgpt_spm_train_last_error()))")
        }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }
}
