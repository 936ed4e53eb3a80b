/// Turns a stream of token bytes into text pieces that hold only whole UTF-8 characters.
///
/// Bytes of a character split across tokens are held back until the character is complete.
/// Bytes that can never start or continue a valid character are emitted at once as U+FFFD (one
/// replacement per maximal invalid subpart, as `String(decoding:as:)` does). The concatenation of
/// everything `push` and `flush` return equals `String(decoding: allBytes, as: UTF8.self)`.
public struct StreamingDecoder {
    private var pending: [UInt8] = []

    /// A decoder with nothing held back.
    public init() {}

    /// Appends a token's bytes and returns the text that is now complete (possibly empty).
    /// - Parameter bytes: the token's raw bytes (``Tokenizer/tokenBytes(_:)``).
    /// - Returns: the complete characters; an incomplete but still valid character tail is kept.
    public mutating func push(_ bytes: [UInt8]) -> String {
        pending += bytes
        let cut = StreamingDecoder.completePrefixLength(pending)
        if cut == 0 { return "" }
        let out = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return out
    }

    /// Returns whatever is held back (an incomplete character becomes U+FFFD) and resets.
    public mutating func flush() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Whether bytes are held back waiting for the rest of a character.
    public var hasPending: Bool { !pending.isEmpty }

    /// The length of the longest prefix of `b` after which no valid character is left unfinished:
    /// `b.count`, unless `b` ends in a proper prefix of a well-formed UTF-8 sequence, which is
    /// then excluded.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // A well-formed sequence is at most 4 bytes, so an unfinished one starts within the last 3.
        var start = n - 1
        while start >= 0 && start >= n - 3 {
            let lead = b[start]
            if lead & 0xC0 != 0x80 {
                return isProperPrefix(b, from: start) ? start : n
            }
            start -= 1
        }
        return n
    }

    /// Whether b[from...] is a proper (shorter than needed) prefix of a well-formed UTF-8 sequence
    /// (Unicode Table 3-7: E0 needs A0–BF next, ED 80–9F, F0 90–BF, F4 80–8F).
    private static func isProperPrefix(_ b: [UInt8], from: Int) -> Bool {
        let lead = b[from]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return false
        }
        let have = b.count - from
        if have >= need { return false }
        if have >= 2 {
            let second = b[from + 1]
            let ok: Bool
            switch lead {
            case 0xE0: ok = (0xA0...0xBF).contains(second)
            case 0xED: ok = (0x80...0x9F).contains(second)
            case 0xF0: ok = (0x90...0xBF).contains(second)
            case 0xF4: ok = (0x80...0x8F).contains(second)
            default: ok = (0x80...0xBF).contains(second)
            }
            if !ok { return false }
        }
        if have >= 3 && b[from + 2] & 0xC0 != 0x80 { return false }
        return true
    }
}
