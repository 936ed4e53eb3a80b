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
    /// Input bytes that are not valid UTF-8; `offset` is the first bad byte (see ``UTF8Input``).
    case invalidUTF8(offset: Int)

    /// One line: what is wrong.
    public var description: String {
        switch self {
        case let .invalid(m): return "invalid tokenizer: \(m)"
        case let .cannotEncode(m): return "cannot encode text: \(m)"
        case let .unknownId(id, n): return "token id \(id) is not in the vocabulary (size \(n))"
        case let .unsupported(m): return "unsupported tokenizer: \(m)"
        case let .invalidUTF8(offset): return "invalid UTF-8 at byte \(offset)"
        }
    }
}

/// Special-token ids of a tokenizer; nil when the tokenizer has none.
public struct SpecialTokens: Equatable, Sendable {
    /// Beginning-of-sequence id.
    public var bos: Int?
    /// End-of-sequence id.
    public var eos: Int?
    /// Unknown-token id.
    public var unk: Int?
    /// Padding id.
    public var pad: Int?
    /// Ids of control and user-defined tokens (e.g. `<|endoftext|>`) that `--special` prints.
    public var control: Set<Int> = []

    /// Special ids; nil for those the tokenizer lacks.
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

