/// Raw bytes as tokens: id = byte value (`tokenizer.kind = "bytes"`). Ids ≥ 256 (padding of a
/// larger embedding) decode to nothing.
public final class ByteTokenizer: Tokenizer {
    /// Number of ids, ≥ 256.
    public let vocabSize: Int
    /// Special ids, if any.
    public let special: SpecialTokens

    /// - Parameters:
    ///   - vocabSize: ≥ 256; ids past 255 are padding.
    ///   - special: special ids, if any.
    public init(vocabSize: Int = 256, special: SpecialTokens = SpecialTokens()) {
        self.vocabSize = max(vocabSize, 256)
        self.special = special
    }

    /// The section that rebuilds this tokenizer (`tokenizer.kind = "bytes"` and the special ids).
    public var section: TokenizerSection {
        TokenizerSection(kind: .bytes, bosId: special.bos, eosId: special.eos, unkId: special.unk, padId: special.pad)
    }

    /// Each UTF-8 byte of `text` as its own id.
    public func encode(_ text: String) throws(TokenizerError) -> [Int] { 
        var t = text
        return t.withUTF8 { p in
            var out = [Int](repeating: 0, count: p.count)
            for i in 0..<p.count { out[i] = Int(p[i]) }
            return out
        }
    }

    /// The byte of `id` (nothing for padding ids ≥ 256).
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)`` when `id` is outside 0..<vocabSize.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
        return id < 256 ? [UInt8(id)] : []
    }
}

