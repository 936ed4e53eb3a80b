import BitGPT
import Foundation
import Testing

/// Storage cost of the ternary types on real matrix shapes (exact, from `DType.byteSize`), and,
/// on request, the open time of a large file. Timings are printed, never asserted:
///
///     BITGPT_MEASURE_FILE=/tmp/big.bgpt swift test -c release --filter FormatMeasurements
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

    @Test("open time and deep-check speed of a large file", .enabled(if: ProcessInfo.processInfo.environment["BITGPT_MEASURE_FILE"] != nil))
    func openTime() throws {
        let path = ProcessInfo.processInfo.environment["BITGPT_MEASURE_FILE"]!
        var times: [Double] = []
        var size = 0
        for _ in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            let f = try BGPTFile(path: path)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            size = f.fileSize
        }
        let sorted = times.sorted()
        print(String(format: "open %@ (%.1f MB): median %.3f ms, min %.3f ms, max %.3f ms over %d runs",
                     path, Double(size) / 1e6, sorted[sorted.count / 2], sorted.first!, sorted.last!, sorted.count))
        let f = try BGPTFile(path: path)
        for run in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            try f.verify()
            let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(String(format: "verify run %d: %.3f s, %.0f MB/s", run, s, Double(size) / 1e6 / s))
        }
    }
}
