/// A value while rendering a template. Strings keep their segments so that message text is never
/// mistaken for template text.
enum TemplateValue {
    case string([ChatSegment])
    case int(Int)
    case bool(Bool)
    case list([TemplateValue])
    case dict([String: TemplateValue])
    case none
    case undefined

    var truthy: Bool {
        switch self {
        case let .string(s): return s.contains { !$0.text.isEmpty }
        case let .int(i): return i != 0
        case let .bool(b): return b
        case let .list(l): return !l.isEmpty
        case let .dict(d): return !d.isEmpty
        case .none, .undefined: return false
        }
    }

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .int: return "an integer"
        case .bool: return "a boolean"
        case .list: return "a list"
        case .dict: return "a mapping"
        case .none: return "none"
        case .undefined: return "undefined"
        }
    }

    static func text(_ s: String) -> TemplateValue { .string([ChatSegment(text: s, trusted: true)]) }
}

extension Array where Element == ChatSegment {
    var flat: String { map(\.text).joined() }
    var byteCount: Int { reduce(0) { $0 + $1.text.utf8.count } }
    /// Leading and/or trailing whitespace removed across segments.
    func stripped(leading: Bool, trailing: Bool) -> [ChatSegment] {
        var s = self
        if leading {
            while let f = s.first {
                let t = f.text.drop { $0.isWhitespace }
                if t.isEmpty { s.removeFirst() } else { s[0].text = String(t); break }
            }
        }
        if trailing {
            while let l = s.last {
                var t = Substring(l.text)
                while t.last?.isWhitespace == true { t = t.dropLast() }
                if t.isEmpty { s.removeLast() } else { s[s.count - 1].text = String(t); break }
            }
        }
        return s
    }
    /// One segment, trusted only if every part is.
    var merged: [ChatSegment] { [ChatSegment(text: flat, trusted: allSatisfy(\.trusted))] }
}

/// Evaluates parsed template nodes.
struct TemplateRenderer {
    var scopes: [[String: TemplateValue]] = []
    var output: [ChatSegment] = []
    private var outputBytes = 0
    private var steps = 0
    let maxOutput: Int

    init(maxOutput: Int) { self.maxOutput = maxOutput }

    mutating func run(_ nodes: [TemplateNode]) throws(ChatTemplateError) {
        for node in nodes {
            try tick()
            switch node {
            case let .text(t): try emit([ChatSegment(text: t, trusted: true)])
            case let .output(e): try emit(try printable(try eval(e)))
            case let .assign(name, e): scopes[scopes.count - 1][name] = try eval(e)
            case let .conditional(branches, otherwise):
                var taken = false
                for (cond, body) in branches where try eval(cond).truthy {
                    try run(body)
                    taken = true
                    break
                }
                if !taken { try run(otherwise) }
            case let .forLoop(variable, sequence, body):
                let items: [TemplateValue]
                switch try eval(sequence) {
                case let .list(l): items = l
                case let .string(s): items = s.flat.map { .string([ChatSegment(text: String($0), trusted: s.allSatisfy(\.trusted))]) }
                case let .dict(d): items = d.keys.sorted().map { .text($0) }
                case let other: throw ChatTemplateError("cannot loop over \(other.typeName)")
                }
                for (i, item) in items.enumerated() {
                    let loop: [String: TemplateValue] = ["index": .int(i + 1), "index0": .int(i), "first": .bool(i == 0),
                                                         "last": .bool(i == items.count - 1), "length": .int(items.count)]
                    scopes.append([variable: item, "loop": .dict(loop)])
                    defer { scopes.removeLast() }
                    try run(body)
                }
            }
        }
    }

    private mutating func tick() throws(ChatTemplateError) {
        steps += 1
        if steps > ChatTemplate.maxSteps { throw ChatTemplateError("rendering takes more than \(ChatTemplate.maxSteps) steps") }
    }

    private mutating func emit(_ segs: [ChatSegment]) throws(ChatTemplateError) {
        outputBytes += segs.byteCount
        guard outputBytes <= maxOutput else { throw ChatTemplateError("the rendered conversation exceeds \(maxOutput) bytes") }
        for s in segs where !s.text.isEmpty {
            if let last = output.last, last.trusted == s.trusted { output[output.count - 1].text += s.text } else { output.append(s) }
        }
    }

    private func printable(_ v: TemplateValue) throws(ChatTemplateError) -> [ChatSegment] {
        switch v {
        case let .string(s): return s
        case let .int(i): return [ChatSegment(text: String(i), trusted: true)]
        case let .bool(b): return [ChatSegment(text: b ? "True" : "False", trusted: true)]
        case .none: return [ChatSegment(text: "None", trusted: true)]
        case .undefined: return []
        case .list, .dict: throw ChatTemplateError("cannot print \(v.typeName)")
        }
    }

    private func lookup(_ name: String) -> TemplateValue {
        for s in scopes.reversed() { if let v = s[name] { return v } }
        return .undefined
    }

    private func checkSize(_ s: [ChatSegment]) throws(ChatTemplateError) -> TemplateValue {
        guard s.byteCount <= maxOutput else { throw ChatTemplateError("a string exceeds \(maxOutput) bytes") }
        return .string(s)
    }

    mutating func eval(_ e: TemplateExpr) throws(ChatTemplateError) -> TemplateValue {
        try tick()
        switch e {
        case let .string(s): return .text(s)
        case let .int(i): return .int(i)
        case let .bool(b): return .bool(b)
        case .none: return .none
        case let .name(n): return lookup(n)
        case let .attribute(base, name):
            let b = try eval(base)
            if case let .dict(d) = b { return d[name] ?? .undefined }
            if case .undefined = b { throw ChatTemplateError("\"\(name)\" of an undefined value") }
            return .undefined
        case let .index(base, index):
            return try subscriptValue(try eval(base), try eval(index))
        case let .slice(base, lo, hi):
            let b = try eval(base)
            let l = try lo.map { (x) throws(ChatTemplateError) in try int(try eval(x)) }
            let h = try hi.map { (x) throws(ChatTemplateError) in try int(try eval(x)) }
            func range(_ n: Int) -> Range<Int> {
                func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + n : v, 0), n) }
                let a = l.map(clamp) ?? 0, z = h.map(clamp) ?? n
                return a..<max(a, z)
            }
            switch b {
            case let .list(x): return .list(Array(x[range(x.count)]))
            case let .string(s):
                let chars = Array(s.flat)
                return .string([ChatSegment(text: String(chars[range(chars.count)]), trusted: s.allSatisfy(\.trusted))])
            default: throw ChatTemplateError("cannot slice \(b.typeName)")
            }
        case let .call(callee, args):
            var values: [TemplateValue] = []
            for a in args { values.append(try eval(a)) }
            return try call(callee, values)
        case let .filter(base, name):
            let b = try eval(base)
            switch (name, b) {
            case let ("trim", .string(s)): return .string(s.stripped(leading: true, trailing: true))
            case let ("upper", .string(s)): return .string(s.map { ChatSegment(text: $0.text.uppercased(), trusted: $0.trusted) })
            case let ("lower", .string(s)): return .string(s.map { ChatSegment(text: $0.text.lowercased(), trusted: $0.trusted) })
            case let ("length", .string(s)): return .int(s.flat.count)
            case let ("length", .list(l)): return .int(l.count)
            case let ("length", .dict(d)): return .int(d.count)
            default: throw ChatTemplateError("the filter \"\(name)\" is not in the template language for \(b.typeName)")
            }
        case let .unary(op, x):
            let v = try eval(x)
            if op == "not" { return .bool(!v.truthy) }
            return .int(0 &- (try int(v)))
        case let .test(x, name, negated):
            let v = try eval(x)
            let r: Bool
            switch name {
            case "defined": if case .undefined = v { r = false } else { r = true }
            case "undefined": if case .undefined = v { r = true } else { r = false }
            case "none": if case .none = v { r = true } else { r = false }
            case "string": if case .string = v { r = true } else { r = false }
            case "true": if case .bool(true) = v { r = true } else { r = false }
            default: if case .bool(false) = v { r = true } else { r = false }
            }
            return .bool(r != negated)
        case let .binary(op, a, b):
            if op == "and" { let x = try eval(a); return x.truthy ? try eval(b) : x }
            if op == "or" { let x = try eval(a); return x.truthy ? x : try eval(b) }
            return try binary(op, try eval(a), try eval(b))
        }
    }

    private func int(_ v: TemplateValue) throws(ChatTemplateError) -> Int {
        if case let .int(i) = v { return i }
        throw ChatTemplateError("expected an integer, got \(v.typeName)")
    }

    private func subscriptValue(_ b: TemplateValue, _ i: TemplateValue) throws(ChatTemplateError) -> TemplateValue {
        switch (b, i) {
        case let (.list(l), .int(k)):
            let j = k < 0 ? k + l.count : k
            guard l.indices.contains(j) else { throw ChatTemplateError("list index \(k) out of range (\(l.count) items)") }
            return l[j]
        case let (.dict(d), .string(k)): return d[k.flat] ?? .undefined
        case let (.string(s), .int(k)):
            let chars = Array(s.flat), j = k < 0 ? k + chars.count : k
            guard chars.indices.contains(j) else { throw ChatTemplateError("string index \(k) out of range") }
            return .string([ChatSegment(text: String(chars[j]), trusted: s.allSatisfy(\.trusted))])
        case (.undefined, _): throw ChatTemplateError("indexing an undefined value")
        default: throw ChatTemplateError("cannot index \(b.typeName) with \(i.typeName)")
        }
    }

    private mutating func call(_ callee: TemplateExpr, _ args: [TemplateValue]) throws(ChatTemplateError) -> TemplateValue {
        if case .name("raise_exception") = callee {
            let msg = args.first.flatMap { if case let .string(s) = $0 { s.flat } else { nil } } ?? "error"
            throw ChatTemplateError("the template refused the conversation: \(msg)")
        }
        guard case let .attribute(base, method) = callee, case let .string(s) = try eval(base) else {
            throw ChatTemplateError("only raise_exception() and string methods can be called")
        }
        let arg: String? = args.first.flatMap { if case let .string(a) = $0 { a.flat } else { nil } }
        switch (method, args.count) {
        case ("strip", 0): return .string(s.stripped(leading: true, trailing: true))
        case ("lstrip", 0): return .string(s.stripped(leading: true, trailing: false))
        case ("rstrip", 0): return .string(s.stripped(leading: false, trailing: true))
        case ("upper", 0): return .string(s.map { ChatSegment(text: $0.text.uppercased(), trusted: $0.trusted) })
        case ("lower", 0): return .string(s.map { ChatSegment(text: $0.text.lowercased(), trusted: $0.trusted) })
        case ("startswith", 1) where arg != nil: return .bool(s.flat.hasPrefix(arg!))
        case ("endswith", 1) where arg != nil: return .bool(s.flat.hasSuffix(arg!))
        default: throw ChatTemplateError("the method \(method)() with \(args.count) arguments is not in the template language")
        }
    }

    private func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(ChatTemplateError) -> TemplateValue {
        switch op {
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "~": return try checkSize(try printable(a) + (try printable(b)))
        case "in", "not in":
            let r: Bool
            switch (a, b) {
            case let (.string(x), .string(y)): r = y.flat.contains(x.flat)
            case let (_, .list(l)): r = l.contains { equal(a, $0) }
            case let (.string(x), .dict(d)): r = d[x.flat] != nil
            default: throw ChatTemplateError("\"in\" needs a string, list or mapping on the right, got \(b.typeName)")
            }
            return .bool(r == (op == "in"))
        default: break
        }
        switch (a, b) {
        case let (.int(x), .int(y)):
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "%":
                guard y != 0 else { throw ChatTemplateError("modulo by zero") }
                return .int(((x % y) + y) % y)
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
        case let (.string(x), .string(y)):
            switch op {
            case "+": return try checkSize(x + y)
            case "<": return .bool(x.flat < y.flat)
            case ">": return .bool(x.flat > y.flat)
            case "<=": return .bool(x.flat <= y.flat)
            case ">=": return .bool(x.flat >= y.flat)
            default: break
            }
        case let (.list(x), .list(y)) where op == "+":
            return .list(x + y)
        default: break
        }
        throw ChatTemplateError("\"\(op)\" is not defined for \(a.typeName) and \(b.typeName)")
    }

    private func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x.flat == y.flat
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none), (.undefined, .undefined): return true
        case let (.list(x), .list(y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        default: return false
        }
    }
}
