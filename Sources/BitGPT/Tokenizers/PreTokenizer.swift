import Foundation

/// Splits text into the pieces byte-level BPE encodes one at a time, as the regex stored in
/// `tokenizer.pre_pattern` does.
///
/// The patterns in wide use are matched by hand-written scanners over UTF-8 bytes, which follow
/// the regex semantics exactly (alternation order, greedy runs, the backtracking of
/// `\s+(?!\S)`): GPT-2's pattern and tiktoken's equivalent r50k form, and the cl100k pattern in
/// tiktoken's possessive form and in the Hugging Face (Llama 3) form, which differ only in
/// tiktoken's `\s++$`. Any other pattern runs on `NSRegularExpression` (ICU), whose pieces are
/// the matches plus the unmatched text between them (HF's `Split` with `Isolated` behaviour).
///
/// Character classes follow Unicode: `\p{L}` is general category L*, `\p{N}` is N*, `\s` is the
/// White_Space property.
public struct PreTokenizer: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable and documented thread-safe for matching.

    /// GPT-2's pattern (gpt-2 `encoder.py`; HF `ByteLevel` with `use_regex`).
    public static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// tiktoken's r50k_base form of GPT-2's pattern (same pieces).
    public static let r50kPattern = #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#
    /// tiktoken's cl100k_base pattern.
    public static let cl100kPattern = #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
    /// The cl100k-style pattern as Hugging Face `tokenizer.json` files (Llama 3) store it.
    public static let cl100kHFPattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    enum Scanner {
        case gpt2
        case cl100k(endRule: Bool)
        case regex(NSRegularExpression)
    }

    /// The pattern text, as stored in `tokenizer.pre_pattern`.
    public let pattern: String
    let scanner: Scanner

    /// Compiles `pattern`.
    /// - Throws: ``TokenizerError/invalid(_:)`` when the pattern is neither a known one nor a
    ///   valid ICU regex.
    public init(pattern: String) throws(TokenizerError) {
        self.pattern = pattern
        switch pattern {
        case PreTokenizer.gpt2Pattern, PreTokenizer.r50kPattern: scanner = .gpt2
        case PreTokenizer.cl100kPattern: scanner = .cl100k(endRule: true)
        case PreTokenizer.cl100kHFPattern: scanner = .cl100k(endRule: false)
        default:
            guard !PreTokenizer.mayBacktrackExponentially(pattern) else {
                throw .invalid("tokenizer.pre_pattern repeats (with *, + or {}) a group that itself repeats or alternates, which can take exponential time: \(quoted(pattern, limit: 80))")
            }
            do {
                scanner = .regex(try NSRegularExpression(pattern: pattern, options: []))
            } catch {
                throw .invalid("tokenizer.pre_pattern is not a valid regular expression: \(quoted(pattern, limit: 80))")
            }
        }
    }

    /// Whether `pattern` repeats a group (`*`, `+` or `{…}` after `)`) whose body holds a
    /// quantifier (`*`, `+`, `{`) or an alternation (`|`): the shapes, like `(a+)+` or `(a|a)*`,
    /// on which a backtracking engine such as ICU takes exponential time. Such patterns are
    /// refused for the regex path (`formats/limits.md`); the known patterns, and `(…)?`, pass.
    /// Escapes and bracketed classes are skipped, so `[+*]` or `\+` count as literals.
    public static func mayBacktrackExponentially(_ pattern: String) -> Bool {
        let c = Array(pattern.unicodeScalars)
        var groups: [Bool] = []   // per open group: its body repeats or alternates
        var classDepth = 0
        var i = 0
        func isRepeat(_ k: Int) -> Bool { k < c.count && (c[k] == "*" || c[k] == "+" || c[k] == "{") }
        while i < c.count {
            let ch = c[i]
            if ch == "\\" {
                // An escape; `\p{L}`, `\x{41}`, `\N{…}` carry a braced argument.
                i += 2
                if i < c.count, c[i] == "{", let close = c[i...].firstIndex(of: "}") { i = close + 1 }
                continue
            }
            if classDepth > 0 {
                if ch == "[" { classDepth += 1 } else if ch == "]" { classDepth -= 1 }
                i += 1
                continue
            }
            switch ch {
            case "[": classDepth = 1
            case "(": groups.append(false)
            case ")":
                let risky = groups.popLast() ?? false
                if risky && isRepeat(i + 1) { return true }
                // A repeated or risky group makes its enclosing group risky in turn.
                if risky || isRepeat(i + 1), !groups.isEmpty { groups[groups.count - 1] = true }
            case "*", "+", "{", "|":
                if !groups.isEmpty { groups[groups.count - 1] = true }
            default: break
            }
            i += 1
        }
        return false
    }

    /// Whether a hand-written scanner (rather than the regex engine) runs this pattern.
    public var isNative: Bool {
        if case .regex = scanner { return false }
        return true
    }

    /// The byte ranges of the pieces of `text`, in order; together they cover all of it.
    public func pieces(_ text: String) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var t = text
        t.withUTF8 { p in forEachPiece(p) { out.append($0..<$1) } }
        return out
    }

    /// Calls `body(start, end)` for each piece of the UTF-8 text `p` (byte offsets).
    package func forEachPiece(_ p: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        let n = p.count
        switch scanner {
        case .gpt2:
            PreTokenizer.asciiClass.withUnsafeBufferPointer { tb in
                guard let t = tb.baseAddress else { return }
                var i = 0
                while i < n {
                    let e = PreTokenizer.gpt2End(p, i, t)
                    body(i, e)
                    i = e
                }
            }
        case let .cl100k(endRule):
            PreTokenizer.asciiClass.withUnsafeBufferPointer { tb in
                guard let t = tb.baseAddress else { return }
                var i = 0
                while i < n {
                    let e = PreTokenizer.cl100kEnd(p, i, endRule: endRule, t)
                    body(i, e)
                    i = e
                }
            }
        case let .regex(re):
            PreTokenizer.regexPieces(re, p, body)
        }
    }

    // MARK: - Character classes

    /// Class of a scalar: other, letter (\p{L}), number (\p{N}), space (\s but not \r \n), newline (\r \n).
    static let other: UInt8 = 0, letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3, newline: UInt8 = 4

    static let asciiClass: [UInt8] = {
        var t = [UInt8](repeating: other, count: 128)
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = letter }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = letter }
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = number }
        for c in [0x09, 0x0B, 0x0C, 0x20] { t[c] = space }
        t[0x0A] = newline
        t[0x0D] = newline
        return t
    }()

    /// The class and byte length of the scalar at `i` (valid UTF-8, i < p.count).
    @inline(__always)
    static func classify(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ t: UnsafePointer<UInt8>) -> (UInt8, Int) {
        let b0 = p[i]
        if b0 < 0x80 { return (t[Int(b0)], 1) }
        let (value, len) = decodeScalar(p, i)
        return (classOf(value), len)
    }

    /// Decodes the scalar at `i` of valid UTF-8 (bounds-checked: a truncated tail reads as one byte).
    @inline(__always)
    static func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        let n = p.count
        if b0 < 0xE0 {
            guard i + 1 < n else { return (0xFFFD, 1) }
            return (((b0 & 0x1F) << 6) | (UInt32(p[i + 1]) & 0x3F), 2)
        }
        if b0 < 0xF0 {
            guard i + 2 < n else { return (0xFFFD, 1) }
            return (((b0 & 0x0F) << 12) | ((UInt32(p[i + 1]) & 0x3F) << 6) | (UInt32(p[i + 2]) & 0x3F), 3)
        }
        guard i + 3 < n else { return (0xFFFD, 1) }
        return (((b0 & 0x07) << 18) | ((UInt32(p[i + 1]) & 0x3F) << 12) | ((UInt32(p[i + 2]) & 0x3F) << 6) | (UInt32(p[i + 3]) & 0x3F), 4)
    }

    /// The class of a non-ASCII scalar.
    static func classOf(_ value: UInt32) -> UInt8 {
        guard let u = Unicode.Scalar(value) else { return other }
        let props = u.properties
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return props.isWhitespace ? space : other
        }
    }

    /// The end of the run of scalars of class `c` (or `c2`) starting at `i`.
    @inline(__always)
    static func runEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ c: UInt8, _ t: UnsafePointer<UInt8>) -> Int {
        var k = i
        let n = p.count
        while k < n {
            let (ck, lk) = classify(p, k, t)
            if ck != c { break }
            k += lk
        }
        return k
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == space || c == newline }

    // MARK: - GPT-2

    /// End of the GPT-2 piece starting at `i`:
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func gpt2End(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ t: UnsafePointer<UInt8>) -> Int {
        let n = p.count
        let b = p[i]
        if b == 0x27 && i + 1 < n {  // contractions, lower case only
            let c = p[i + 1]
            if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return i + 2 }  // s t m d
            if i + 2 < n {
                let d = p[i + 2]
                if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) { return i + 3 }  // re ve ll
            }
        }
        let j = (b == 0x20 && i + 1 < n) ? i + 1 : i
        let (cj, lj) = classify(p, j, t)
        if cj == letter || cj == number || cj == other { return runEnd(p, j + lj, cj, t) }
        return whitespaceEnd(p, i, t)
    }

    /// `\s+(?!\S)|\s+` at `i` (a whitespace scalar): the run, less its last scalar when the run
    /// has two or more scalars and is followed by a non-space.
    static func whitespaceEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ t: UnsafePointer<UInt8>) -> Int {
        let n = p.count
        var e = i
        var last = i
        while e < n {
            let (c, l) = classify(p, e, t)
            if !isSpace(c) { break }
            last = e
            e += l
        }
        if e == n || last == i { return e }
        return last
    }

    // MARK: - cl100k

    /// End of the cl100k piece starting at `i` (see ``cl100kPattern``); `endRule` adds tiktoken's
    /// `\s++$` alternative.
    static func cl100kEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, endRule: Bool, _ t: UnsafePointer<UInt8>) -> Int {
        let n = p.count
        let b = p[i]
        // '(?i:[sdmt]|ll|ve|re), with Unicode simple case folding (ſ U+017F folds to s)
        if b == 0x27 && i + 1 < n {
            let c = p[i + 1] | 0x20
            let isAsciiLetter = (p[i + 1] >= 0x41 && p[i + 1] <= 0x5A) || (p[i + 1] >= 0x61 && p[i + 1] <= 0x7A)
            if isAsciiLetter {
                if c == 0x73 || c == 0x64 || c == 0x6D || c == 0x74 { return i + 2 }
                if i + 2 < n, (p[i + 2] >= 0x41 && p[i + 2] <= 0x5A) || (p[i + 2] >= 0x61 && p[i + 2] <= 0x7A) {
                    let d = p[i + 2] | 0x20
                    if (c == 0x6C && d == 0x6C) || (c == 0x76 && d == 0x65) || (c == 0x72 && d == 0x65) { return i + 3 }
                }
            } else if p[i + 1] == 0xC5 && i + 2 < n && p[i + 2] == 0xBF {
                return i + 3
            }
        }
        let (c0, l0) = classify(p, i, t)
        // [^\r\n\p{L}\p{N}]?+\p{L}++
        if c0 == letter { return runEnd(p, i + l0, letter, t) }
        if c0 != newline && c0 != number && i + l0 < n {
            let (c1, l1) = classify(p, i + l0, t)
            if c1 == letter { return runEnd(p, i + l0 + l1, letter, t) }
        }
        // \p{N}{1,3}+
        if c0 == number {
            var k = i + l0
            var count = 1
            while count < 3 && k < n {
                let (ck, lk) = classify(p, k, t)
                if ck != number { break }
                k += lk
                count += 1
            }
            return k
        }
        // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
        let j = (b == 0x20 && i + 1 < n) ? i + 1 : i
        let (cj, lj) = classify(p, j, t)
        if cj == other {
            var k = runEnd(p, j + lj, other, t)
            while k < n && (p[k] == 0x0A || p[k] == 0x0D) { k += 1 }
            return k
        }
        // whitespace alternatives
        var e = i
        var last = i
        var afterNewline = -1
        while e < n {
            let (c, l) = classify(p, e, t)
            if !isSpace(c) { break }
            last = e
            e += l
            if c == newline { afterNewline = e }
        }
        if endRule && e == n { return n }       // \s++$
        if afterNewline > 0 { return afterNewline }  // \s*[\r\n]
        if e == n || last == i { return e }      // \s+(?!\S) at the end, or a single \s
        return last                              // \s+(?!\S)
    }

    // MARK: - Regex fallback

    /// Pieces of an ICU regex: each match, and each unmatched stretch between matches.
    static func regexPieces(_ re: NSRegularExpression, _ p: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        let text = String(decoding: p, as: UTF8.self)
        // utf16 offset → utf8 offset
        var map: [Int] = []
        map.reserveCapacity(p.count + 1)
        var off8 = 0
        for u in text.unicodeScalars {
            map.append(off8)
            if u.value > 0xFFFF { map.append(off8) }
            off8 += UTF8.width(u)
        }
        map.append(off8)
        var pos = 0
        let ns = NSRange(location: 0, length: map.count - 1)
        for m in re.matches(in: text, options: [], range: ns) {
            let s = map[m.range.location]
            let e = map[m.range.location + m.range.length]
            if s > pos { body(pos, s) }
            if e > s { body(s, e) }
            pos = max(pos, e)
        }
        if pos < off8 { body(pos, off8) }
    }
}
