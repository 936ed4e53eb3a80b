import BitGPT
import Foundation

/// The work behind `lm-tokenize`: load a tokenizer from any supported file, encode, decode,
/// list pieces, and time encoding.
public enum TokenizeTool {
    /// Loads the tokenizer `paths` name (see ``TokenizerFiles/load(_:)``).
    /// - Parameters:
    ///   - paths: one file, or GPT-2's `encoder.json` and `vocab.bpe`.
    ///   - pattern: for `.tiktoken` files, `gpt2`, `cl100k` or a regex (default gpt2).
    ///   - special: for `.tiktoken` files, special tokens as `NAME=ID` (default: `<|endoftext|>`
    ///     after the last rank).
    /// - Returns: the tokenizer and the section it was built from.
    public static func load(_ paths: [String], pattern: String? = nil, special: [String] = []) throws -> (any Tokenizer, TokenizerSection) {
        let section: TokenizerSection
        if paths == ["bytes"] {
            section = TokenizerSection(kind: .bytes)
        } else if paths.count == 1, paths[0].hasPrefix("chars-of:") {
            section = try charSection(ofFile: String(paths[0].dropFirst("chars-of:".count)))
        } else if paths.count == 1, paths[0].hasSuffix(".tiktoken") {
            var specials: [String: Int]?
            for item in special {
                guard let eq = item.lastIndex(of: "="), let id = Int(item[item.index(after: eq)...]), id >= 0 else {
                    throw BadInput("--special \"\(item)\" is not NAME=ID")
                }
                specials = specials ?? [:]
                specials?[String(item[..<eq])] = id
            }
            section = try TokenizerFiles.tiktoken(path: paths[0], pattern: patternNamed(pattern ?? "gpt2"), specialTokens: specials)
        } else {
            section = try TokenizerFiles.load(paths)
        }
        var vocab: Int?
        if paths.count == 1, paths[0].hasSuffix(".bgpt") {
            vocab = (try? BGPTFile(path: paths[0]))?.metadata["model.vocab_size"]?.integer
        }
        return (try TokenizerFactory.make(section: section, vocabSize: vocab), section)
    }

    /// A char vocabulary as nanoGPT's `prepare.py` builds it: the sorted distinct Unicode scalars
    /// of a text file.
    public static func charSection(ofFile path: String) throws -> TokenizerSection {
        let data = try readWholeFile(path, what: "the file")
        let text = try utf8Text([UInt8](data), source: path)
        let scalars = Set(text.unicodeScalars.map { $0.value }).sorted()
        return try TokenizerFiles.char(itos: scalars.compactMap { Unicode.Scalar($0).map { String(Character($0)) } })
    }

    /// The regex for a pattern name (`gpt2`, `cl100k`) or the text itself.
    public static func patternNamed(_ name: String) -> String {
        switch name {
        case "gpt2", "r50k": return PreTokenizer.gpt2Pattern
        case "cl100k": return PreTokenizer.cl100kPattern
        default: return name
        }
    }

    /// Reads all of stdin and checks it is UTF-8.
    /// - Throws: a one-line error naming the first invalid byte offset.
    public static func readStdin() throws -> String {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return try utf8Text([UInt8](data), source: "stdin")
    }

    /// `bytes` as a String, or an error naming the offset of the first invalid byte (the
    /// documented policy: invalid UTF-8 input is rejected, never silently replaced).
    public static func utf8Text(_ bytes: [UInt8], source: String) throws -> String {
        do { return try UTF8Input.text(bytes) } catch { throw BadInput("\(source): \(error)") }
    }

    /// Parses whitespace-separated ids.
    public static func parseIds(_ text: String) throws -> [Int] {
        try text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "," || $0 == "\r" }).map {
            guard let i = Int($0) else { throw BadInput("\"\($0)\" is not a token id") }
            return i
        }
    }

    /// One line per id: the id, a tab, and the token shown as a quoted string (bytes of a
    /// partial character as `\xNN`).
    public static func piecesText(_ tokenizer: any Tokenizer, _ ids: [Int]) throws -> String {
        var out = ""
        for id in ids {
            out += "\(id)\t\(show(try tokenizer.tokenBytes(id)))\n"
        }
        return out
    }

    /// A token's bytes as a quoted string with escapes for control characters and invalid UTF-8.
    public static func show(_ bytes: [UInt8]) -> String {
        var s = "\""
        var i = 0
        // Decode piecewise, escaping bytes that do not form characters.
        while i < bytes.count {
            var sub = bytes[i...].makeIterator()
            var decoder = UTF8()
            switch decoder.decode(&sub) {
            case let .scalarValue(u):
                appendQuoted(u, to: &s) { String(format: "\\x%02X", $0) }
                i += UTF8.width(u)
            default:
                s += String(format: "\\x%02X", bytes[i])
                i += 1
            }
        }
        return s + "\""
    }

    /// Batch mode for parity scripts: `json` is a JSON array of strings (encode) or of id arrays
    /// (decode); the result is the JSON array of id arrays or of strings.
    public static func batch(_ tokenizer: any Tokenizer, json: String, decode: Bool, allowSpecial: Bool) throws -> String {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) } catch {
            throw BadInput("--batch input is not JSON: \(ErrorText.short(error))")
        }
        guard let array = parsed as? [Any] else {
            throw BadInput("--batch input is not a JSON array")
        }
        var out: [Any] = []
        for item in array {
            if decode {
                guard let ids = item as? [Int] else { throw BadInput("--batch --decode expects arrays of ids") }
                out.append(try tokenizer.decode(ids))
            } else {
                guard let text = item as? String else { throw BadInput("--batch expects strings") }
                if !allowSpecial, let bpe = tokenizer as? ByteLevelBPE {
                    out.append(try bpe.encode(text, allowSpecial: false))
                } else {
                    out.append(try tokenizer.encode(text))
                }
            }
        }
        let data = try JSONSerialization.data(withJSONObject: out, options: [])
        return String(decoding: data, as: UTF8.self)
    }

    /// Encodes `text` `repeats` times and returns (MB/s, ids per run).
    public static func benchmark(_ tokenizer: any Tokenizer, _ text: String, repeats: Int) throws -> (mbPerSecond: Double, ids: Int) {
        var count = 0
        let start = Date()
        for _ in 0..<max(1, repeats) {
            count = try tokenizer.encode(text).count
        }
        let seconds = Date().timeIntervalSince(start)
        let mb = Double(text.utf8.count) * Double(max(1, repeats)) / 1e6
        return (mb / seconds, count)
    }
}
