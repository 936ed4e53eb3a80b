/// Errors of every tokenizer: construction from files or metadata, encoding and decoding.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The tokenizer section or file is malformed (what, and why).
    case invalid(String)
    /// The text holds something this tokenizer cannot encode under its policy (e.g. an unknown character).
    case cannotEncode(String)
    /// An id is not in the vocabulary.
    case unknownId(Int, vocabSize: Int)
    /// No tokenizer section, or an unsupported kind.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .invalid(m): return "invalid tokenizer: \(m)"
        case let .cannotEncode(m): return "cannot encode text: \(m)"
        case let .unknownId(id, n): return "token id \(id) is not in the vocabulary (size \(n))"
        case let .unsupported(m): return "unsupported tokenizer: \(m)"
        }
    }
}

/// Special-token ids of a tokenizer; nil when the tokenizer has none.
public struct SpecialTokens: Equatable, Sendable {
    public var bos: Int?
    public var eos: Int?
    public var unk: Int?
    public var pad: Int?
    /// Ids of control and user-defined tokens (e.g. `<|endoftext|>`) that `--special` prints.
    public var control: Set<Int> = []

    public init(bos: Int? = nil, eos: Int? = nil, unk: Int? = nil, pad: Int? = nil, control: Set<Int> = []) {
        self.bos = bos
        self.eos = eos
        self.unk = unk
        self.pad = pad
        self.control = control
    }
}

/// Text ↔ token ids. Every tokenizer kind (char, bytes, byte-level BPE, SentencePiece) conforms.
///
/// Implementations are immutable after construction and safe to share across threads.
public protocol Tokenizer: AnyObject, Sendable {
    /// Number of ids the tokenizer can produce or decode (0..<vocabSize).
    var vocabSize: Int { get }
    /// bos/eos/unk/pad and control ids.
    var special: SpecialTokens { get }
    /// Encodes text to ids (no bos/eos added).
    func encode(_ text: String) throws(TokenizerError) -> [Int]
    /// The raw bytes of one token (its UTF-8 text may be split across tokens).
    /// Special tokens give their text (e.g. `</s>`).
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)``.
    func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8]
    /// Decodes ids to text; invalid UTF-8 across the whole sequence becomes U+FFFD.
    func decode(_ ids: [Int]) throws(TokenizerError) -> String
}

extension Tokenizer {
    /// Default decode: concatenated token bytes, decoded as UTF-8 with replacement.
    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += try tokenBytes(id) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Turns a stream of token ids into text pieces that hold only whole UTF-8 characters.
///
/// Bytes of a character split across tokens are held back until the character is complete;
/// bytes that can never form a valid character are emitted as U+FFFD.
public struct StreamingDecoder {
    private var pending: [UInt8] = []

    public init() {}

    /// Appends a token's bytes and returns the text that is now complete (possibly empty).
    public mutating func push(_ bytes: [UInt8]) -> String {
        pending += bytes
        // Find the longest prefix that ends on a character boundary.
        var cut = pending.count
        var i = pending.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = pending[i]
            if b & 0xC0 != 0x80 {
                let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                if b >= 0xC0 && (pending.count - i) < need && b < 0xF8 { cut = i }
                break
            }
            i -= 1
            back += 1
        }
        let out = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return out
    }

    /// Returns whatever is held back (incomplete characters become U+FFFD).
    public mutating func flush() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// Raw bytes as tokens: id = byte value (`tokenizer.kind = "bytes"`). Ids ≥ 256 (padding of a
/// larger embedding) decode to nothing.
public final class ByteTokenizer: Tokenizer {
    public let vocabSize: Int
    public let special: SpecialTokens

    /// - Parameters:
    ///   - vocabSize: ≥ 256; ids past 255 are padding.
    ///   - special: special ids, if any.
    public init(vocabSize: Int = 256, special: SpecialTokens = SpecialTokens()) {
        self.vocabSize = max(vocabSize, 256)
        self.special = special
    }

    public func encode(_ text: String) throws(TokenizerError) -> [Int] { text.utf8.map { Int($0) } }

    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
        return id < 256 ? [UInt8(id)] : []
    }
}

/// Builds the tokenizer described by a file's `tokenizer.*` section.
public enum TokenizerFactory {
    /// - Parameters:
    ///   - metadata: the file's metadata.
    ///   - vocabSize: `model.vocab_size`, which token ids must stay under.
    /// - Throws: ``TokenizerError/unsupported(_:)`` when there is no section or the kind is unknown,
    ///   ``TokenizerError/invalid(_:)`` for a malformed section.
    public static func make(metadata: Metadata, vocabSize: Int) throws(TokenizerError) -> any Tokenizer {
        guard let kindValue = metadata["tokenizer.kind"] else { throw .unsupported("the file has no tokenizer section") }
        guard case let .string(kind) = kindValue else { throw .invalid("tokenizer.kind is \(kindValue.typeName), expected string") }
        let special = try specialTokens(metadata, vocabSize: vocabSize)
        switch kind {
        case "bytes":
            guard vocabSize >= 256 else { throw .invalid("a bytes tokenizer needs a vocabulary of at least 256, the model has \(vocabSize)") }
            return ByteTokenizer(vocabSize: vocabSize, special: special)
        default:
            throw .unsupported("tokenizer.kind \"\(kind)\"")
        }
    }

    /// Reads and range-checks `tokenizer.{bos,eos,unk,pad}_id`.
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
