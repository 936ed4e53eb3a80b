/// The `tokenizer.*` metadata section of a .bgpt file, as one value (`formats/bgpt.md`,
/// "Tokenizer section").
///
/// Readers of external files (``TokenizerFiles``) produce a section; ``TokenizerFactory`` builds
/// a tokenizer from it; ``write(into:)`` stores it in a file's metadata. So a converter or trainer
/// writes exactly what the runtime will rebuild, and `TokenizerSection(metadata:)` of the written
/// metadata gives back an equal value.
public struct TokenizerSection: Equatable, Sendable {
    /// `tokenizer.kind`.
    public enum Kind: String, Sendable, CaseIterable {
        /// One token per Unicode scalar (nanoGPT's `meta.pkl` stoi/itos).
        case char
        /// One token per byte: id = byte value.
        case bytes
        /// GPT-2 style byte-level BPE.
        case bpe
        /// A SentencePiece model, stored as its serialized proto.
        case sentencepiece
    }

    /// What a `char` tokenizer does with a character that is not in its vocabulary.
    public enum UnknownPolicy: String, Sendable {
        /// Encoding fails with ``TokenizerError/cannotEncode(_:)`` naming the character.
        case error
        /// The character becomes `unk_id` (which must exist).
        case unk
    }

    /// How the rank of a BPE merge is found (`tokenizer.bpe.rank_by`).
    public enum RankBy: String, Sendable {
        /// Rank = index in `tokenizer.merges` (GPT-2 `vocab.bpe`, HF `tokenizer.json`).
        case merges
        /// Any two adjacent parts whose concatenation is a normal token merge, with that token's
        /// id as rank (tiktoken `.tiktoken` files); `tokenizer.merges` is then absent.
        case tokenId = "token_id"
    }

    /// Token types (`tokenizer.token_types`), the SentencePiece proto's values.
    public enum TokenType: UInt8, Sendable {
        /// An ordinary piece.
        case normal = 1
        /// The unknown piece.
        case unknown = 2
        /// A control token (bos, eos, `<|endoftext|>`): matched as text only when special tokens are allowed.
        case control = 3
        /// A user-defined added token, matched as its exact text.
        case userDefined = 4
        /// A placeholder id (a gap in the vocabulary).
        case unused = 5
        /// A byte piece (`<0xXX>`).
        case byte = 6
    }

    /// `tokenizer.kind`.
    public var kind: Kind
    /// Piece text by id. `bpe`: normal tokens in GPT-2's byte-to-unicode form, control and
    /// user-defined tokens as their plain text. `char`: one Unicode scalar each.
    public var tokens: [String]
    /// Optional scores, one per token.
    public var scores: [Float]?
    /// Optional types, one per token (``TokenType`` raw values).
    public var tokenTypes: [UInt8]?
    /// `bpe`: merges in rank order, each `"a b"` (both halves in byte-to-unicode form).
    public var merges: [String]
    /// `bpe`: how merges are ranked.
    public var rankBy: RankBy
    /// `bpe`: the pre-tokenizer regex itself.
    public var prePattern: String?
    /// `tokenizer.bos_id` (nil: none).
    public var bosId: Int?
    /// `tokenizer.eos_id` (nil: none).
    public var eosId: Int?
    /// `tokenizer.unk_id` (nil: none).
    public var unkId: Int?
    /// `tokenizer.pad_id` (nil: none).
    public var padId: Int?
    /// `sentencepiece`: the serialized `ModelProto`.
    public var sentencePieceModel: [UInt8]?
    /// `char`: unknown characters policy (default ``UnknownPolicy/error``).
    public var unknownPolicy: UnknownPolicy

    /// A section of `kind`; every other field is optional (see the properties).
    public init(kind: Kind, tokens: [String] = [], scores: [Float]? = nil, tokenTypes: [UInt8]? = nil,
                merges: [String] = [], rankBy: RankBy = .merges, prePattern: String? = nil,
                bosId: Int? = nil, eosId: Int? = nil, unkId: Int? = nil, padId: Int? = nil,
                sentencePieceModel: [UInt8]? = nil, unknownPolicy: UnknownPolicy = .error) {
        self.kind = kind
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.rankBy = rankBy
        self.prePattern = prePattern
        self.bosId = bosId
        self.eosId = eosId
        self.unkId = unkId
        self.padId = padId
        self.sentencePieceModel = sentencePieceModel
        self.unknownPolicy = unknownPolicy
    }

    /// The number of ids the tokenizer defines (`tokens.count`; 256 for `bytes`; for
    /// `sentencepiece`, 0 here: the model proto knows).
    public var definedCount: Int { kind == .bytes ? max(256, tokens.count) : tokens.count }

    /// The type of token `id` (normal when there are no types).
    public func type(of id: Int) -> TokenType {
        guard let t = tokenTypes, id >= 0, id < t.count else { return .normal }
        return TokenType(rawValue: t[id]) ?? .normal
    }

    /// All keys this section may write; ``write(into:)`` removes the ones it does not set.
    public static let keys = [
        "tokenizer.kind", "tokenizer.tokens", "tokenizer.scores", "tokenizer.token_types", "tokenizer.merges",
        "tokenizer.bpe.rank_by", "tokenizer.pre_pattern", "tokenizer.bos_id", "tokenizer.eos_id", "tokenizer.unk_id",
        "tokenizer.pad_id", "tokenizer.sentencepiece.model", "tokenizer.unknown_policy",
    ]

    /// Writes the section into `metadata`, replacing any earlier `tokenizer.*` keys.
    public func write(into metadata: inout Metadata) {
        for k in TokenizerSection.keys { metadata.remove(k) }
        metadata.set("tokenizer.kind", .string(kind.rawValue))
        if !tokens.isEmpty { metadata.set("tokenizer.tokens", .array(.string(tokens))) }
        if let s = scores { metadata.set("tokenizer.scores", .array(.float32(s))) }
        if let t = tokenTypes { metadata.set("tokenizer.token_types", .array(.uint8(t))) }
        if kind == .bpe {
            if rankBy == .merges { metadata.set("tokenizer.merges", .array(.string(merges))) }
            metadata.set("tokenizer.bpe.rank_by", .string(rankBy.rawValue))
        }
        if let p = prePattern { metadata.set("tokenizer.pre_pattern", .string(p)) }
        for (key, id) in [("tokenizer.bos_id", bosId), ("tokenizer.eos_id", eosId), ("tokenizer.unk_id", unkId), ("tokenizer.pad_id", padId)] {
            if let id { metadata.set(key, .int32(Int32(clamping: id))) }
        }
        if let m = sentencePieceModel { metadata.set("tokenizer.sentencepiece.model", .bytes(m)) }
        if kind == .char { metadata.set("tokenizer.unknown_policy", .string(unknownPolicy.rawValue)) }
    }

    /// A metadata set holding only this section.
    public func toMetadata() -> Metadata {
        var m = Metadata()
        write(into: &m)
        return m
    }

    /// Reads the section from a file's metadata, checking types, counts and ranges.
    /// - Parameters:
    ///   - metadata: the file's metadata.
    ///   - vocabSize: `model.vocab_size` when known: token counts must not exceed it and special ids
    ///     must lie under it.
    /// - Throws: ``TokenizerError/unsupported(_:)`` when there is no section or the kind is unknown;
    ///   ``TokenizerError/invalid(_:)`` naming the key for anything malformed.
    public init(metadata m: Metadata, vocabSize: Int? = nil) throws(TokenizerError) {
        guard let kindValue = m["tokenizer.kind"] else { throw .unsupported("the file has no tokenizer section") }
        guard case let .string(kindName) = kindValue else { throw .invalid("tokenizer.kind is \(kindValue.typeName), expected string") }
        guard let kind = Kind(rawValue: kindName) else { throw .unsupported("tokenizer.kind \"\(kindName)\"") }
        self.init(kind: kind)

        func get<T>(_ key: String, _ what: String, _ extract: (MetadataValue) -> T?) throws(TokenizerError) -> T? {
            guard let v = m[key] else { return nil }
            guard let x = extract(v) else { throw .invalid("\(key) is \(v.typeName), expected \(what)") }
            return x
        }
        tokens = try get("tokenizer.tokens", "array<string>") { if case let .array(.string(a)) = $0 { return a }; return nil } ?? []
        scores = try get("tokenizer.scores", "array<f32>") { if case let .array(.float32(a)) = $0 { return a }; return nil }
        tokenTypes = try get("tokenizer.token_types", "array<u8>") { if case let .array(.uint8(a)) = $0 { return a }; return nil }
        merges = try get("tokenizer.merges", "array<string>") { if case let .array(.string(a)) = $0 { return a }; return nil } ?? []
        prePattern = try get("tokenizer.pre_pattern", "string") { if case let .string(s) = $0 { return s }; return nil }
        sentencePieceModel = try get("tokenizer.sentencepiece.model", "bytes") { if case let .bytes(b) = $0 { return b }; return nil }
        if let r = try get("tokenizer.bpe.rank_by", "string", { if case let .string(s) = $0 { return s }; return nil }) {
            guard let rb = RankBy(rawValue: r) else { throw .invalid("tokenizer.bpe.rank_by \"\(r)\" is not merges or token_id") }
            rankBy = rb
        }
        if let p = try get("tokenizer.unknown_policy", "string", { if case let .string(s) = $0 { return s }; return nil }) {
            guard let up = UnknownPolicy(rawValue: p) else { throw .invalid("tokenizer.unknown_policy \"\(p)\" is not error or unk") }
            unknownPolicy = up
        }

        let count = tokens.count
        if let s = scores, s.count != count { throw .invalid("tokenizer.scores has \(s.count) entries, tokenizer.tokens \(count)") }
        if let t = tokenTypes {
            guard t.count == count else { throw .invalid("tokenizer.token_types has \(t.count) entries, tokenizer.tokens \(count)") }
            if let bad = t.firstIndex(where: { $0 < 1 || $0 > 6 }) { throw .invalid("tokenizer.token_types[\(bad)] = \(t[bad]) is not a type 1...6") }
        }
        if let v = vocabSize, count > v { throw .invalid("tokenizer.tokens has \(count) entries, more than model.vocab_size \(v)") }
        let limit = vocabSize ?? (kind == .sentencepiece ? Int(Int32.max) : definedCount)
        func special(_ key: String) throws(TokenizerError) -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.integer else { throw .invalid("\(key) is \(v.typeName), expected an integer") }
            if i < 0 { return nil }
            guard i < limit else { throw .invalid("\(key) = \(i) is outside the vocabulary (size \(limit))") }
            return i
        }
        bosId = try special("tokenizer.bos_id")
        eosId = try special("tokenizer.eos_id")
        unkId = try special("tokenizer.unk_id")
        padId = try special("tokenizer.pad_id")

        switch kind {
        case .char:
            if count == 0 { throw .invalid("a char tokenizer needs tokenizer.tokens") }
            if unknownPolicy == .unk && unkId == nil { throw .invalid("tokenizer.unknown_policy is unk but there is no tokenizer.unk_id") }
        case .bytes: break
        case .bpe:
            if count == 0 { throw .invalid("a bpe tokenizer needs tokenizer.tokens") }
            if prePattern == nil { throw .invalid("a bpe tokenizer needs tokenizer.pre_pattern") }
            if rankBy == .merges && m["tokenizer.merges"] == nil { throw .invalid("a bpe tokenizer ranked by merges needs tokenizer.merges") }
        case .sentencepiece:
            if sentencePieceModel == nil { throw .invalid("a sentencepiece tokenizer needs tokenizer.sentencepiece.model") }
        }
    }

    /// The special ids as a ``SpecialTokens`` value (control ids from the token types).
    public var specialTokens: SpecialTokens {
        var s = SpecialTokens(bos: bosId, eos: eosId, unk: unkId, pad: padId)
        if let t = tokenTypes {
            for (i, x) in t.enumerated() where x == TokenType.control.rawValue || x == TokenType.userDefined.rawValue { s.control.insert(i) }
        }
        return s
    }
}
