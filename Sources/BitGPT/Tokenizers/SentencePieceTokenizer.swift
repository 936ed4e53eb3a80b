import CSentencePieceShim
import Foundation

/// A SentencePiece model (`tokenizer.kind = "sentencepiece"`), run by the system
/// libsentencepiece through the `CSentencePieceShim` C interface.
///
/// The model is loaded from its serialized `ModelProto` (`tokenizer.sentencepiece.model`) or a
/// `.model` file; encode and decode are the library's own, so ids match the `sentencepiece`
/// Python package. ``tokenBytes(_:)`` spells one piece on its own: `▁` becomes a space, byte
/// pieces `<0xXX>` become that byte, the unknown piece becomes ` ⁇ ` (SentencePiece's surface
/// for it) and control pieces their text. Whole-sequence ``decode(_:)`` is the library's, which
/// also drops the leading space of the dummy prefix.
///
/// Thread safety: the handle is only read after loading; SentencePiece's encode and decode are const.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    /// Number of ids (≥ the model's piece count; ids past it are padding that decodes to nothing).
    public let vocabSize: Int
    /// Special ids from the model.
    public let special: SpecialTokens
    /// The number of pieces in the model.
    public let pieceCount: Int
    /// The piece text of each id (`▁` for spaces).
    public let pieces: [String]
    /// The section that rebuilds this tokenizer (the serialized model, special ids, pieces, scores, types).
    public let section: TokenizerSection
    private let handle: OpaquePointer
    private let bytesById: [[UInt8]]

    /// Loads a model from its serialized proto.
    /// - Parameters:
    ///   - modelProto: the bytes of a `.model` file or of `tokenizer.sentencepiece.model`.
    ///   - vocabSize: the model's vocabulary size when larger than the piece count.
    /// - Throws: ``TokenizerError/invalid(_:)`` with the library's message for malformed bytes.
    public convenience init(modelProto: [UInt8], vocabSize: Int? = nil) throws(TokenizerError) {
        var out: OpaquePointer?
        let status = modelProto.withUnsafeBytes { b in bgpt_spm_load_bytes(b.baseAddress, b.count, &out) }
        guard status == Int32(BGPT_SPM_OK), let h = out else {
            throw .invalid("SentencePiece model (\(modelProto.count) bytes) does not load: \(SentencePieceTokenizer.lastError())")
        }
        try self.init(handle: h, vocabSize: vocabSize)
    }

    /// Loads a `.model` file.
    /// - Throws: ``TokenizerError/invalid(_:)`` naming the path.
    public convenience init(path: String, vocabSize: Int? = nil) throws(TokenizerError) {
        var out: OpaquePointer?
        let status = bgpt_spm_load_file(path, &out)
        guard status == Int32(BGPT_SPM_OK), let h = out else {
            throw .invalid("\(path): not a SentencePiece model: \(SentencePieceTokenizer.lastError())")
        }
        try self.init(handle: h, vocabSize: vocabSize)
    }

    /// Builds the tokenizer of a `sentencepiece` section (the special ids come from the model).
    public convenience init(section: TokenizerSection, vocabSize: Int? = nil) throws(TokenizerError) {
        guard section.kind == .sentencepiece, let proto = section.sentencePieceModel else {
            throw .invalid("expected a sentencepiece section with tokenizer.sentencepiece.model")
        }
        try self.init(modelProto: proto, vocabSize: vocabSize)
    }

    private init(handle h: OpaquePointer, vocabSize: Int?) throws(TokenizerError) {
        let count = Int(bgpt_spm_vocab_size(h))
        let v = vocabSize ?? count
        guard count > 0, v >= count else {
            bgpt_spm_free(h)
            throw .invalid("the SentencePiece model has \(count) pieces, more than the model's vocabulary \(v)")
        }
        var pieces: [String] = []
        var scores: [Float] = []
        var types: [UInt8] = []
        var bytesById: [[UInt8]] = []
        var control = Set<Int>()
        var buffer = [CChar](repeating: 0, count: 256)
        for id in 0..<count {
            var len = 0
            var score: Float = 0
            var kind: Int32 = 0
            var status = bgpt_spm_piece(h, Int32(id), &buffer, buffer.count, &len, &score, &kind)
            if status == Int32(BGPT_SPM_ERR_BUFFER) {
                buffer = [CChar](repeating: 0, count: len)
                status = bgpt_spm_piece(h, Int32(id), &buffer, buffer.count, &len, &score, &kind)
            }
            guard status == Int32(BGPT_SPM_OK) else {
                bgpt_spm_free(h)
                throw .invalid("SentencePiece piece \(id): \(SentencePieceTokenizer.lastError())")
            }
            let raw = buffer[..<len].map { UInt8(bitPattern: $0) }
            let text = String(decoding: raw, as: UTF8.self)
            pieces.append(text)
            scores.append(score)
            types.append(UInt8(clamping: kind))
            if kind == Int32(BGPT_SPM_CONTROL) { control.insert(id) }
            bytesById.append(SentencePieceTokenizer.surface(text, kind: kind))
        }
        var bos: Int32 = -1, eos: Int32 = -1, unk: Int32 = -1, pad: Int32 = -1
        bgpt_spm_special_ids(h, &bos, &eos, &unk, &pad)
        func opt(_ x: Int32) -> Int? { x >= 0 && Int(x) < count ? Int(x) : nil }
        let special = SpecialTokens(bos: opt(bos), eos: opt(eos), unk: opt(unk), pad: opt(pad), control: control)

        var len = 0
        var proto: [UInt8] = []
        _ = bgpt_spm_serialized(h, nil, 0, &len)
        if len > 0 {
            proto = [UInt8](repeating: 0, count: len)
            let st = proto.withUnsafeMutableBytes { b in bgpt_spm_serialized(h, b.baseAddress, b.count, &len) }
            if st != Int32(BGPT_SPM_OK) {
                bgpt_spm_free(h)
                throw .invalid("cannot serialize the SentencePiece model: \(SentencePieceTokenizer.lastError())")
            }
        }
        self.handle = h
        self.pieceCount = count
        self.vocabSize = v
        self.special = special
        self.pieces = pieces
        self.bytesById = bytesById
        self.section = TokenizerSection(kind: .sentencepiece, tokens: pieces, scores: scores, tokenTypes: types,
                                        bosId: special.bos, eosId: special.eos, unkId: special.unk, padId: special.pad,
                                        sentencePieceModel: proto)
    }

    deinit { bgpt_spm_free(handle) }

    static func lastError() -> String { String(cString: bgpt_spm_last_error()) }

    /// The bytes one piece stands for on its own.
    static func surface(_ piece: String, kind: Int32) -> [UInt8] {
        if kind == Int32(BGPT_SPM_BYTE), piece.utf8.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">"),
           let v = UInt8(piece.dropFirst(3).prefix(2), radix: 16) {
            return [v]
        }
        if kind == Int32(BGPT_SPM_UNKNOWN) { return Array(" \u{2047} ".utf8) }
        if kind == Int32(BGPT_SPM_CONTROL) { return Array(piece.utf8) }
        return Array(piece.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
    }

    /// Encodes `text` with the model (no bos/eos).
    /// - Throws: ``TokenizerError/cannotEncode(_:)`` with the library's message.
    public func encode(_ text: String) throws(TokenizerError) -> [Int] {
        var t = text
        var ids = [Int32](repeating: 0, count: t.utf8.count + 8)
        var count = 0
        var status = t.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { c in bgpt_spm_encode(handle, c.baseAddress, c.count, &ids, ids.count, &count) }
        }
        if status == Int32(BGPT_SPM_ERR_BUFFER) {
            ids = [Int32](repeating: 0, count: count)
            status = t.withUTF8 { p in
                p.withMemoryRebound(to: CChar.self) { c in bgpt_spm_encode(handle, c.baseAddress, c.count, &ids, ids.count, &count) }
            }
        }
        guard status == Int32(BGPT_SPM_OK) else { throw .cannotEncode(SentencePieceTokenizer.lastError()) }
        return ids[..<count].map { Int($0) }
    }

    /// The bytes of one piece on its own (see the type's discussion).
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)``.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
        return id < bytesById.count ? bytesById[id] : []
    }

    /// Decodes with the library (drops control pieces and the dummy-prefix space). Padding ids
    /// past the model's pieces are skipped.
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)`` for an id outside the vocabulary.
    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var inside: [Int32] = []
        inside.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
            if id < pieceCount { inside.append(Int32(id)) }
        }
        var out = [CChar](repeating: 0, count: inside.count * 8 + 16)
        var len = 0
        var status = bgpt_spm_decode(handle, inside, inside.count, &out, out.count, &len)
        if status == Int32(BGPT_SPM_ERR_BUFFER) {
            out = [CChar](repeating: 0, count: len)
            status = bgpt_spm_decode(handle, inside, inside.count, &out, out.count, &len)
        }
        guard status == Int32(BGPT_SPM_OK) else { throw .invalid("SentencePiece decode failed: \(SentencePieceTokenizer.lastError())") }
        return String(decoding: out[..<len].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
