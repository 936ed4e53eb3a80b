import BitGPT
import Foundation
import Testing
import TestSupport

/// Storage cost of the ternary types on real matrix shapes (exact, from `DType.byteSize`), and
/// the open time of a large file against its deep check (printed; only their ratio is asserted).
/// A file of your own: `BITGPT_MEASURE_FILE=/tmp/big.bgpt swift test -c release --filter FormatMeasurements`.
@Suite("FormatMeasurements")
struct FormatMeasurements {
    /// (rows, cols) of the linear layers of GPT-2 small / Llama-style 768-wide models, and a 32k vocabulary.
    static let shapes: [(rows: UInt64, cols: UInt64)] = [(768, 768), (2048, 768), (768, 2048), (32000, 768)]

    static func bitsPerWeight(_ d: DType, _ rows: UInt64, _ cols: UInt64) -> Double {
        Double(d.byteSize(rows: rows, cols: cols)!) * 8 / Double(rows * cols)
    }

    @Test("ternary bits per weight on real shapes: T2 2 + 32/n, T1 8·T1row/cols + 32/n")
    func ternaryBitsPerWeight() {
        for (r, c) in Self.shapes {
            let n = Double(r * c)
            let t2 = Self.bitsPerWeight(.t2, r, c), t1 = Self.bitsPerWeight(.t1, r, c)
            // cols is a multiple of 4 here, so T2 is exactly 2 bits plus the one f32 scale.
            #expect(t2 == 2 + 32 / n)
            let t1Row = Double(32 * (c / 160) + (c % 160 + 4) / 5)
            #expect(t1 == (t1Row * 8 * Double(r) + 32) / n)
            #expect(t1 < 1.61 && t1 >= 1.6)
            print(String(format: "bits/weight %5llu × %-5llu  T2 %.6f  T1 %.6f  I8 %.6f", r, c, t2, t1, Self.bitsPerWeight(.i8, r, c)))
        }
        // cols = 768 leaves a tail of 128 weights in 26 bytes: 154 bytes per row.
        #expect(T1Packing.rowBytes(cols: 768) == 154)
        #expect(T1Packing.rowBytes(cols: 2048) == 410)
    }

    @Test("opening a 64 MiB file reads only its header: open is far faster than the deep check of its data")
    func openTime() throws {
        // BITGPT_MEASURE_FILE=PATH measures a file of your own instead (e.g. a release build on a real model).
        let dir = try TemporaryDirectory()
        let path = ProcessInfo.processInfo.environment["BITGPT_MEASURE_FILE"] ?? dir.file("big.bgpt")
        if ProcessInfo.processInfo.environment["BITGPT_MEASURE_FILE"] == nil {
            // 16 F32 tensors of (1024, 1024): 64 MiB of data behind a small header.
            let infos = (0..<16).map { TensorInfo(name: "blk.\($0).ffn_up", dtype: .f32, shape: [1024, 1024]) }
            var m = Metadata()
            m.set("general.architecture", .string("llama"))
            let w = try BGPTWriter(path: path, metadata: m, tensors: infos)
            var row = [UInt8](repeating: 0, count: 1024 * 1024 * 4)
            for (i, info) in infos.enumerated() {
                row[i] = UInt8(i + 1)   // distinct contents, so every checksum differs
                try w.write(info.name, bytes: row)
            }
            try w.finish()
        }
        var times: [Double] = []
        var size = 0
        for _ in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            let f = try BGPTFile(path: path)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            size = f.fileSize
        }
        let open = times.sorted()[times.count / 2]
        let f = try BGPTFile(path: path)
        var checks: [Double] = []
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            try f.verify()
            checks.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let check = checks.sorted()[1]
        print(String(format: "open %.1f MB: median %.3f ms over 7 runs; verify median %.3f s, %.0f MB/s",
                     Double(size) / 1e6, open * 1e3, check, Double(size) / 1e6 / check))
        #expect(size >= 64 << 20)
        // The open maps the file and parses the header; the deep check hashes every byte.
        #expect(open * 20 < check, "open \(open) s is not far below the deep check's \(check) s")
    }
}
