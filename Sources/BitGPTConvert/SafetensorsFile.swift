/// A safetensors file, validated with every rule of the format before any tensor is used.
///
/// Layout and rules (huggingface/safetensors `README.md` and
/// `safetensors/src/tensor.rs`, `Metadata::validate` and `read_metadata`): a u64
/// little-endian header length `N` (at most 100,000,000 and within the file), `N` bytes of UTF-8
/// JSON (optional leading/trailing whitespace), then the byte buffer. Each entry gives `dtype`,
/// `shape` and `data_offsets [begin, end)` relative to the buffer. Checks:
/// - known dtype; shape of non-negative integers; `numel · bytes` computed overflow-checked and
///   equal to `end − begin`;
/// - entries sorted by offset start at 0, each `begin` equals the previous `end` (no gap, no
///   overlap), and the last `end` equals the buffer size (no trailing bytes: no polyglots);
/// - `__metadata__` is a string → string map; duplicate keys are refused (stricter than the
///   reference parser, where the last one wins).
public final class SafetensorsFile: CheckpointSource {
    /// Largest header accepted (the reference's `MAX_HEADER_SIZE`).
    public static let maxHeaderSize = 100_000_000

    /// The mapped file.
    public let file: SourceFile
    /// Every tensor, in header order.
    public let tensors: [SourceTensor]
    /// The `__metadata__` map.
    public let metadata: [String: String]
    /// The file's path.
    public var path: String { file.path }
    /// Always `safetensors`.
    public var container: String { "safetensors" }
    /// `__metadata__` values parsed as numbers or bools where they look like one.
    public var hyperParameters: [String: PickleValue] {
        var out: [String: PickleValue] = [:]
        for (k, v) in metadata {
            if let i = Int(v) { out[k] = .int(i) } else if let d = Double(v) { out[k] = .float(d) }
            else if v == "true" || v == "True" { out[k] = .bool(true) } else if v == "false" || v == "False" { out[k] = .bool(false) }
            else { out[k] = .string(v) }
        }
        return out
    }

    /// Opens and validates `path`.
    public convenience init(path: String) throws(ConvertError) {
        try self.init(file: try SourceFile(path: path))
    }

    /// Validates an already mapped (or copied) file.
    ///
    /// - Throws: ``ConvertError/safetensors(offset:reason:)`` naming the first broken rule.
    public init(file: SourceFile) throws(ConvertError) {
        self.file = file
        guard file.count >= 8 else { throw .safetensors(offset: 0, reason: "file is \(file.count) bytes, shorter than the 8-byte header length") }
        let n64 = file.le(0, UInt64.self)
        guard n64 <= UInt64(SafetensorsFile.maxHeaderSize) else {
            throw .safetensors(offset: 0, reason: "header length \(n64) is over the limit of \(SafetensorsFile.maxHeaderSize)")
        }
        let n = Int(n64)
        guard n <= file.count - 8 else { throw .safetensors(offset: 0, reason: "header length \(n) is larger than the file") }
        let header = UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + n)])
        var first = 0
        while first < n, header[first] == 0x20 { first += 1 }
        guard first < n, header[first] == UInt8(ascii: "{") else { throw .safetensors(offset: 8 + first, reason: "header does not start with '{'") }
        let json: JSONValue
        switch JSONValue.parse(header) {
        case let .success(v): json = v
        case let .failure(e): throw .safetensors(offset: 8 + e.offset, reason: "invalid JSON header: \(e.reason)")
        }
        guard case let .object(members) = json else { throw .safetensors(offset: 8, reason: "header is not a JSON object") }
        let bufferStart = 8 + n
        let bufferSize = file.count - bufferStart

        struct Entry { var name: String; var dtype: SourceDType; var shape: [Int]; var begin: Int; var end: Int }
        var entries: [Entry] = []
        var meta: [String: String] = [:]
        for (name, v) in members {
            if name == "__metadata__" {
                guard case let .object(m) = v else { throw .safetensors(offset: 8, reason: "__metadata__ is not an object") }
                for (k, x) in m {
                    guard case let .string(s) = x else { throw .safetensors(offset: 8, reason: "__metadata__ value of \"\(k)\" is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard case .string(let dtName)? = v["dtype"], case .array(let shapeJ)? = v["shape"], case .array(let offs)? = v["data_offsets"],
                  offs.count == 2 else {
                throw .safetensors(offset: 8, reason: "tensor \"\(name)\" needs dtype, shape and data_offsets [begin, end]")
            }
            guard let dt = SourceDType(safetensorsName: dtName) else {
                throw .safetensors(offset: 8, reason: "tensor \"\(name)\" has dtype \(dtName), which this converter does not read")
            }
            guard shapeJ.count <= 8 else { throw .safetensors(offset: 8, reason: "tensor \"\(name)\" has \(shapeJ.count) dimensions") }
            var shape: [Int] = []
            var count = 1
            for d in shapeJ {
                guard case let .number(x) = d, x >= 0, x == x.rounded(), x < 9.2e18 else {
                    throw .safetensors(offset: 8, reason: "tensor \"\(name)\" has a shape entry that is not a non-negative integer")
                }
                let (c, o) = count.multipliedReportingOverflow(by: Int(x))
                guard !o else { throw .safetensors(offset: 8, reason: "tensor \"\(name)\": overflow computing the size from shape and dtype") }
                count = c
                shape.append(Int(x))
            }
            var be: [Int] = []
            for o in offs {
                guard case let .number(x) = o, x >= 0, x == x.rounded(), x < 9.2e18 else {
                    throw .safetensors(offset: 8, reason: "tensor \"\(name)\" has a data offset that is not a non-negative integer")
                }
                be.append(Int(x))
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: dt.byteWidth)
            guard !o else { throw .safetensors(offset: 8, reason: "tensor \"\(name)\": overflow computing the size from shape and dtype") }
            guard be[1] >= be[0], be[1] - be[0] == bytes else {
                throw .safetensors(offset: 8, reason: "tensor \"\(name)\": data_offsets [\(be[0]), \(be[1])) do not hold \(shape) × \(dtName) (\(bytes) bytes)")
            }
            entries.append(Entry(name: name, dtype: dt, shape: shape, begin: be[0], end: be[1]))
        }
        // Exact coverage: sorted, contiguous from 0, ending at the buffer's end.
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for e in sorted {
            guard e.begin == expected else {
                throw .safetensors(offset: bufferStart + e.begin, reason: "tensor \"\(e.name)\" starts at \(e.begin), expected \(expected) (gap or overlap)")
            }
            expected = e.end
        }
        guard expected == bufferSize else {
            throw .safetensors(offset: bufferStart + expected, reason: "tensors cover \(expected) bytes but the buffer holds \(bufferSize) (truncated, or trailing bytes)")
        }
        metadata = meta
        tensors = entries.map { e in
            SourceTensor(name: e.name, shape: e.shape, dtype: e.dtype,
                         bytes: UnsafeRawBufferPointer(rebasing: file.bytes[(bufferStart + e.begin)..<(bufferStart + e.end)]),
                         storageID: "@\(e.begin)")
        }
    }
}
