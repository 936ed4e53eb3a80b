import Foundation

/// A parsed JSON value. Request bodies are read into this first, so every field can be checked
/// by hand and every error names its field (a `Decodable` struct would stop at the first key).
/// Integers keep their exact value (a 64-bit seed is not rounded through Double).
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let u = try? c.decode(UInt64.self) { self = .uint(u); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .uint, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a request body; anything but a JSON object is a 400.
    static func parseObject(_ bytes: [UInt8]) throws(APIError) -> [String: JSONValue] {
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
        guard case .object(let o) = value else { throw APIError.badRequest("the body must be a JSON object, not \(value.typeName)") }
        return o
    }
}

/// Typed reads of a request object's fields; a missing field or `null` reads as nil, a field of
/// the wrong type is a 400 naming it.
struct RequestFields {
    let object: [String: JSONValue]
    /// Prefix for nested objects' field names in messages (e.g. `stream_options.`).
    var prefix = ""

    subscript(key: String) -> JSONValue? {
        if case .null? = object[key] { return nil }
        return object[key]
    }

    func wrong(_ key: String, _ want: String) -> APIError {
        .badField(prefix + key, "must be \(want), not \(self[key]?.typeName ?? "null")")
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw wrong(key, "a string") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw wrong(key, "a boolean") }
        return b
    }

    /// A number (integer or not), finite.
    func number(_ key: String) throws(APIError) -> Double? {
        switch self[key] {
        case nil: return nil
        case .int(let i)?: return Double(i)
        case .uint(let u)?: return Double(u)
        case .double(let d)?: return d
        default: throw wrong(key, "a number")
        }
    }

    /// An integer that fits Int (a larger one is reported as out of `range`).
    func integer(_ key: String, range: ClosedRange<Int>) throws(APIError) -> Int? {
        let outside = APIError.badField(prefix + key, "must be in \(range.lowerBound)...\(range.upperBound)")
        switch self[key] {
        case nil: return nil
        case .int(let i)?:
            guard let v = Int(exactly: i), range.contains(v) else { throw outside }
            return v
        case .uint?: throw outside
        case .double(let d)?:
            guard d.rounded() == d, d.isFinite else { throw wrong(key, "an integer") }
            throw outside  // integral but beyond 64 bits (smaller ones parse as .int)
        default: throw wrong(key, "an integer")
        }
    }

    /// A nested object.
    func object(_ key: String) throws(APIError) -> RequestFields? {
        guard let v = self[key] else { return nil }
        guard case .object(let o) = v else { throw wrong(key, "an object") }
        return RequestFields(object: o, prefix: prefix + key + ".")
    }
}
