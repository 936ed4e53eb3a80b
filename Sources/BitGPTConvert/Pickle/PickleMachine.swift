/// A restricted pickle virtual machine: it reads the pickles that PyTorch checkpoints and
/// nanoGPT's `meta.pkl` contain and refuses everything else. It never imports, calls or executes
/// anything.
///
/// Model: `torch.load(weights_only=True)` (pytorch `torch/_weights_only_unpickler.py`; the
/// records `torch.save` writes are in pytorch `torch/serialization.py` `_save`), re-implemented from the pickle opcode
/// definitions:
/// - **Opcodes**: only those of protocols 2–5 that data pickles use (PROTO, FRAME, MARK, the
///   binary int/float/string/bytes opcodes, tuples, lists, dicts, sets, memo get/put, GLOBAL and
///   STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID, STOP). INST, OBJ, EXT*, PERSID, NEWOBJ_EX,
///   out-of-band buffers and the text opcodes of protocol 0 are refused by name.
/// - **Globals**: resolved through an allowlist (``PickleGlobal/Kind``): `collections.OrderedDict`,
///   `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, `_codecs.encode`, the
///   `torch.*Storage` types, and project classes kept as opaque records. Any other name is
///   refused with an error naming it; modules such as `os`, `sys`, `builtins` or `subprocess`
///   can never be allowlisted.
/// - **REDUCE / NEWOBJ / BUILD** apply only to allowlisted callables and types, each in the one
///   shape checkpoints use (a tensor rebuild must name a known storage, be contiguous and fit it).
/// - **Bounds**: every length is checked against the bytes left before anything is allocated; the
///   stack, the mark stack, the memo and the nesting depth of values are capped. Because the memo
///   lets a stream put a list into itself or grow a container after it was nested, the finished
///   value graph is checked once more (``run()``): no reference cycles, no nesting deeper than
///   ``maxDepth``. Containers of a refused stream are emptied one by one, so releasing them never
///   recurses deeply nor leaks a cycle. Limits: `formats/limits.md`.
public final class PickleMachine {
    /// Project classes kept as opaque records by default: the config classes of the seed projects
    /// (bananya-ml/BitGPT `bitgpt/train.py`, karpathy/nanoGPT `train.py`, CohleM/lilLM `model/config.py`) and LightGPT's pickled tokenizer object.
    public static let defaultOpaqueClasses: Set<String> = [
        "model.GPTConfig", "gpt.GPTConfig", "bitgpt.BitGPTConfig", "model.config.Config", "config.Config",
        "model.ModelArgs", "tiktoken.core.Encoding",
    ]
    /// Modules that can never be allowlisted, whatever the caller asks.
    public static let blockedModules: Set<String> = [
        "os", "posix", "nt", "sys", "builtins", "__builtin__", "subprocess", "importlib", "runpy", "shutil", "socket",
        "pickle", "_pickle", "io", "codecs", "types", "functools", "operator", "ctypes", "pty", "platform", "webbrowser",
        "code", "marshal", "eval", "exec",
    ]

    /// The deepest nesting of containers accepted.
    public static let maxDepth = 256
    /// The most values on the stack at once.
    public static let maxStack = 1 << 20
    /// The most memo entries.
    public static let maxMemo = 1 << 22

    private let bytes: UnsafeRawBufferPointer
    private let storages: [String: Int]
    private let opaque: Set<String>
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every mutable container made (lists, dicts, objects), to empty them when done.
    private var containers: [PickleValue] = []

    /// Prepares a machine over a pickle stream.
    ///
    /// - Parameters:
    ///   - bytes: the pickle (borrowed for the duration of ``run()``).
    ///   - storages: byte size of each storage key the archive holds; a persistent id naming
    ///     another key, or more bytes than its entry has, is refused. Empty for plain pickles.
    ///   - opaqueClasses: `module.Name` classes to keep as opaque records (blocked modules excluded).
    public init(bytes: UnsafeRawBufferPointer, storages: [String: Int] = [:], opaqueClasses: Set<String> = PickleMachine.defaultOpaqueClasses) {
        self.bytes = bytes
        self.storages = storages
        self.opaque = opaqueClasses
    }

    /// Runs the stream to STOP and returns the top value.
    ///
    /// - Throws: ``ConvertError/pickle(offset:reason:)`` for a malformed stream,
    ///   ``ConvertError/forbiddenOpcode(offset:opcode:name:)``, ``ConvertError/forbiddenGlobal(offset:global:)``,
    ///   ``ConvertError/forbiddenCall(offset:reason:)``.
    ///   A stream whose values contain themselves or nest deeper than ``maxDepth`` is a
    ///   ``ConvertError/pickle(offset:reason:)`` at the stream's end.
    public func run() throws(ConvertError) -> PickleValue {
        defer {
            stack = []
            memo = [:]
            containers = []
        }
        do throws(ConvertError) {
            let top = try execute()
            let reachable = try checkGraph(top)
            unlinkContainers(except: reachable)
            return top
        } catch {
            unlinkContainers(except: [])
            throw error
        }
    }

    /// Registers a new mutable container (see ``unlinkContainers(except:)``).
    private func made(_ v: PickleValue) -> PickleValue {
        containers.append(v)
        return v
    }

    /// Empties every container made except `keep`: breaks reference cycles a hostile stream
    /// built, and long chains whose release would recurse once per link.
    private func unlinkContainers(except keep: Set<ObjectIdentifier>) {
        for c in containers {
            switch c {
            case let .list(l) where !keep.contains(ObjectIdentifier(l)): l.items = []
            case let .dict(d) where !keep.contains(ObjectIdentifier(d)): d.removeAll()
            case let .object(o) where !keep.contains(ObjectIdentifier(o)): o.state = nil
            default: break
            }
        }
    }

    /// The container behind a value and its children, or nil for a scalar.
    private static func node(_ v: PickleValue) -> (ObjectIdentifier, [PickleValue])? {
        switch v {
        case let .tuple(t): return (ObjectIdentifier(t), t.items)
        case let .list(l): return (ObjectIdentifier(l), l.items)
        case let .dict(d): return (ObjectIdentifier(d), d.entries.flatMap { [$0.key, $0.value] })
        case let .object(o): return (ObjectIdentifier(o), o.args + (o.state.map { [$0] } ?? []))
        default: return nil
        }
    }

    /// Checks the finished value graph: the depths counted while building can be stale (a
    /// memoised container may grow after it was nested), and a container may hold itself.
    /// Iterative depth-first walk, each container once: linear in the number of references.
    /// - Returns: the containers reachable from `root`.
    /// - Throws: ``ConvertError/pickle(offset:reason:)`` for a cycle or nesting deeper than ``maxDepth``.
    private func checkGraph(_ root: PickleValue) throws(ConvertError) -> Set<ObjectIdentifier> {
        struct Frame {
            let id: ObjectIdentifier
            let children: [PickleValue]
            var next = 0
            var depth = 1
        }
        let end = bytes.count
        var done: [ObjectIdentifier: Int] = [:]
        var onPath = Set<ObjectIdentifier>()
        guard let (rootID, rootChildren) = PickleMachine.node(root) else { return [] }
        var path = [Frame(id: rootID, children: rootChildren)]
        onPath.insert(rootID)
        while let f = path.last {
            let last = path.count - 1
            if f.next < f.children.count {
                path[last].next += 1
                guard let (id, children) = PickleMachine.node(f.children[f.next]) else { continue }
                if let d = done[id] {
                    guard path.count + d <= PickleMachine.maxDepth else {
                        throw .pickle(offset: end, reason: "values nested deeper than \(PickleMachine.maxDepth)")
                    }
                    path[last].depth = max(path[last].depth, d + 1)
                    continue
                }
                guard !onPath.contains(id) else { throw .pickle(offset: end, reason: "a list, dict or object contains itself") }
                guard path.count < PickleMachine.maxDepth else {
                    throw .pickle(offset: end, reason: "values nested deeper than \(PickleMachine.maxDepth)")
                }
                path.append(Frame(id: id, children: children))
                onPath.insert(id)
            } else {
                path.removeLast()
                onPath.remove(f.id)
                done[f.id] = f.depth
                if let p = path.indices.last { path[p].depth = max(path[p].depth, f.depth + 1) }
            }
        }
        return Set(done.keys)
    }

    /// Runs the stream to STOP (``run()`` without the final checks).
    private func execute() throws(ConvertError) -> PickleValue {
        while true {
            let at = pos
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                guard (2...5).contains(v) else { throw .pickle(offset: at, reason: "protocol \(v) is not supported (2 to 5 are)") }
            case 0x95: // FRAME
                _ = try length(8, at: at)
            case 0x2E: // STOP '.'
                guard let top = stack.last else { throw .pickle(offset: at, reason: "STOP with an empty stack") }
                return top
            case 0x28: // MARK '('
                guard marks.count < PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "MARKs nested deeper than \(PickleMachine.maxDepth)") }
                marks.append(stack.count)
            case 0x30: // POP '0'
                if let m = marks.last, m == stack.count { marks.removeLast() } else { _ = try pop(at) }
            case 0x31: // POP_MARK '1'
                _ = try popToMark(at)
            case 0x32: // DUP '2'
                try push(try top(at), at)
            case 0x4E: try push(.none, at) // NONE 'N'
            case 0x88: try push(.bool(true), at) // NEWTRUE
            case 0x89: try push(.bool(false), at) // NEWFALSE
            case 0x4A: // BININT 'J'
                try push(.int(Int(Int32(bitPattern: try le(UInt32.self)))), at)
            case 0x4B: try push(.int(Int(try u8())), at) // BININT1 'K'
            case 0x4D: try push(.int(Int(try le(UInt16.self))), at) // BININT2 'M'
            case 0x8A: // LONG1
                try push(.int(try long(Int(try u8()), at)), at)
            case 0x8B: // LONG4
                try push(.int(try long(try length(4, at: at), at)), at)
            case 0x47: // BINFLOAT 'G' (big-endian)
                try need(8, at)
                let bits = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                pos += 8
                try push(.float(Double(bitPattern: bits)), at)
            case 0x58: try push(.string(try utf8(try length(4, at: at), at)), at) // BINUNICODE 'X'
            case 0x8C: try push(.string(try utf8(Int(try u8()), at)), at) // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try length(8, at: at), at)), at) // BINUNICODE8
            case 0x55: try push(.string(try latin1(Int(try u8()), at)), at) // SHORT_BINSTRING 'U'
            case 0x54: // BINSTRING 'T' (signed length)
                let n = Int32(bitPattern: try le(UInt32.self))
                guard n >= 0 else { throw .pickle(offset: at, reason: "negative string length \(n)") }
                try push(.string(try latin1(Int(n), at)), at)
            case 0x43: try push(.bytes(try raw(Int(try u8()), at)), at) // SHORT_BINBYTES 'C'
            case 0x42: try push(.bytes(try raw(try length(4, at: at), at)), at) // BINBYTES 'B'
            case 0x8E, 0x96: try push(.bytes(try raw(try length(8, at: at), at)), at) // BINBYTES8, BYTEARRAY8
            case 0x29: try push(.tuple(PickleTuple([])), at) // EMPTY_TUPLE ')'
            case 0x74: try push(try tuple(try popToMark(at), at), at) // TUPLE 't'
            case 0x85, 0x86, 0x87: // TUPLE1/2/3
                let k = Int(op - 0x84)
                guard stack.count - k >= (marks.last ?? 0) else { throw .pickle(offset: at, reason: "TUPLE\(k) needs \(k) values on the stack") }
                let items = Array(stack.suffix(k))
                stack.removeLast(k)
                try push(try tuple(items, at), at)
            case 0x5D, 0x8F: try push(made(.list(PickleList())), at) // EMPTY_LIST ']', EMPTY_SET (kept as a list)
            case 0x6C: // LIST 'l'
                let l = PickleList()
                _ = made(.list(l))
                try append(try popToMark(at), to: l, at)
                try push(.list(l), at)
            case 0x61: // APPEND 'a'
                let v = try pop(at)
                guard case let .list(l) = try top(at) else { throw .pickle(offset: at, reason: "APPEND to something that is not a list") }
                try append([v], to: l, at)
            case 0x65, 0x90: // APPENDS 'e', ADDITEMS
                let vs = try popToMark(at)
                guard case let .list(l) = try top(at) else { throw .pickle(offset: at, reason: "APPENDS to something that is not a list") }
                try append(vs, to: l, at)
            case 0x91: try push(try tuple(try popToMark(at), at), at) // FROZENSET (kept as a tuple)
            case 0x7D: try push(made(.dict(PickleDict())), at) // EMPTY_DICT '}'
            case 0x64: // DICT 'd'
                let d = PickleDict()
                _ = made(.dict(d))
                try setItems(try popToMark(at), in: d, at)
                try push(.dict(d), at)
            case 0x73: // SETITEM 's'
                let v = try pop(at), k = try pop(at)
                guard case let .dict(d) = try top(at) else { throw .pickle(offset: at, reason: "SETITEM on something that is not a dict") }
                try setItems([k, v], in: d, at)
            case 0x75: // SETITEMS 'u'
                let kv = try popToMark(at)
                guard case let .dict(d) = try top(at) else { throw .pickle(offset: at, reason: "SETITEMS on something that is not a dict") }
                try setItems(kv, in: d, at)
            case 0x71: try put(Int(try u8()), at) // BINPUT 'q'
            case 0x72: try put(Int(try le(UInt32.self)), at) // LONG_BINPUT 'r'
            case 0x94: try put(memo.count, at) // MEMOIZE
            case 0x68: try get(Int(try u8()), at) // BINGET 'h'
            case 0x6A: try get(Int(try le(UInt32.self)), at) // LONG_BINGET 'j'
            case 0x63: // GLOBAL 'c'
                let module = try line(at), name = try line(at)
                try push(.global(try resolve(module, name, at)), at)
            case 0x93: // STACK_GLOBAL
                let name = try pop(at), module = try pop(at)
                guard let m = module.stringValue, let n = name.stringValue else {
                    throw .pickle(offset: at, reason: "STACK_GLOBAL needs two strings")
                }
                try push(.global(try resolve(m, n, at)), at)
            case 0x52: // REDUCE 'R'
                let args = try pop(at), callable = try pop(at)
                try push(try reduce(callable, args, at), at)
            case 0x81: // NEWOBJ
                let args = try pop(at), cls = try pop(at)
                try push(try newObject(cls, args, at), at)
            case 0x62: // BUILD 'b'
                let state = try pop(at)
                try build(try top(at), state, at)
            case 0x51: // BINPERSID 'Q'
                let pid = try pop(at)
                try push(try persistent(pid, at), at)
            default:
                if let name = PickleMachine.refused[op] { throw .forbiddenOpcode(offset: at, opcode: op, name: name) }
                throw .pickle(offset: at, reason: "unknown opcode 0x\(String(op, radix: 16))")
            }
        }
    }

    /// Opcodes that exist but are never accepted, by name.
    static let refused: [UInt8: String] = [
        0x69: "INST", 0x6F: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x50: "PERSID", 0x92: "NEWOBJ_EX",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x49: "INT", 0x4C: "LONG", 0x53: "STRING", 0x56: "UNICODE",
        0x46: "FLOAT", 0x67: "GET", 0x70: "PUT",
    ]

    // MARK: - Reading

    private func need(_ n: Int, _ at: Int) throws(ConvertError) {
        guard n >= 0, n <= bytes.count - pos else {
            throw .pickle(offset: at, reason: "field needs \(n) bytes but only \(bytes.count - pos) remain (truncated pickle)")
        }
    }

    private func u8() throws(ConvertError) -> UInt8 {
        try need(1, pos)
        defer { pos += 1 }
        return bytes[pos]
    }

    private func le<T: FixedWidthInteger>(_: T.Type) throws(ConvertError) -> T {
        try need(MemoryLayout<T>.size, pos)
        defer { pos += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: T.self))
    }

    /// A `width`-byte length, checked against the bytes that remain.
    private func length(_ width: Int, at: Int) throws(ConvertError) -> Int {
        let n: UInt64 = width == 4 ? UInt64(try le(UInt32.self)) : try le(UInt64.self)
        guard n <= UInt64(bytes.count - pos) else {
            throw .pickle(offset: at, reason: "length \(n) is larger than the \(bytes.count - pos) bytes left")
        }
        return Int(n)
    }

    private func raw(_ n: Int, _ at: Int) throws(ConvertError) -> [UInt8] {
        try need(n, at)
        defer { pos += n }
        return [UInt8](UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)]))
    }

    private func utf8(_ n: Int, _ at: Int) throws(ConvertError) -> String {
        let b = try raw(n, at)
        guard let s = String(validating: b, as: UTF8.self) else { throw .pickle(offset: at, reason: "string is not valid UTF-8") }
        return s
    }

    private func latin1(_ n: Int, _ at: Int) throws(ConvertError) -> String {
        String(String.UnicodeScalarView(try raw(n, at).map { Unicode.Scalar($0) }))
    }

    /// A newline-terminated ASCII line of at most 256 bytes (GLOBAL's module and name).
    private func line(_ at: Int) throws(ConvertError) -> String {
        var out: [UInt8] = []
        while true {
            let b = try u8()
            if b == 0x0A { break }
            guard out.count < 256, b >= 0x20, b < 0x7F else { throw .pickle(offset: at, reason: "GLOBAL name is not a short ASCII line") }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A little-endian two's-complement integer of `n` bytes (LONG1/LONG4), at most 8 bytes.
    private func long(_ n: Int, _ at: Int) throws(ConvertError) -> Int {
        guard n <= 8 else { throw .pickle(offset: at, reason: "integer of \(n) bytes does not fit in 64 bits") }
        let b = try raw(n, at)
        guard !b.isEmpty else { return 0 }
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        if n < 8, b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
        return Int(Int64(bitPattern: v))
    }

    // MARK: - Stack and memo

    private func push(_ v: PickleValue, _ at: Int) throws(ConvertError) {
        guard stack.count < PickleMachine.maxStack else { throw .pickle(offset: at, reason: "stack deeper than \(PickleMachine.maxStack)") }
        guard v.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
        stack.append(v)
    }

    private func pop(_ at: Int) throws(ConvertError) -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw .pickle(offset: at, reason: "stack underflow") }
        stack.removeLast()
        return v
    }

    private func top(_ at: Int) throws(ConvertError) -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw .pickle(offset: at, reason: "stack underflow") }
        return v
    }

    private func popToMark(_ at: Int) throws(ConvertError) -> [PickleValue] {
        guard let m = marks.popLast() else { throw .pickle(offset: at, reason: "no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func put(_ index: Int, _ at: Int) throws(ConvertError) {
        guard index <= bytes.count, memo.count < PickleMachine.maxMemo else {
            throw .pickle(offset: at, reason: "memo index \(index) is out of range")
        }
        memo[index] = try top(at)
    }

    private func get(_ index: Int, _ at: Int) throws(ConvertError) {
        guard let v = memo[index] else { throw .pickle(offset: at, reason: "memo index \(index) was never stored") }
        try push(v, at)
    }

    private func tuple(_ items: [PickleValue], _ at: Int) throws(ConvertError) -> PickleValue {
        let t = PickleTuple(items)
        guard t.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
        return .tuple(t)
    }

    private func append(_ vs: [PickleValue], to l: PickleList, _ at: Int) throws(ConvertError) {
        for v in vs {
            l.depth = max(l.depth, 1 + v.depth)
            guard l.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
            l.items.append(v)
        }
    }

    private func setItems(_ kv: [PickleValue], in d: PickleDict, _ at: Int) throws(ConvertError) {
        guard kv.count % 2 == 0 else { throw .pickle(offset: at, reason: "odd number of items for a dict") }
        var i = 0
        while i < kv.count {
            d.set(kv[i], kv[i + 1])
            guard d.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
            i += 2
        }
    }

    // MARK: - Globals and calls

    /// Resolves `module.name` through the allowlist.
    private func resolve(_ module: String, _ name: String, _ at: Int) throws(ConvertError) -> PickleGlobal {
        let full = "\(module).\(name)"
        func g(_ k: PickleGlobal.Kind) -> PickleGlobal { PickleGlobal(module: module, name: name, kind: k) }
        switch full {
        case "collections.OrderedDict": return g(.orderedDict)
        case "torch._utils._rebuild_tensor_v2": return g(.rebuildTensor)
        case "torch._utils._rebuild_parameter": return g(.rebuildParameter)
        case "_codecs.encode": return g(.codecsEncode)
        default: break
        }
        if module == "torch", let dt = SourceDType(storageName: name) { return g(.storageType(dt)) }
        let root = String(module.split(separator: ".").first ?? "")
        if opaque.contains(full), !PickleMachine.blockedModules.contains(root), !PickleMachine.blockedModules.contains(module), root != "torch" {
            return g(.opaqueClass)
        }
        throw .forbiddenGlobal(offset: at, global: full)
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws(ConvertError) -> PickleValue {
        guard case let .global(g) = callable else { throw .forbiddenCall(offset: at, reason: "REDUCE on \(callable), which is not an allowlisted callable") }
        guard case let .tuple(t) = args else { throw .pickle(offset: at, reason: "REDUCE arguments are not a tuple") }
        let a = t.items
        switch g.kind {
        case .orderedDict:
            let d = PickleDict()
            _ = made(.dict(d))
            d.ordered = true
            if let pairs = a.first?.items {
                for p in pairs {
                    guard let kv = p.items, kv.count == 2 else { throw .pickle(offset: at, reason: "OrderedDict items must be pairs") }
                    try setItems(kv, in: d, at)
                }
            }
            return .dict(d)
        case .rebuildTensor:
            return .tensor(try rebuildTensor(a, at))
        case .rebuildParameter:
            guard let first = a.first, case let .tensor(tr) = first else {
                throw .forbiddenCall(offset: at, reason: "_rebuild_parameter needs a tensor as its first argument")
            }
            return .tensor(tr)
        case .codecsEncode:
            guard a.count == 2, let s = a[0].stringValue, let enc = a[1].stringValue, enc == "latin1" || enc == "latin-1" else {
                throw .forbiddenCall(offset: at, reason: "_codecs.encode is only accepted as encode(str, \"latin1\")")
            }
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw .pickle(offset: at, reason: "latin1 text holds a character above U+00FF") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case .storageType:
            throw .forbiddenCall(offset: at, reason: "\(g.qualifiedName) may only appear inside a persistent id")
        case .opaqueClass:
            let o = PickleObject(className: g.qualifiedName, args: a)
            _ = made(.object(o))
            guard o.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
            return .object(o)
        }
    }

    private func newObject(_ cls: PickleValue, _ args: PickleValue, _ at: Int) throws(ConvertError) -> PickleValue {
        guard case let .global(g) = cls else { throw .forbiddenCall(offset: at, reason: "NEWOBJ on \(cls), which is not an allowlisted class") }
        switch g.kind {
        case .opaqueClass, .orderedDict: return try reduce(cls, args, at)
        default: throw .forbiddenCall(offset: at, reason: "NEWOBJ on \(g.qualifiedName), which is not a class")
        }
    }

    private func build(_ target: PickleValue, _ state: PickleValue, _ at: Int) throws(ConvertError) {
        switch target {
        case let .object(o):
            o.state = state
            o.depth = max(o.depth, 1 + state.depth)
            guard o.depth <= PickleMachine.maxDepth else { throw .pickle(offset: at, reason: "values nested deeper than \(PickleMachine.maxDepth)") }
        case let .dict(d) where d.ordered:
            // An OrderedDict's instance attributes (a state_dict's `_metadata`): not needed, kept out.
            guard case .dict = state else { throw .forbiddenCall(offset: at, reason: "BUILD on an OrderedDict with a non-dict state") }
        default:
            throw .forbiddenCall(offset: at, reason: "BUILD on \(target), which is not an allowlisted type")
        }
    }

    /// `('storage', torch.XStorage, key, location, numel)` → a storage checked against the archive.
    private func persistent(_ pid: PickleValue, _ at: Int) throws(ConvertError) -> PickleValue {
        guard case let .tuple(t) = pid, t.items.count == 5, t.items[0].stringValue == "storage",
              case let .global(g) = t.items[1], case let .storageType(dtype) = g.kind,
              let key = t.items[2].stringValue, t.items[3].stringValue != nil, let count = t.items[4].intValue, count >= 0 else {
            throw .forbiddenCall(offset: at, reason: "persistent id \(pid) is not ('storage', torch.XStorage, key, location, numel)")
        }
        guard let size = storages[key] else {
            throw .pickle(offset: at, reason: "storage key \"\(key)\" has no data/\(key) entry in the archive")
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteWidth)
        guard !o, bytes <= size else {
            throw .pickle(offset: at, reason: "storage \"\(key)\" claims \(count) elements of \(dtype) but its entry holds \(size) bytes")
        }
        return .storage(StorageRef(key: key, dtype: dtype, count: count))
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    private func rebuildTensor(_ a: [PickleValue], _ at: Int) throws(ConvertError) -> TensorRef {
        guard a.count == 6 || a.count == 7, case let .storage(s) = a[0], let offset = a[1].intValue, offset >= 0,
              let size = a[2].items, let stride = a[3].items, size.count == stride.count, size.count <= 8 else {
            throw .forbiddenCall(offset: at, reason: "_rebuild_tensor_v2 called with unexpected arguments")
        }
        var shape: [Int] = []
        var count = 1
        for v in size {
            guard let d = v.intValue, d >= 0 else { throw .pickle(offset: at, reason: "tensor size \(v) is not a non-negative int") }
            let (c, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw .pickle(offset: at, reason: "tensor element count overflows") }
            count = c
            shape.append(d)
        }
        // Row-major contiguity: stride[i] = product of the sizes after i (ignored where size is 1).
        var expected = 1
        for i in stride.indices.reversed() {
            guard let st = stride[i].intValue else { throw .pickle(offset: at, reason: "tensor stride is not an int") }
            if shape[i] != 1 && st != expected {
                throw .checkpoint("tensor with shape \(shape) has strides \(stride.map { $0.description }) (not contiguous): re-save it with .contiguous()")
            }
            expected = expected &* max(shape[i], 1)
        }
        let (end, o) = offset.addingReportingOverflow(count)
        guard !o, end <= s.count else {
            throw .pickle(offset: at, reason: "tensor of \(count) elements at offset \(offset) runs past its storage of \(s.count)")
        }
        return TensorRef(storage: s, offset: offset, shape: shape)
    }
}
