/// Builds the tokenizer a `tokenizer.*` section describes.
public enum TokenizerFactory {
    /// Builds the tokenizer of a file's metadata.
    /// - Parameters:
    ///   - metadata: the file's metadata.
    ///   - vocabSize: `model.vocab_size`, which token ids must stay under.
    /// - Throws: ``TokenizerError/unsupported(_:)`` when there is no section or the kind is unknown,
    ///   ``TokenizerError/invalid(_:)`` for a malformed section.
    public static func make(metadata: Metadata, vocabSize: Int) throws(TokenizerError) -> any Tokenizer {
        let section = try TokenizerSection(metadata: metadata, vocabSize: vocabSize)
        return try make(section: section, vocabSize: vocabSize)
    }

    /// Builds the tokenizer of a section.
    /// - Parameters:
    ///   - section: a section read from a file or from external tokenizer files.
    ///   - vocabSize: the model's vocabulary size (ids past the tokenizer's own count are padding
    ///     that decodes to nothing); nil to use the tokenizer's own count.
    /// - Throws: ``TokenizerError/invalid(_:)`` when the section cannot be built.
    public static func make(section: TokenizerSection, vocabSize: Int? = nil) throws(TokenizerError) -> any Tokenizer {
        switch section.kind {
        case .bytes:
            let v = vocabSize ?? 256
            guard v >= 256 else { throw .invalid("a bytes tokenizer needs a vocabulary of at least 256, the model has \(v)") }
            return ByteTokenizer(vocabSize: v, special: section.specialTokens)
        case .char:
            return try CharTokenizer(section: section, vocabSize: vocabSize)
        case .bpe:
            return try ByteLevelBPE(section: section, vocabSize: vocabSize)
        case .sentencepiece:
            return try SentencePieceTokenizer(section: section, vocabSize: vocabSize)
        }
    }

    /// Reads and range-checks `tokenizer.{bos,eos,unk,pad}_id` (and control ids from the types).
    public static func specialTokens(_ m: Metadata, vocabSize: Int) throws(TokenizerError) -> SpecialTokens {
        func id(_ key: String) throws(TokenizerError) -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.integer else { throw .invalid("\(key) is \(v.typeName), expected an integer") }
            if i < 0 { return nil }
            guard i < vocabSize else { throw .invalid("\(key) = \(i) is outside the vocabulary (size \(vocabSize))") }
            return i
        }
        var s = SpecialTokens(bos: try id("tokenizer.bos_id"), eos: try id("tokenizer.eos_id"),
                              unk: try id("tokenizer.unk_id"), pad: try id("tokenizer.pad_id"))
        if case let .array(.uint8(types))? = m["tokenizer.token_types"] {
            for (i, t) in types.enumerated() where (t == 3 || t == 4) && i < vocabSize { s.control.insert(i) }
        }
        return s
    }
}
