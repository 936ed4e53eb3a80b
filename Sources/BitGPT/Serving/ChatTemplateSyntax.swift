/// The parsed form of a chat template (see ``ChatTemplate`` for the language).
indirect enum TemplateExpr: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case name(String)
    case attribute(TemplateExpr, String)                        // a.b
    case index(TemplateExpr, TemplateExpr)                      // a[b]
    case slice(TemplateExpr, TemplateExpr?, TemplateExpr?)      // a[b:c]
    case call(TemplateExpr, [TemplateExpr])                     // f(x), a.strip()
    case filter(TemplateExpr, String)                           // a | trim
    case unary(String, TemplateExpr)                            // not a, -a
    case binary(String, TemplateExpr, TemplateExpr)             // a + b, a == b, a and b, ...
    case test(TemplateExpr, String, negated: Bool)              // a is defined, a is not none
}

/// One node of a template body.
enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpr)
    case forLoop(variable: String, sequence: TemplateExpr, body: [TemplateNode])
    case conditional(branches: [(TemplateExpr, [TemplateNode])], otherwise: [TemplateNode])
    case assign(String, TemplateExpr)
}

/// Splits a template into text, `{{ … }}` and `{% … %}` pieces and parses them, applying
/// whitespace control (`-`), `trim_blocks` and `lstrip_blocks` as Hugging Face's renderer does.
struct TemplateParser {
    /// One raw piece of the source.
    enum Piece { case text(String), output(String), statement(String) }

    static let maxDepth = 64

    private var tokens: [String] = []
    private var at = 0
    private var depth = 0

    /// Parses `source`.
    /// - Throws: ``ChatTemplateError``.
    static func parse(_ source: String) throws(ChatTemplateError) -> [TemplateNode] {
        var pieces = try split(source)[...]
        var parser = TemplateParser()
        let (body, end) = try parser.block(&pieces, until: [])
        if let end { throw ChatTemplateError("unexpected {% \(end) %} with no open block") }
        return body
    }

    /// The raw pieces, whitespace control applied.
    static func split(_ source: String) throws(ChatTemplateError) -> [Piece] {
        let s = Array(source.unicodeScalars)
        var pieces: [Piece] = []
        var text: [Unicode.Scalar] = [], i = 0
        var trimNextNewline = false, stripNextWhitespace = false
        func flushText() {
            if !text.isEmpty { pieces.append(.text(String(String.UnicodeScalarView(text)))) }
            text = []
        }
        while i < s.count {
            if s[i] == "{", i + 1 < s.count, "{%#".unicodeScalars.contains(s[i + 1]) {
                let open = s[i + 1]
                let close: Unicode.Scalar = open == "{" ? "}" : open
                var j = i + 2
                let minusLeft = j < s.count && s[j] == "-"
                if minusLeft { j += 1 }
                // Find the closing delimiter (outside string literals for {{ }} and {% %}).
                var k = j, quote: Unicode.Scalar? = nil
                while k + 1 < s.count {
                    if open != "#", let q = quote {
                        if s[k] == "\\" { k += 2; continue }
                        if s[k] == q { quote = nil }
                    } else if open != "#", s[k] == "'" || s[k] == "\"" {
                        quote = s[k]
                    } else if s[k] == close && s[k + 1] == "}" {
                        break
                    }
                    k += 1
                }
                guard k + 1 < s.count else { throw ChatTemplateError("unclosed {\(open) at character \(i)") }
                let minusRight = k > j && s[k - 1] == "-"
                let inner = String(String.UnicodeScalarView(s[j..<(minusRight ? k - 1 : k)]))
                let block = open != "{"
                // Whitespace before the tag: `-` strips all of it; lstrip_blocks strips spaces and tabs back to the line start.
                if minusLeft {
                    while let l = text.last, l.properties.isWhitespace { text.removeLast() }
                } else if block {
                    var m = text.count
                    while m > 0, text[m - 1] == " " || text[m - 1] == "\t" { m -= 1 }
                    let atLineStart = m > 0 ? text[m - 1] == "\n" : lineStartBefore(pieces)
                    if atLineStart { text.removeSubrange(m...) }
                }
                flushText()
                switch open {
                case "{": pieces.append(.output(inner))
                case "%": pieces.append(.statement(inner))
                default: break
                }
                stripNextWhitespace = minusRight
                trimNextNewline = block && !minusRight
                i = k + 2
                if stripNextWhitespace {
                    while i < s.count, s[i].properties.isWhitespace { i += 1 }
                } else if trimNextNewline, i < s.count, s[i] == "\n" {
                    i += 1
                }
                continue
            }
            text.append(s[i])
            i += 1
        }
        flushText()
        return pieces
    }

    /// Whether the text before the current position starts a line (nothing, or text ending in a newline).
    private static func lineStartBefore(_ pieces: [Piece]) -> Bool {
        guard let last = pieces.last else { return true }
        if case let .text(t) = last { return t.hasSuffix("\n") }
        return false
    }

    /// Parses nodes until one of the statements `until` (its keyword returned) or the end.
    private mutating func block(_ pieces: inout ArraySlice<Piece>, until: Set<String>) throws(ChatTemplateError) -> ([TemplateNode], String?) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= TemplateParser.maxDepth else { throw ChatTemplateError("blocks nested more than \(TemplateParser.maxDepth) deep") }
        var nodes: [TemplateNode] = []
        while let p = pieces.popFirst() {
            switch p {
            case let .text(t): nodes.append(.text(t))
            case let .output(e): nodes.append(.output(try expression(e)))
            case let .statement(st):
                try lex(st)
                guard case let keyword? = peek() else { throw ChatTemplateError("empty {% %} statement") }
                if until.contains(keyword) { return (nodes, st) }
                if ["endfor", "endif", "elif", "else"].contains(keyword) { throw ChatTemplateError("unexpected {% \(keyword) %} with no open block") }
                at += 1
                switch keyword {
                case "for":
                    guard let v = next(), isName(v), next() == "in" else { throw ChatTemplateError("expected {% for NAME in EXPR %}, got {% \(st) %}") }
                    let seq = try parseExpr()
                    try expectEnd(st)
                    let (body, end) = try block(&pieces, until: ["endfor"])
                    guard end != nil else { throw ChatTemplateError("{% for %} without {% endfor %}") }
                    nodes.append(.forLoop(variable: v, sequence: seq, body: body))
                case "if":
                    var branches: [(TemplateExpr, [TemplateNode])] = []
                    var cond = try parseExpr()
                    try expectEnd(st)
                    var otherwise: [TemplateNode] = []
                    while true {
                        let (body, end) = try block(&pieces, until: ["elif", "else", "endif"])
                        branches.append((cond, body))
                        guard let end else { throw ChatTemplateError("{% if %} without {% endif %}") }
                        try lex(end)
                        let kw = next()!
                        if kw == "elif" { cond = try parseExpr(); try expectEnd(end); continue }
                        try expectEnd(end)
                        if kw == "else" {
                            let (body, end2) = try block(&pieces, until: ["endif"])
                            guard let end2 else { throw ChatTemplateError("{% else %} without {% endif %}") }
                            try lex(end2)
                            _ = next()
                            try expectEnd(end2)
                            otherwise = body
                        }
                        break
                    }
                    nodes.append(.conditional(branches: branches, otherwise: otherwise))
                case "set":
                    guard let v = next(), isName(v), next() == "=" else { throw ChatTemplateError("expected {% set NAME = EXPR %}, got {% \(st) %}") }
                    let value = try parseExpr()
                    try expectEnd(st)
                    nodes.append(.assign(v, value))
                default:
                    throw ChatTemplateError("{% \(keyword) %} is not in the template language (for, if/elif/else, set)")
                }
            }
        }
        return (nodes, nil)
    }

    // MARK: - Expressions

    private mutating func expression(_ source: String) throws(ChatTemplateError) -> TemplateExpr {
        try lex(source)
        let e = try parseExpr()
        try expectEnd(source)
        return e
    }

    private func peek() -> String? { at < tokens.count ? tokens[at] : nil }
    private mutating func next() -> String? { defer { at += 1 }; return peek() }
    private func isName(_ t: String) -> Bool { t.first.map { $0.isLetter || $0 == "_" } ?? false }
    private mutating func expectEnd(_ source: String) throws(ChatTemplateError) {
        if let extra = peek() { throw ChatTemplateError("unexpected \"\(extra)\" in \"\(source.trimmingSpaces)\"") }
    }
    private mutating func expect(_ t: String) throws(ChatTemplateError) {
        guard next() == t else { throw ChatTemplateError("expected \"\(t)\" in an expression") }
    }

    /// Splits an expression into tokens: names, numbers, string literals (kept with their quote), operators.
    private mutating func lex(_ source: String) throws(ChatTemplateError) {
        tokens = []
        at = 0
        let s = Array(source.unicodeScalars)
        var i = 0
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if c == "'" || c == "\"" {
                var out = "'", j = i + 1
                while j < s.count && s[j] != c {
                    if s[j] == "\\" && j + 1 < s.count {
                        j += 1
                        switch s[j] {
                        case "n": out += "\n"
                        case "t": out += "\t"
                        case "r": out += "\r"
                        default: out.unicodeScalars.append(s[j])
                        }
                    } else {
                        out.unicodeScalars.append(s[j])
                    }
                    j += 1
                }
                guard j < s.count else { throw ChatTemplateError("unterminated string in \"\(source.trimmingSpaces)\"") }
                tokens.append(out)
                i = j + 1
            } else if c.properties.isAlphabetic || c == "_" || ("0"..."9").contains(c) {
                var j = i
                while j < s.count && (s[j].properties.isAlphabetic || s[j] == "_" || ("0"..."9").contains(s[j])) { j += 1 }
                tokens.append(String(String.UnicodeScalarView(s[i..<j])))
                i = j
            } else {
                let two = i + 1 < s.count ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    tokens.append(two)
                    i += 2
                } else if "+-*/%()[].,:|<>=~".unicodeScalars.contains(c) {
                    tokens.append(String(c))
                    i += 1
                } else {
                    throw ChatTemplateError("unexpected character \"\(c)\" in \"\(source.trimmingSpaces)\"")
                }
            }
        }
    }

    private mutating func nested<T>(_ body: (inout TemplateParser) throws(ChatTemplateError) -> T) throws(ChatTemplateError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= TemplateParser.maxDepth else { throw ChatTemplateError("an expression nested more than \(TemplateParser.maxDepth) deep") }
        return try body(&self)
    }

    private mutating func parseExpr() throws(ChatTemplateError) -> TemplateExpr {
        try nested { (p) throws(ChatTemplateError) in
            var e = try p.parseAnd()
            while p.peek() == "or" { p.at += 1; e = .binary("or", e, try p.parseAnd()) }
            return e
        }
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> TemplateExpr {
        var e = try parseNot()
        while peek() == "and" { at += 1; e = .binary("and", e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws(ChatTemplateError) -> TemplateExpr {
        if peek() == "not" {
            at += 1
            return try nested { (p) throws(ChatTemplateError) in .unary("not", try p.parseNot()) }
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ChatTemplateError) -> TemplateExpr {
        var e = try parseAdditive()
        while let op = peek() {
            if ["==", "!=", "<", ">", "<=", ">="].contains(op) {
                at += 1
                e = .binary(op, e, try parseAdditive())
            } else if op == "in" || (op == "not" && at + 1 < tokens.count && tokens[at + 1] == "in") {
                at += op == "in" ? 1 : 2
                e = .binary(op == "in" ? "in" : "not in", e, try parseAdditive())
            } else if op == "is" {
                at += 1
                let negated = peek() == "not"
                if negated { at += 1 }
                guard let name = next(), ["defined", "undefined", "none", "string", "true", "false"].contains(name) else {
                    throw ChatTemplateError("\"is\" takes defined, undefined, none, string, true or false")
                }
                e = .test(e, name, negated: negated)
            } else {
                break
            }
        }
        return e
    }

    private mutating func parseAdditive() throws(ChatTemplateError) -> TemplateExpr {
        var e = try parseMultiplicative()
        while let op = peek(), op == "+" || op == "-" || op == "~" { at += 1; e = .binary(op, e, try parseMultiplicative()) }
        return e
    }

    private mutating func parseMultiplicative() throws(ChatTemplateError) -> TemplateExpr {
        var e = try parseUnary()
        while let op = peek(), op == "*" || op == "/" || op == "%" { at += 1; e = .binary(op, e, try parseUnary()) }
        return e
    }

    private mutating func parseUnary() throws(ChatTemplateError) -> TemplateExpr {
        if peek() == "-" {
            at += 1
            return try nested { (p) throws(ChatTemplateError) in .unary("-", try p.parseUnary()) }
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(ChatTemplateError) -> TemplateExpr {
        var e = try parsePrimary()
        while let t = peek() {
            if t == "." {
                at += 1
                guard let n = next(), isName(n) else { throw ChatTemplateError("expected a name after \".\"") }
                e = .attribute(e, n)
            } else if t == "[" {
                at += 1
                var lo: TemplateExpr? = nil
                if peek() != ":" { lo = try parseExpr() }
                if peek() == ":" {
                    at += 1
                    let hi: TemplateExpr? = peek() == "]" ? nil : try parseExpr()
                    e = .slice(e, lo, hi)
                } else {
                    guard let lo else { throw ChatTemplateError("empty [] in an expression") }
                    e = .index(e, lo)
                }
                try expect("]")
            } else if t == "(" {
                at += 1
                var args: [TemplateExpr] = []
                while peek() != ")" {
                    args.append(try parseExpr())
                    if peek() == "," { at += 1 } else { break }
                }
                try expect(")")
                e = .call(e, args)
            } else if t == "|" {
                at += 1
                guard let n = next(), isName(n) else { throw ChatTemplateError("expected a filter name after \"|\"") }
                e = .filter(e, n)
            } else {
                break
            }
        }
        return e
    }

    private mutating func parsePrimary() throws(ChatTemplateError) -> TemplateExpr {
        guard let t = next() else { throw ChatTemplateError("an expression ends too early") }
        if t.hasPrefix("'") { return .string(String(t.dropFirst())) }
        if let v = Int(t) { return .int(v) }
        switch t {
        case "true", "True": return .bool(true)
        case "false", "False": return .bool(false)
        case "none", "None": return .none
        case "(":
            let e = try parseExpr()
            try expect(")")
            return e
        default:
            guard isName(t) else { throw ChatTemplateError("unexpected \"\(t)\" in an expression") }
            return .name(t)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
