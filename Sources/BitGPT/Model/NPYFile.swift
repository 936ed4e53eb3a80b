import Foundation

/// Reads and writes NumPy `.npy` files (format 1.0) of little-endian float32, C order.
public enum NPYFile {
    /// Writes `values` with `shape` to `path` atomically.
    ///
    /// - Parameters:
    ///   - values: elements, row-major; count must equal the product of `shape`.
    ///   - shape: dimensions.
    ///   - path: destination.
    /// - Throws: ``FormatError/badDestination(path:kind:)`` when `path` is not a regular file or
    ///   a new name, ``FormatError/io(call:path:message:)`` (written by ``AtomicFile``).
    public static func writeFloat32(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String) throws {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let len = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.withUnsafeBytes { b in Result { () throws(FormatError) in try AtomicFile.write(path: path, chunks: [b]) } }.get()
    }

    /// Reads a float32 (`<f4`) or float64 (`<f8`) C-order array.
    ///
    /// - Parameter path: the file.
    /// - Returns: the shape and the elements as Float, or nil if the file is not such an array.
    public static func readFloats(_ path: String) -> (shape: [Int], values: [Float])? {
        guard let d = FileManager.default.contents(atPath: path), d.count >= 10, d.starts(with: [0x93] + Array("NUMPY".utf8)) else { return nil }
        let b = [UInt8](d)
        let major = b[6]
        let hlen = major == 1 ? Int(b[8]) | Int(b[9]) << 8 : Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        let start = major == 1 ? 10 : 12
        guard start + hlen <= b.count, let header = String(bytes: b[start..<(start + hlen)], encoding: .ascii) else { return nil }
        let f8 = header.contains("'<f8'")
        guard header.contains("'<f4'") || f8, header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else { return nil }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let n = shape.reduce(1, *), size = f8 ? 8 : 4, off = start + hlen
        guard off + n * size <= b.count else { return nil }
        var values = [Float](repeating: 0, count: n)
        b.withUnsafeBytes { raw in
            for i in 0..<n {
                values[i] = f8 ? Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off + 8 * i, as: UInt64.self))))
                    : Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: off + 4 * i, as: UInt32.self)))
            }
        }
        return (shape, values)
    }
}
