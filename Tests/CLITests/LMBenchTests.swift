import Foundation
import TestSupport
import Testing

/// `lm-bench MODEL`: runs and reports well-formed rows. No speed is asserted.
@Suite("lm-bench")
struct LMBenchTests {
    @Test("lm-bench MODEL --json: one row per thread count and test, with samples, bytes and roof")
    func json() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let r = try Tools.run("lm-bench", [m, "-t", "1,2", "-p", "8", "-n", "4", "-d", "0,6", "-r", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        // Per thread count: pp8, tg4 at depth 0, tg4 at depth 6.
        #expect(rows.count == 6)
        #expect(rows.map { $0["threads"] as? Int } == [1, 1, 1, 2, 2, 2])
        #expect(rows.map { $0["test"] as? String } == ["pp", "tg", "tg", "pp", "tg", "tg"])
        #expect(rows.map { $0["depth"] as? Int } == [0, 0, 6, 0, 0, 6])
        for row in rows {
            let samples = try #require(row["samples"] as? [Double])
            #expect(samples.count == 2 && samples.allSatisfy { $0 > 0 && $0.isFinite })
            let rate = try #require(row["tokens_per_second"] as? Double)
            #expect(samples.contains(rate), "the reported rate is the median sample")
            #expect(row["model"] as? String == m)
            #expect(row["linear_dtype"] as? String == "T2")
            #expect(row["cache_type"] as? String == "f16")
            #expect((row["weight_bytes_per_token"] as? Int ?? 0) > 0)
            #expect((row["bandwidth_g_bs"] as? Double ?? 0) > 0)
            if row["test"] as? String == "tg" {
                // dim 32, 1 layer, 4 kv heads of 8: 2 · 1 · positions · 32 · 2 bytes.
                let depth = try #require(row["depth"] as? Int)
                #expect(row["kv_bytes_per_token"] as? Int == 2 * (max(depth, 1) + 2 + 1) * 32 * 2)
                #expect((row["roof_percent"] as? Double ?? 0) > 0)
            } else {
                #expect((row["gop_per_second"] as? Double ?? 0) > 0)
            }
        }
        // One thread runs no parallel loop; two threads run some.
        #expect(rows[1]["loops_per_token"] as? Double == 0)
        #expect((rows[4]["loops_per_token"] as? Double ?? 0) > 0)
    }

    @Test("the table has a header, a separator and one line per row")
    func table() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let r = try Tools.run("lm-bench", [m, "-t", "1", "-p", "4", "-n", "2", "-r", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("kernels: "))
        #expect(lines[3].contains("| pp4 |") && lines[4].contains("| tg2 |"))
    }

    @Test("a test past the context is one line naming the model, before any measurement")
    func pastContext() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)  // context 32
        let r = try Tools.run("lm-bench", [m, "-t", "1", "-p", "0", "-n", "30", "-d", "8", "-r", "1"])
        #expect(r.status == 1)
        #expect(r.errorLines == ["Error: \(m): position 37 is past the context length 32"])
    }
}
