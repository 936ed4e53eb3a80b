/// The one policy for text that arrives as bytes (a prompt file, stdin, a command-line argument, a
/// C string): it must be valid UTF-8. Invalid input is rejected with the byte offset of the first
/// bad byte, never replaced with U+FFFD, so a tokenizer never sees a character the user did not
/// type. (Decoded *output* is different: a token sequence that splits a character is printed with
/// U+FFFD, see ``StreamingDecoder``.)
public enum UTF8Input {
    /// The offset of the first byte that does not belong to a valid UTF-8 character, or nil when
    /// all of `bytes` is valid UTF-8.
    public static func firstInvalidByte<C: Collection<UInt8>>(_ bytes: C) -> Int? {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&it) {
            case let .scalarValue(u): offset += UTF8.width(u)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// `bytes` as a String.
    ///
    /// - Throws: ``TokenizerError/invalidUTF8(offset:)`` naming the first bad byte.
    public static func text<C: Collection<UInt8>>(_ bytes: C) throws(TokenizerError) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        throw .invalidUTF8(offset: firstInvalidByte(bytes) ?? 0)
    }
}
