/// A value built by the restricted pickle machine (``PickleMachine``).
///
/// Only data comes out of the machine: numbers, strings, containers, references to tensors and
/// storages, and opaque records standing for allowlisted project classes (their constructor
/// arguments and state, never an instance). Lists, dicts and tuples are reference types because
/// pickle's memo shares them: a dict put in the memo and filled afterwards must be the same object
/// when fetched again.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A reference to an allowlisted global (a callable or class), before it is called.
    case global(PickleGlobal)
    /// A storage named by a `BINPERSID` record.
    case storage(StorageRef)
    /// A tensor rebuilt by `torch._utils._rebuild_tensor_v2` (or `_rebuild_parameter`).
    case tensor(TensorRef)
    /// An instance of an allowlisted project class, kept as data.
    case object(PickleObject)

    /// The nesting depth: 0 for scalars, 1 + the deepest child for containers.
    var depth: Int {
        switch self {
        case let .tuple(t): return t.depth
        case let .list(l): return l.depth
        case let .dict(d): return d.depth
        case let .object(o): return o.depth
        default: return 0
        }
    }

    /// The value as an `Int`, if it is one (bools count, as in Python).
    public var intValue: Int? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The value as a `Double`, if it is a number.
    public var doubleValue: Double? {
        switch self {
        case let .float(f): return f
        case let .int(i): return Double(i)
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The value as a `String`, if it is one.
    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// Items of a tuple or list.
    public var items: [PickleValue]? {
        switch self {
        case let .tuple(t): return t.items
        case let .list(l): return l.items
        default: return nil
        }
    }

    /// For a dict with string keys, or an opaque object whose state is one: the value at `key`.
    public subscript(key: String) -> PickleValue? {
        switch self {
        case let .dict(d): return d[key]
        case let .object(o): return o.state?[key]
        default: return nil
        }
    }

    /// A short rendering for messages (containers summarised, not expanded).
    public var description: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return "\(i)"
        case let .float(f): return "\(f)"
        case let .string(s): return "\"\(s.prefix(40))\""
        case let .bytes(b): return "<\(b.count) bytes>"
        case let .tuple(t): return "tuple(\(t.items.count))"
        case let .list(l): return "list(\(l.items.count))"
        case let .dict(d): return "dict(\(d.entries.count))"
        case let .global(g): return g.qualifiedName
        case let .storage(s): return "storage \(s.key) (\(s.dtype))"
        case let .tensor(t): return "tensor \(t.dtype) \(t.shape)"
        case let .object(o): return "\(o.className)(...)"
        }
    }
}

/// An immutable tuple.
public final class PickleTuple {
    /// The elements.
    public let items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue]) {
        self.items = items
        depth = 1 + (items.map { $0.depth }.max() ?? 0)
    }
}

/// A mutable list (APPEND/APPENDS fill it after creation).
public final class PickleList {
    /// The elements so far.
    public internal(set) var items: [PickleValue] = []
    var depth = 1
    init() {}
}

/// A mutable dict in insertion order (SETITEM/SETITEMS fill it after creation).
///
/// Keys are usually strings (state dicts) or ints (`itos`); other keys are kept in `entries`.
public final class PickleDict {
    /// Key/value pairs in insertion order.
    public internal(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    private var intIndex: [Int: Int] = [:]
    var depth = 1
    /// Whether the dict was built as a `collections.OrderedDict`.
    public internal(set) var ordered = false
    init() {}

    /// Sets `key` to `value` (replacing an equal string or int key, as Python would).
    func set(_ key: PickleValue, _ value: PickleValue) {
        depth = max(depth, 1 + max(key.depth, value.depth))
        switch key {
        case let .string(s):
            if let i = stringIndex[s] { entries[i].value = value; return }
            stringIndex[s] = entries.count
        case let .int(n):
            if let i = intIndex[n] { entries[i].value = value; return }
            intIndex[n] = entries.count
        default: break
        }
        entries.append((key, value))
    }

    /// Removes every entry (used to break cycles of a refused stream).
    func removeAll() {
        entries = []
        stringIndex = [:]
        intIndex = [:]
    }

    /// The value at string key `key`.
    public subscript(key: String) -> PickleValue? { stringIndex[key].map { entries[$0].value } }
    /// The value at integer key `key`.
    public subscript(int key: Int) -> PickleValue? { intIndex[key].map { entries[$0].value } }
}

/// An allowlisted global: what it is decides what REDUCE, NEWOBJ and BUILD may do with it.
public struct PickleGlobal {
    /// What an allowlisted global is.
    public enum Kind {
        /// `collections.OrderedDict`: called with no arguments (or a list of pairs), makes a dict.
        case orderedDict
        /// `torch._utils._rebuild_tensor_v2`.
        case rebuildTensor
        /// `torch._utils._rebuild_parameter`.
        case rebuildParameter
        /// `_codecs.encode(str, "latin1")`: how protocol 2 stores Python 3 bytes.
        case codecsEncode
        /// A `torch.*Storage` type, valid only inside a persistent id.
        case storageType(SourceDType)
        /// A project class kept as an opaque record (config dataclasses, tokenizer objects).
        case opaqueClass
    }
    /// The module, e.g. `torch._utils`.
    public let module: String
    /// The name inside the module, e.g. `_rebuild_tensor_v2`.
    public let name: String
    /// Its role in the allowlist.
    public let kind: Kind
    /// `module.name`.
    public var qualifiedName: String { "\(module).\(name)" }
}

/// A storage record from a persistent id `('storage', torch.XStorage, key, location, numel)`.
public struct StorageRef: Equatable, Sendable {
    /// The storage key: the archive entry `<prefix>/data/<key>` holds its bytes.
    public let key: String
    /// Element type of the storage.
    public let dtype: SourceDType
    /// Number of elements.
    public let count: Int
}

/// A tensor view of a storage: contiguous row-major, checked against the storage's size.
public struct TensorRef: Equatable, Sendable {
    /// The storage holding the elements.
    public let storage: StorageRef
    /// First element, in elements from the start of the storage.
    public let offset: Int
    /// Dimensions, outermost first (empty for a 0-d tensor).
    public let shape: [Int]
    /// The element type.
    public var dtype: SourceDType { storage.dtype }
    /// The product of the shape (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// An instance of an allowlisted class, kept as data: the class, constructor arguments and state.
public final class PickleObject {
    /// `module.name` of the class.
    public let className: String
    /// The arguments it was created with (NEWOBJ or REDUCE).
    public let args: [PickleValue]
    /// The state BUILD gave it (for a dataclass: a dict of its fields).
    public internal(set) var state: PickleValue?
    var depth: Int
    init(className: String, args: [PickleValue]) {
        self.className = className
        self.args = args
        depth = 1 + (args.map { $0.depth }.max() ?? 0)
    }
}
