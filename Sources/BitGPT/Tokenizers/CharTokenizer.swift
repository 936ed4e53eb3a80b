/// One token per Unicode scalar, as nanoGPT's character-level `meta.pkl` (`itos`/`stoi`)
/// (`tokenizer.kind = "char"`).
///
/// Python iterates strings by code point, so a token is one Unicode scalar (not a grapheme
/// cluster). A scalar outside the vocabulary is an error, or `unk_id` under
/// ``TokenizerSection/UnknownPolicy/unk``.
public final class CharTokenizer: Tokenizer {
    /// Number of ids (≥ the vocabulary; ids past it are padding that decodes to nothing).
    public let vocabSize: Int
    /// Special ids, if any.
    public let special: SpecialTokens
    /// The characters by id (`itos`).
    public let itos: [String]
    /// What happens to characters not in the vocabulary.
    public let unknownPolicy: TokenizerSection.UnknownPolicy
    private let stoi: [UInt32: Int]
    /// Ids of scalars below U+10000 (-1: not in the vocabulary), the fast path of `encode`.
    private let bmpIds: [Int32]
    private let bytesById: [[UInt8]]

    /// Builds the tokenizer from `itos` (id → character).
    /// - Parameters:
    ///   - itos: one single-scalar string per id, all different.
    ///   - vocabSize: the model's vocabulary size if larger than `itos.count` (padding).
    ///   - unknownPolicy: `.error` (default) or `.unk`, which needs `unkId`.
    ///   - unkId: the id unknown characters map to under `.unk`.
    /// - Throws: ``TokenizerError/invalid(_:)`` for an empty, duplicate or multi-scalar entry, or
    ///   a policy without its id.
    public init(itos: [String], vocabSize: Int? = nil, unknownPolicy: TokenizerSection.UnknownPolicy = .error,
                special: SpecialTokens = SpecialTokens()) throws(TokenizerError) {
        guard !itos.isEmpty else { throw .invalid("the character vocabulary is empty") }
        let v = vocabSize ?? itos.count
        guard v >= itos.count else { throw .invalid("the character vocabulary has \(itos.count) entries, more than the model's \(v)") }
        var map: [UInt32: Int] = [:]
        for (i, s) in itos.enumerated() {
            let scalars = s.unicodeScalars
            guard scalars.count == 1, let c = scalars.first else {
                throw .invalid("character vocabulary entry \(i) (\(quoted(s, limit: 16))) is \(scalars.count) Unicode scalars, expected 1")
            }
            if let j = map[c.value] { throw .invalid("character vocabulary entries \(j) and \(i) are both \(quoted(s, limit: 16))") }
            map[c.value] = i
        }
        if unknownPolicy == .unk {
            guard let u = special.unk, u < v else { throw .invalid("unknown policy unk needs an unk id inside the vocabulary") }
        }
        self.itos = itos
        self.stoi = map
        self.vocabSize = v
        self.unknownPolicy = unknownPolicy
        self.special = special
        self.bytesById = itos.map { Array($0.utf8) }
        let maxBMP = Int(map.keys.filter { $0 < 0x10000 }.max() ?? 0)
        var bmp = [Int32](repeating: -1, count: maxBMP + 1)
        for (c, i) in map where c < 0x10000 { bmp[Int(c)] = Int32(i) }
        self.bmpIds = bmp
    }

    /// Builds the tokenizer of a `char` section.
    /// - Throws: ``TokenizerError/invalid(_:)`` as ``init(itos:vocabSize:unknownPolicy:special:)``.
    public convenience init(section: TokenizerSection, vocabSize: Int? = nil) throws(TokenizerError) {
        guard section.kind == .char else { throw .invalid("expected a char section, got \(section.kind.rawValue)") }
        try self.init(itos: section.tokens, vocabSize: vocabSize, unknownPolicy: section.unknownPolicy, special: section.specialTokens)
    }

    /// The section that rebuilds this tokenizer.
    public var section: TokenizerSection {
        TokenizerSection(kind: .char, tokens: itos, bosId: special.bos, eosId: special.eos, unkId: special.unk,
                         padId: special.pad, unknownPolicy: unknownPolicy)
    }

    /// One id per Unicode scalar of `text`.
    /// - Throws: ``TokenizerError/cannotEncode(_:)`` for a scalar outside the vocabulary under the
    ///   `error` policy (naming it and its position).
    public func encode(_ text: String) throws(TokenizerError) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count)
        let bmpCount = bmpIds.count
        for (n, c) in text.unicodeScalars.enumerated() {
            let v = Int(c.value)
            if v < bmpCount, bmpIds[v] >= 0 {
                out.append(Int(bmpIds[v]))
            } else if let id = stoi[c.value] {
                out.append(id)
            } else if unknownPolicy == .unk, let u = special.unk {
                out.append(u)
            } else {
                throw .cannotEncode("character U+\(String(c.value, radix: 16, uppercase: true)) at position \(n) is not in the vocabulary")
            }
        }
        return out
    }

    /// The UTF-8 bytes of the character `id` (nothing for padding ids).
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)``.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
        return id < bytesById.count ? bytesById[id] : []
    }
}
