import Foundation

/// A minimal safetensors reader and writer for F32 tensors (the format of Hugging Face
/// `safetensors`: u64 little-endian header length, a JSON header mapping each name to
/// `dtype`, `shape`, `data_offsets` [begin, end) relative to the data, an optional
/// `__metadata__` string map, then the data).
public enum Safetensors {
    /// One tensor to write: name, shape, and the floats (row-major).
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var data: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], data: UnsafeBufferPointer<Float>) { self.name = name; self.shape = shape; self.data = data }
    }

    /// Writes the file atomically; tensors are stored in the given order.
    public static func write(path: String, tensors: [Tensor], metadata: [String: String]) throws(TrainError) {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            let n = t.data.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + n]] as [String: Any]
            offset += n
        }
        guard var json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else {
            throw .io(path: path, reason: "cannot encode the safetensors header")
        }
        // Pad the header with spaces so the data starts 8-byte aligned.
        while json.count % 8 != 0 { json.append(0x20) }
        var len = UInt64(json.count).littleEndian
        let lenBytes = withUnsafeBytes(of: &len) { [UInt8]($0) }
        let head = lenBytes + [UInt8](json)
        var failure: TrainError?
        head.withUnsafeBytes { h in
            do throws(TrainError) { try FileIO.writeAtomically(path, [h] + tensors.map { UnsafeRawBufferPointer($0.data) }) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// A file read back: metadata and tensors by name.
    public struct File {
        public var metadata: [String: String]
        public var tensors: [String: (shape: [Int], values: [Float])]
    }

    /// Reads and validates a file written by ``write(path:tensors:metadata:)`` (F32 only).
    ///
    /// The header length, every offset range and every shape are checked against the file before
    /// any tensor is copied.
    /// - Throws: ``TrainError/badCheckpoint(path:reason:)`` naming what is wrong.
    public static func read(path: String) throws(TrainError) -> File {
        let bytes = try FileIO.read(path)
        func bad(_ r: String) -> TrainError { .badCheckpoint(path: path, reason: r) }
        guard bytes.count >= 8 else { throw bad("\(bytes.count) bytes, too short for a safetensors header") }
        let hlen = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard hlen <= UInt64(bytes.count - 8), hlen <= 100_000_000 else { throw bad("header length \(hlen) exceeds the file (\(bytes.count) bytes)") }
        let dataStart = 8 + Int(hlen)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])), let header = obj as? [String: Any] else {
            throw bad("the header is not a JSON object")
        }
        var file = File(metadata: [:], tensors: [:])
        if let m = header["__metadata__"] {
            guard let m = m as? [String: String] else { throw bad("__metadata__ is not a string map") }
            file.metadata = m
        }
        let dataCount = bytes.count - dataStart
        for (name, v) in header where name != "__metadata__" {
            guard let t = v as? [String: Any], let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int],
                  let offs = t["data_offsets"] as? [Int], offs.count == 2 else { throw bad("tensor \"\(name)\" has a malformed entry") }
            guard dtype == "F32" else { throw bad("tensor \"\(name)\" has dtype \(dtype); only F32 is read") }
            guard shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }), shape.count <= 4 else { throw bad("tensor \"\(name)\" has shape \(shape)") }
            let n = shape.reduce(1, *)
            guard offs[0] >= 0, offs[0] <= offs[1], offs[1] <= dataCount, offs[1] - offs[0] == 4 * n else {
                throw bad("tensor \"\(name)\" data_offsets \(offs) do not fit shape \(shape) within \(dataCount) data bytes")
            }
            let values = bytes.withUnsafeBytes { b in
                (0..<n).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: dataStart + offs[0] + 4 * $0, as: UInt32.self))) }
            }
            file.tensors[name] = (shape, values)
        }
        return file
    }
}
