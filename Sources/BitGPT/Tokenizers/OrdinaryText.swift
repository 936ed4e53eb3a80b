/// Encoding that keeps user text ordinary: `<|endoftext|>`, `</s>` and the like in a prompt or a
/// chat message stay plain text and never become special or control tokens. Only explicit token
/// ids (and a chat template's own text, ``Tokenizer/encodeTemplateText(_:)``) carry them.
extension Tokenizer {
    /// The ids a special token may have: control and user-defined ones, bos, eos, pad.
    public var specialIds: Set<Int> {
        let s = special
        return s.control.union([s.bos, s.eos, s.pad].compactMap { $0 })
    }

    /// Encodes `text` as ordinary text (no bos/eos added).
    ///
    /// Byte-level BPE encodes added-token text as plain text (tiktoken's `encode_ordinary`); char,
    /// bytes and SentencePiece tokenizers never read control pieces from text. Any special id that
    /// still comes out is refused rather than passed on. (Not covered: SentencePiece user-defined
    /// pieces, which the library extracts from any text; the runtime cannot tell them from normal
    /// pieces, as the library does not report that type.)
    /// - Throws: ``TokenizerError/cannotEncode(_:)`` when the text cannot be encoded, or would
    ///   encode to a special token.
    public func encodeOrdinary(_ text: String) throws(TokenizerError) -> [Int] {
        let ids: [Int]
        if let bpe = self as? ByteLevelBPE { ids = try bpe.encode(text, allowSpecial: false) } else { ids = try encode(text) }
        let banned = specialIds
        if let bad = ids.first(where: banned.contains) {
            let piece = String(decoding: (try? tokenBytes(bad)) ?? [], as: UTF8.self)
            throw .cannotEncode("the text contains \"\(piece)\", which this tokenizer always reads as special token \(bad); it cannot be given as ordinary text")
        }
        return ids
    }

    /// Encodes trusted text (a chat template's own text): the exact text of a special token
    /// (longest first) becomes that token, whatever the tokenizer kind; the text between is ordinary.
    /// - Throws: ``TokenizerError/cannotEncode(_:)``.
    public func encodeTemplateText(_ text: String) throws(TokenizerError) -> [Int] {
        let pieces = specialIds.compactMap { id -> (id: Int, text: [UInt8])? in
            guard let b = try? tokenBytes(id), !b.isEmpty else { return nil }
            return (id, b)
        }.sorted { $0.text.count > $1.text.count || ($0.text.count == $1.text.count && $0.id < $1.id) }
        let bytes = Array(text.utf8)
        var ids: [Int] = [], plain = 0, i = 0
        func flush(_ end: Int) throws(TokenizerError) {
            if end > plain { ids += try encodeOrdinary(String(decoding: bytes[plain..<end], as: UTF8.self)) }
        }
        while i < bytes.count {
            if let p = pieces.first(where: { i + $0.text.count <= bytes.count && bytes[i..<(i + $0.text.count)].elementsEqual($0.text) }) {
                try flush(i)
                ids.append(p.id)
                i += p.text.count
                plain = i
            } else {
                i += 1
            }
        }
        try flush(bytes.count)
        return ids
    }
}
