import BitGPTConvert
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
    /// The checks are those of the converter's reader (``SafetensorsFile``, the one fuzzed in
    /// `tools/fuzz`): bounded header length, overflow-checked shape × dtype sizes, offsets that
    /// cover the data exactly. Only F32 tensors are accepted here.
    /// - Throws: ``TrainError/badCheckpoint(path:reason:)`` naming what is wrong, or
    ///   ``TrainError/io(path:reason:)`` when the file cannot be opened.
    public static func read(path: String) throws(TrainError) -> File {
        let source: SafetensorsFile
        do throws(ConvertError) {
            source = try SafetensorsFile(path: path)
        } catch {
            if case let .io(call, _, message) = error { throw .io(path: path, reason: "\(call): \(message)") }
            throw .badCheckpoint(path: path, reason: error.description)
        }
        var file = File(metadata: source.metadata, tensors: [:])
        for t in source.tensors {
            guard t.dtype == .f32 else { throw .badCheckpoint(path: path, reason: "tensor \"\(t.name)\" has dtype \(t.dtype); only F32 is read") }
            file.tensors[t.name] = (t.shape, t.floats())
        }
        return file
    }
}
