/// The value-type ids of metadata entries (`formats/bgpt.md`, "Metadata").
public enum MetadataType: UInt32, CaseIterable, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, uint64 = 6, int64 = 7
    case float32 = 8, float64 = 9, bool = 10, string = 11, array = 12, bytes = 13

    /// Size in bytes of one fixed-size value; nil for STRING, ARRAY and BYTES.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array, .bytes: return nil
        }
    }

    /// The spec's name for the type, used in error messages and `lm-inspect --json`.
    public var name: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float32: return "f32"
        case .float64: return "f64"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .bytes: return "bytes"
        }
    }
}

/// A homogeneous array value. Arrays never nest.
public enum MetadataArray: Equatable, Sendable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16])
    case uint32([UInt32]), int32([Int32]), uint64([UInt64]), int64([Int64])
    case float32([Float]), float64([Double]), bool([Bool]), string([String]), bytes([[UInt8]])

    /// The element type.
    public var elementType: MetadataType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .bytes: return .bytes
        }
    }

    /// The number of elements.
    public var count: Int {
        switch self {
        case let .uint8(a): return a.count
        case let .int8(a): return a.count
        case let .uint16(a): return a.count
        case let .int16(a): return a.count
        case let .uint32(a): return a.count
        case let .int32(a): return a.count
        case let .uint64(a): return a.count
        case let .int64(a): return a.count
        case let .float32(a): return a.count
        case let .float64(a): return a.count
        case let .bool(a): return a.count
        case let .string(a): return a.count
        case let .bytes(a): return a.count
        }
    }
}

extension MetadataArray {
    /// `value` as a one-element array; nil for an array (arrays never nest).
    ///
    /// With ``elements`` this is the one place that pairs each value case with its array case.
    public init?(element value: MetadataValue) {
        switch value {
        case let .uint8(x): self = .uint8([x])
        case let .int8(x): self = .int8([x])
        case let .uint16(x): self = .uint16([x])
        case let .int16(x): self = .int16([x])
        case let .uint32(x): self = .uint32([x])
        case let .int32(x): self = .int32([x])
        case let .uint64(x): self = .uint64([x])
        case let .int64(x): self = .int64([x])
        case let .float32(x): self = .float32([x])
        case let .float64(x): self = .float64([x])
        case let .bool(x): self = .bool([x])
        case let .string(x): self = .string([x])
        case let .bytes(x): self = .bytes([x])
        case .array: return nil
        }
    }

    /// Every element as a value (a copy).
    public var elements: [MetadataValue] {
        switch self {
        case let .uint8(a): return a.map(MetadataValue.uint8)
        case let .int8(a): return a.map(MetadataValue.int8)
        case let .uint16(a): return a.map(MetadataValue.uint16)
        case let .int16(a): return a.map(MetadataValue.int16)
        case let .uint32(a): return a.map(MetadataValue.uint32)
        case let .int32(a): return a.map(MetadataValue.int32)
        case let .uint64(a): return a.map(MetadataValue.uint64)
        case let .int64(a): return a.map(MetadataValue.int64)
        case let .float32(a): return a.map(MetadataValue.float32)
        case let .float64(a): return a.map(MetadataValue.float64)
        case let .bool(a): return a.map(MetadataValue.bool)
        case let .string(a): return a.map(MetadataValue.string)
        case let .bytes(a): return a.map(MetadataValue.bytes)
        }
    }

    /// The elements as `Int`, nil when the elements are not integers.
    ///
    /// - Throws: the first `UInt64` element that does not fit in `Int` (as the element itself).
    func integers() throws(IntegerOverflow) -> [Int]? {
        switch self {
        case let .uint8(x): return x.map { Int($0) }
        case let .int8(x): return x.map { Int($0) }
        case let .uint16(x): return x.map { Int($0) }
        case let .int16(x): return x.map { Int($0) }
        case let .uint32(x): return x.map { Int($0) }
        case let .int32(x): return x.map { Int($0) }
        case let .int64(x): return x.map { Int($0) }
        case let .uint64(x):
            var out: [Int] = []
            out.reserveCapacity(x.count)
            for e in x {
                guard let i = Int(exactly: e) else { throw IntegerOverflow(value: e) }
                out.append(i)
            }
            return out
        default: return nil
        }
    }

    /// A `UInt64` element too large for `Int`.
    struct IntegerOverflow: Error { var value: UInt64 }
}

/// One typed metadata value.
public enum MetadataValue: Equatable, Sendable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    case array(MetadataArray)
    case bytes([UInt8])

    /// The value's type id.
    public var type: MetadataType { MetadataArray(element: self)?.elementType ?? .array }

    /// A type name for messages: `u32`, `string`, `array<f32>`.
    public var typeName: String {
        if case let .array(a) = self { return "array<\(a.elementType.name)>" }
        return type.name
    }

    /// The value as a signed integer, if it is any integer type that fits.
    public var integer: Int? {
        guard case .array = self else { return (try? MetadataArray(element: self)?.integers())?.first }
        return nil
    }

    /// A short human rendering: numbers as is, strings quoted, long arrays and bytes summarised.
    public var description: String {
        switch self {
        case let .uint8(v): return "\(v)"
        case let .int8(v): return "\(v)"
        case let .uint16(v): return "\(v)"
        case let .int16(v): return "\(v)"
        case let .uint32(v): return "\(v)"
        case let .int32(v): return "\(v)"
        case let .uint64(v): return "\(v)"
        case let .int64(v): return "\(v)"
        case let .float32(v): return "\(v)"
        case let .float64(v): return "\(v)"
        case let .bool(v): return v ? "true" : "false"
        case let .string(s): return quoted(s, limit: 120)
        case let .bytes(b): return "<\(b.count) bytes>"
        case let .array(a):
            let head: [String]
            switch a {
            case let .string(x): head = x.prefix(8).map { quoted($0, limit: 24) }
            case let .float32(x): head = x.prefix(8).map { "\($0)" }
            case let .int32(x): head = x.prefix(8).map { "\($0)" }
            case let .uint32(x): head = x.prefix(8).map { "\($0)" }
            case let .uint8(x): head = x.prefix(8).map { "\($0)" }
            default: head = []
            }
            let more = a.count > head.count ? (head.isEmpty ? "…" : ", …") : ""
            return "[\(head.joined(separator: ", "))\(more)] (\(a.count) × \(a.elementType.name))"
        }
    }
}

func quoted(_ s: String, limit: Int) -> String {
    var out = "\""
    var n = 0
    for c in s.unicodeScalars {
        if n >= limit { out += "…"; break }
        appendQuoted(c, to: &out) { "\\u{\(String($0, radix: 16))}" }
        n += 1
    }
    return out + "\""
}

/// Appends `c` as it stands inside a double-quoted rendering: `\n`, `\t`, `\r`, `\"` and `\\`
/// escaped, other C0 controls and DEL as `control(value)`, everything else as itself.
///
/// Shared by metadata descriptions and `lm-tokenize`'s token display, so both escape alike.
public func appendQuoted(_ c: Unicode.Scalar, to out: inout String, control: (UInt32) -> String) {
    switch c {
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    default:
        if c.value < 0x20 || c.value == 0x7f { out += control(c.value) } else { out.unicodeScalars.append(c) }
    }
}

/// The ordered, typed key/value metadata of a .bgpt file.
///
/// Keys are lower-case dotted ASCII (`model.n_layers`, `general.name`). Order is kept as written;
/// lookups are by key. The typed getters are the only way the runtime reads values, so a value of
/// the wrong type is an error, never a reinterpretation of bytes.
public struct Metadata: Equatable, Sendable {
    /// The entries, in file order.
    public private(set) var entries: [(key: String, value: MetadataValue)] = []
    private var index: [String: Int] = [:]

    /// An empty metadata set.
    public init() {}

    public static func == (a: Metadata, b: Metadata) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Sets `key` to `value`, replacing an existing value in place or appending.
    public mutating func set(_ key: String, _ value: MetadataValue) {
        if let i = index[key] { entries[i].value = value } else {
            index[key] = entries.count
            entries.append((key, value))
        }
    }

    /// Removes `key` if present.
    public mutating func remove(_ key: String) {
        guard let i = index[key] else { return }
        entries.remove(at: i)
        index = [:]
        for (j, e) in entries.enumerated() { index[e.key] = j }
    }

    /// Appends an entry read from a file; returns false if the key is already present.
    mutating func appendUnique(_ key: String, _ value: MetadataValue) -> Bool {
        if index[key] != nil { return false }
        index[key] = entries.count
        entries.append((key, value))
        return true
    }

    /// The value for `key`, or nil.
    public subscript(key: String) -> MetadataValue? {
        guard let i = index[key] else { return nil }
        return entries[i].value
    }

    /// Whether `key` is present.
    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// The number of entries.
    public var count: Int { entries.count }

    // MARK: - Typed getters

    /// The string at `key`.
    /// - Throws: ``FormatError/missingKey(_:)`` or ``FormatError/wrongType(key:expected:found:)``.
    public func string(_ key: String) throws(FormatError) -> String {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .string(s) = v else { throw .wrongType(key: key, expected: "string", found: v.typeName) }
        return s
    }

    /// The integer at `key` (any integer type), checked to lie in `range`.
    /// - Throws: ``FormatError/missingKey(_:)``, ``FormatError/wrongType(key:expected:found:)`` or
    ///   ``FormatError/invalidValue(key:reason:)`` when out of range.
    public func int(_ key: String, in range: ClosedRange<Int> = Int.min...Int.max) throws(FormatError) -> Int {
        guard let v = self[key] else { throw .missingKey(key) }
        guard let i = v.integer else { throw .wrongType(key: key, expected: "integer", found: v.typeName) }
        guard range.contains(i) else { throw .invalidValue(key: key, reason: "\(i) is outside \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    /// The float at `key` (f32 or f64), checked to be finite.
    public func float(_ key: String) throws(FormatError) -> Double {
        guard let v = self[key] else { throw .missingKey(key) }
        let d: Double
        switch v {
        case let .float32(f): d = Double(f)
        case let .float64(f): d = f
        default: throw .wrongType(key: key, expected: "float", found: v.typeName)
        }
        guard d.isFinite else { throw .invalidValue(key: key, reason: "\(d) is not finite") }
        return d
    }

    /// The bool at `key`.
    public func bool(_ key: String) throws(FormatError) -> Bool {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .bool(b) = v else { throw .wrongType(key: key, expected: "bool", found: v.typeName) }
        return b
    }

    /// The raw bytes at `key`.
    public func bytes(_ key: String) throws(FormatError) -> [UInt8] {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .bytes(b) = v else { throw .wrongType(key: key, expected: "bytes", found: v.typeName) }
        return b
    }

    /// The array of strings at `key`.
    public func strings(_ key: String) throws(FormatError) -> [String] {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .array(.string(a)) = v else { throw .wrongType(key: key, expected: "array<string>", found: v.typeName) }
        return a
    }

    /// The array of f32 at `key`.
    public func floats(_ key: String) throws(FormatError) -> [Float] {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .array(.float32(a)) = v else { throw .wrongType(key: key, expected: "array<f32>", found: v.typeName) }
        return a
    }

    /// The array of integers at `key` (any integer element type), as `Int`.
    public func ints(_ key: String) throws(FormatError) -> [Int] {
        guard let v = self[key] else { throw .missingKey(key) }
        guard case let .array(a) = v else { throw .wrongType(key: key, expected: "array<integer>", found: v.typeName) }
        let x: [Int]?
        do throws(MetadataArray.IntegerOverflow) { x = try a.integers() } catch {
            throw .invalidValue(key: key, reason: "element \(error.value) does not fit in Int")
        }
        guard let x else { throw .wrongType(key: key, expected: "array<integer>", found: v.typeName) }
        return x
    }
}
