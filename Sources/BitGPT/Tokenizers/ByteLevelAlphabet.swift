/// GPT-2's reversible map between bytes and printable Unicode scalars (`bytes_to_unicode` in
/// openai/gpt-2 `src/encoder.py`).
///
/// Bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` map to the scalar of the same value; the other 68 bytes map,
/// in increasing order, to U+0100 + n (0 → `Ā`, 10 → `Ċ`, 32 → `Ġ`). Byte-level BPE vocabularies
/// (`encoder.json`, HF `tokenizer.json`) spell tokens in this form.
public enum ByteLevelAlphabet {
    /// The scalar value of each byte.
    public static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte of each scalar in the alphabet (scalars U+0000…U+0143), or -1.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarOfByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// `bytes` spelled in the alphabet (`[0x20, 0x61]` → `"Ġa"`).
    public static func encode(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if let u = Unicode.Scalar(scalarOfByte[Int(b)]) { s.append(u) }
        }
        return String(s)
    }

    /// The bytes a string in the alphabet spells, or nil if it holds a scalar outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars {
            let v = Int(u.value)
            guard v < byteOfScalar.count else { return nil }
            let b = byteOfScalar[v]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
