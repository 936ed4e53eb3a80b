import Foundation
import BitGPT

/// What `lm-inspect` prints about a .bgpt file, as text or as JSON.
///
/// The JSON form is stable and documented in `formats/lm-inspect-json.md`.
public struct InspectReport {
    /// The opened file.
    public let file: BGPTFile
    /// The path as given.
    public let path: String
    /// Tensors selected by the `--tensors` pattern (all when none).
    public let selected: [TensorInfo]

    /// - Parameters:
    ///   - file: an opened file.
    ///   - path: its path, for the report.
    ///   - pattern: a glob (`*`, `?`, `[...]`) on tensor names; nil selects all.
    public init(file: BGPTFile, path: String, pattern: String? = nil) {
        self.file = file
        self.path = path
        if let p = pattern {
            selected = file.tensors.filter { InspectReport.glob(p, $0.name) }
        } else {
            selected = file.tensors
        }
    }

    /// Whether `name` matches the shell-style `pattern`; a pattern without wildcards matches as a substring.
    public static func glob(_ pattern: String, _ name: String) -> Bool {
        if !pattern.contains(where: { "*?[".contains($0) }) { return name.contains(pattern) }
        return fnmatch(pattern, name, 0) == 0
    }

    /// The layer a tensor belongs to: `blk.N` for block tensors, `other` for the rest.
    public static func layer(of name: String) -> String {
        let parts = name.split(separator: ".")
        if parts.count >= 2, parts[0] == "blk", Int(parts[1]) != nil { return "blk.\(parts[1])" }
        return "other"
    }

    // MARK: - Totals

    /// Totals of parameters and bytes for a group of tensors.
    public struct Totals {
        public var tensors = 0
        public var parameters = 0
        public var bytes = 0
        public var bitsPerWeight: Double { parameters == 0 ? 0 : Double(bytes) * 8 / Double(parameters) }
    }

    func totals(_ key: (TensorInfo) -> String) -> [(String, Totals)] {
        var order: [String] = []
        var map: [String: Totals] = [:]
        for t in selected {
            let k = key(t)
            if map[k] == nil { order.append(k); map[k] = Totals() }
            map[k]!.tensors += 1
            map[k]!.parameters += t.elementCount
            map[k]!.bytes += Int(t.byteSize)
        }
        return order.map { ($0, map[$0]!) }
    }

    var overall: Totals {
        var t = Totals()
        for x in selected { t.tensors += 1; t.parameters += x.elementCount; t.bytes += Int(x.byteSize) }
        return t
    }

    // MARK: - Text

    /// The metadata section alone, one `key: type = value` line each.
    public func metadataText() -> String {
        var s = ""
        for e in file.metadata.entries { s += "  \(e.key): \(e.value.typeName) = \(e.value)\n" }
        return s
    }

    /// The full text report, in the order the manual gives.
    public func text() -> String {
        var s = ""
        let m = file.metadata
        s += "file: \(path)\n"
        s += "size: \(file.fileSize) bytes (\(InspectReport.human(file.fileSize)))\n"
        s += "format: bgpt \(file.version.major).\(file.version.minor), alignment \(file.alignment), header \(file.headerSize) bytes, \(m.count) metadata keys, \(file.tensors.count) tensors\n"
        s += "\narchitecture: \((try? m.string("general.architecture")) ?? "(missing)")\n"
        for e in m.entries where !e.key.hasPrefix("tokenizer.") && e.key != "general.architecture" {
            s += "  \(e.key) = \(e.value)\n"
        }
        s += "\ntokenizer: " + tokenizerSummary().joined(separator: ", ") + "\n"
        if let t = try? m.string(ChatTemplate.metadataKey) {
            // The template's first 60 characters, quoted; the whole text is in `--metadata`.
            s += "chat template: \(t.utf8.count) bytes, " + quotedPiece(String(t.prefix(60))) + (t.count > 60 ? "…" : "") + "\n"
        }
        s += "\ntensors:\n"
        let nameW = max(4, selected.map { $0.name.count }.max() ?? 0)
        s += "  " + pad("name", nameW) + "  dtype  " + pad("shape", 20) + lpad("params", 12) + lpad("bytes", 14) + lpad("bits/w", 8) + "\n"
        for t in selected {
            s += "  " + pad(t.name, nameW) + "  " + pad(t.dtype.description, 5) + "  " + pad("(" + t.shape.map(String.init).joined(separator: ", ") + ")", 20)
            s += lpad("\(t.elementCount)", 12) + lpad("\(t.byteSize)", 14) + lpad(String(format: "%.3f", t.bitsPerWeight), 8) + "\n"
        }
        s += "\ntotals by dtype:\n"
        for (k, v) in totals({ $0.dtype.description }) { s += totalsLine(k, v) }
        s += "\ntotals by layer:\n"
        for (k, v) in totals({ InspectReport.layer(of: $0.name) }) { s += totalsLine(k, v) }
        let o = overall
        s += "\nmodel: \(o.parameters) parameters (\(InspectReport.human(o.parameters, unit: ""))) in \(o.bytes) bytes, \(String(format: "%.3f", o.bitsPerWeight)) bits per weight\n"
        return s
    }

    func totalsLine(_ k: String, _ v: Totals) -> String {
        "  " + pad(k, 8) + lpad("\(v.tensors) tensors", 14) + lpad("\(v.parameters) params", 20) + lpad("\(v.bytes) bytes", 18)
            + lpad(String(format: "%.3f bits/w", v.bitsPerWeight), 16) + "\n"
    }

    /// Kind, vocabulary size and special tokens, as short phrases.
    public func tokenizerSummary() -> [String] {
        let m = file.metadata
        guard let kind = try? m.string("tokenizer.kind") else { return ["none"] }
        var out = [kind]
        let tokens = (try? m.strings("tokenizer.tokens")) ?? []
        out.append("vocab \(tokens.count)")
        for (label, key) in [("bos", "tokenizer.bos_id"), ("eos", "tokenizer.eos_id"), ("unk", "tokenizer.unk_id"), ("pad", "tokenizer.pad_id")] {
            if let id = try? m.int(key), id >= 0 {
                let text = id < tokens.count ? " " + quotedPiece(tokens[id]) : ""
                out.append("\(label) \(id)\(text)")
            }
        }
        if let merges = try? m.strings("tokenizer.merges") { out.append("\(merges.count) merges") }
        if let sp = try? m.bytes("tokenizer.sentencepiece.model") { out.append("sentencepiece model \(sp.count) bytes") }
        return out
    }

    func quotedPiece(_ s: String) -> String { MetadataValue.string(s).description }

    // MARK: - JSON

    /// The report as a JSON object (see `formats/lm-inspect-json.md`).
    public func jsonObject(metadataOnly: Bool = false) -> [String: Any] {
        var metadata: [[String: Any]] = []
        for e in file.metadata.entries {
            metadata.append(["key": e.key, "type": e.value.typeName, "value": InspectReport.json(e.value)])
        }
        var obj: [String: Any] = [
            "schema": "bitgpt.inspect/1",
            "file": ["path": path, "size": file.fileSize, "version": "\(file.version.major).\(file.version.minor)",
                     "alignment": file.alignment, "header_size": file.headerSize, "data_offset": file.dataOffset] as [String: Any],
            "metadata": metadata,
        ]
        if metadataOnly { return obj }
        obj["architecture"] = (try? file.metadata.string("general.architecture")) ?? NSNull()
        obj["tokenizer"] = tokenizerSummary()
        obj["tensors"] = selected.map { t -> [String: Any] in
            ["name": t.name, "dtype": t.dtype.description, "shape": t.shape, "parameters": t.elementCount,
             "bytes": Int(t.byteSize), "bits_per_weight": t.bitsPerWeight, "offset": Int(t.offset),
             "checksum": String(format: "%016llx", t.checksum)]
        }
        func group(_ g: [(String, Totals)]) -> [[String: Any]] {
            g.map { ["name": $0.0, "tensors": $0.1.tensors, "parameters": $0.1.parameters, "bytes": $0.1.bytes, "bits_per_weight": $0.1.bitsPerWeight] }
        }
        obj["totals"] = [
            "by_dtype": group(totals({ $0.dtype.description })),
            "by_layer": group(totals({ InspectReport.layer(of: $0.name) })),
            "model": ["tensors": overall.tensors, "parameters": overall.parameters, "bytes": overall.bytes, "bits_per_weight": overall.bitsPerWeight],
        ] as [String: Any]
        return obj
    }

    /// Serializes ``jsonObject(metadataOnly:)`` with sorted keys.
    ///
    /// Every value is JSON-safe (non-finite floats and u64 values past `Int.max` become strings),
    /// so serialization does not fail; if it ever did, the result is an object with an `error` key.
    public func json(metadataOnly: Bool = false) -> String {
        do {
            let data = try JSONSerialization.data(withJSONObject: jsonObject(metadataOnly: metadataOnly), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        } catch {
            return "{\"schema\": \"bitgpt.inspect/1\", \"error\": \"JSON serialization failed\"}"
        }
    }

    static func json(_ v: MetadataValue) -> Any {
        func f(_ x: Double) -> Any { x.isFinite ? x : "\(x)" }
        switch v {
        case let .uint8(x): return Int(x)
        case let .int8(x): return Int(x)
        case let .uint16(x): return Int(x)
        case let .int16(x): return Int(x)
        case let .uint32(x): return Int(x)
        case let .int32(x): return Int(x)
        case let .uint64(x): return x <= UInt64(Int.max) ? Int(x) : "\(x)"
        case let .int64(x): return Int(x)
        case let .float32(x): return f(Double(x))
        case let .float64(x): return f(x)
        case let .bool(x): return x
        case let .string(s): return s
        case let .bytes(b): return ["bytes": b.count, "xxh64": String(format: "%016llx", XXHash64.hash(b))]
        case let .array(a):
            switch a {
            case let .uint8(x): return x.map { Int($0) }
            case let .int8(x): return x.map { Int($0) }
            case let .uint16(x): return x.map { Int($0) }
            case let .int16(x): return x.map { Int($0) }
            case let .uint32(x): return x.map { Int($0) }
            case let .int32(x): return x.map { Int($0) }
            case let .uint64(x): return x.map { $0 <= UInt64(Int.max) ? Int($0) as Any : "\($0)" }
            case let .int64(x): return x.map { Int($0) }
            case let .float32(x): return x.map { f(Double($0)) }
            case let .float64(x): return x.map { f($0) }
            case let .bool(x): return x
            case let .string(x): return x
            case let .bytes(x): return x.map { ["bytes": $0.count] }
            }
        }
    }

    // MARK: - Formatting

    /// `1234567` → `1.23 MB` (or `1.23 M` with `unit: ""`).
    public static func human(_ n: Int, unit: String = "B") -> String {
        let v = Double(n)
        for (limit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where v >= limit {
            return String(format: "%.2f %@%@", v / limit, suffix, unit)
        }
        return "\(n) \(unit)".trimmingCharacters(in: .whitespaces)
    }
}

func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s }
