import BitGPT

/// JSON written by the server: keys keep the order they are given in (as OpenAI's responses list
/// them), strings are escaped per RFC 8259, numbers are finite.
enum JSON {
    case null
    case bool(Bool)
    case int(Int)
    case float(Float)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    /// `nil` as `null`.
    static func optional(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }

    /// The JSON text.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    /// The JSON text's bytes.
    var bytes: [UInt8] { Array(text.utf8) }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let f): out += f.isFinite ? "\(f)" : "null"
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, (k, v)) in o.enumerated() {
                if i > 0 { out += "," }
                JSON.quote(k, into: &out)
                out += ":"
                v.write(to: &out)
            }
            out += "}"
        }
    }

    /// `s` as a JSON string: the escapes of ``appendQuoted(_:to:control:)`` (BitGPT), the other
    /// controls, DEL, U+2028 and U+2029 (line ends to JavaScript) as `\uXXXX`.
    private static func quote(_ s: String, into out: inout String) {
        func escaped(_ v: UInt32) -> String {
            let hex = String(v, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        out += "\""
        for u in s.unicodeScalars {
            if u.value == 0x2028 || u.value == 0x2029 { out += escaped(u.value) } else { appendQuoted(u, to: &out, control: escaped) }
        }
        out += "\""
    }
}
