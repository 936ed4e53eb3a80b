import BitGPT
import Foundation
import TestSupport
import Testing

/// Runs the built `lm-inspect` on a tiny model written by ``BGPTWriter`` and checks its exact
/// output, its JSON, its filters, and its one-line errors with exit status 1.
@Suite("lm-inspect")
struct LMInspectTests {
    /// A model with four tensors of four dtypes, two layers of names and a tokenizer section.
    static func writeModel(to path: String) throws {
        var m = Metadata()
        m.set("general.architecture", .string("llama"))
        m.set("general.name", .string("tiny"))
        m.set("model.dim", .uint32(4))
        m.set("model.norm_eps", .float32(1e-5))
        m.set("model.tied_embeddings", .bool(true))
        m.set("tokenizer.kind", .string("char"))
        m.set("tokenizer.tokens", .array(.string(["a", "b", "c"])))
        m.set("tokenizer.bos_id", .int32(0))
        m.set("tokenizer.eos_id", .int32(-1))
        let specs: [(String, DType, [Int])] = [
            ("token_embd", .f32, [3, 4]), ("blk.0.attn_q", .t2, [4, 4]), ("blk.0.ffn_up", .i8, [2, 4]), ("output_norm", .f16, [4]),
        ]
        var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
        for (name, dtype, shape) in specs {
            let n = shape.reduce(1, *)
            let values = (0..<n).map { Float($0 % 5) * 0.5 - 1 }
            tensors.append((TensorInfo(name: name, dtype: dtype, shape: shape), try TensorEncoder.encode(values, shape: shape, as: dtype, name: name)))
        }
        try BGPTWriter.write(path: path, metadata: m, tensors: tensors)
    }

    /// The built tool (a missing one fails the test: ``ToolRunner/Missing``).
    static func tool() throws -> String { try ToolRunner.path("lm-inspect") }

    static func inspect(_ args: [String]) throws -> ToolRunner.Result {
        try ToolRunner.run(try tool(), args)
    }

    static func textReport(path: String) -> [String] {
        [
            "file: \(path)",
            // header: 64 + 339 (metadata) + 261 (table) = 664; data at 704, 256 bytes.
            "size: 960 bytes (960 B)",
            "format: bgpt 1.0, alignment 64, header 664 bytes, 9 metadata keys, 4 tensors",
            "",
            "architecture: llama",
            "  general.name = \"tiny\"",
            "  model.dim = 4",
            "  model.norm_eps = 1e-05",
            "  model.tied_embeddings = true",
            "",
            "tokenizer: char, vocab 3, bos 0 \"a\"",
            "",
            "tensors:",
            "  name          dtype  shape                     params         bytes  bits/w",
            "  token_embd    F32    (3, 4)                        12            48  32.000",
            "  blk.0.attn_q  T2     (4, 4)                        16             8   4.000",
            "  blk.0.ffn_up  I8     (2, 4)                         8            16  16.000",
            "  output_norm   F16    (4)                            4             8  16.000",
            "",
            "totals by dtype:",
            "  F32          1 tensors           12 params          48 bytes   32.000 bits/w",
            "  T2           1 tensors           16 params           8 bytes    4.000 bits/w",
            "  I8           1 tensors            8 params          16 bytes   16.000 bits/w",
            "  F16          1 tensors            4 params           8 bytes   16.000 bits/w",
            "",
            "totals by layer:",
            "  other        2 tensors           16 params          56 bytes   28.000 bits/w",
            "  blk.0        2 tensors           24 params          24 bytes    8.000 bits/w",
            "",
            "model: 40 parameters (40) in 80 bytes, 16.000 bits per weight",
        ]
    }

    @Test("the text report is exactly as documented")
    func textReport() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        // Writer → reader: the file reads back as written.
        let f = try BGPTFile(path: path)
        try f.verify()
        #expect(f.metadata.count == 9)
        #expect(try f.metadata.strings("tokenizer.tokens") == ["a", "b", "c"])
        #expect(try f.tensor("token_embd").f32.map(Array.init) == (0..<12).map { Float($0 % 5) * 0.5 - 1 })
        #expect(try f.tensor("blk.0.attn_q").ternaryValues() == [-1, -1, 0, 1, 1, -1, -1, 0, 1, 1, -1, -1, 0, 1, 1, -1])
        // Reader → lm-inspect.
        let r = try Self.inspect([path])
        #expect(r.status == 0)
        #expect(r.stderr == "")
        let expected = Self.textReport(path: path)
        #expect(r.lines == expected)
        for (i, (got, want)) in zip(r.lines, expected).enumerated() where got != want { Issue.record("line \(i + 1): got \"\(got)\", want \"\(want)\"") }
    }

    @Test("--verify exits 0 and appends one confirmation line")
    func verify() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let r = try Self.inspect([path, "--verify"])
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.lines == Self.textReport(path: path) + ["verify: all 4 tensor checksums match"])
    }

    @Test("--metadata prints one 'key: type = value' line per entry, and nothing else")
    func metadataOnly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let r = try Self.inspect([path, "--metadata"])
        #expect(r.status == 0)
        #expect(r.lines == [
            "  general.architecture: string = \"llama\"",
            "  general.name: string = \"tiny\"",
            "  model.dim: u32 = 4",
            "  model.norm_eps: f32 = 1e-05",
            "  model.tied_embeddings: bool = true",
            "  tokenizer.kind: string = \"char\"",
            "  tokenizer.tokens: array<string> = [\"a\", \"b\", \"c\"] (3 × string)",
            "  tokenizer.bos_id: i32 = 0",
            "  tokenizer.eos_id: i32 = -1",
        ])
    }

    @Test("--tensors filters the table and the totals by glob or substring")
    func tensorFilter() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let all = Self.textReport(path: path)
        let glob = try Self.inspect([path, "--tensors", "blk.*"])
        #expect(glob.status == 0)
        #expect(glob.lines == Array(all[0..<13]) + [
            "  name          dtype  shape                     params         bytes  bits/w",
            "  blk.0.attn_q  T2     (4, 4)                        16             8   4.000",
            "  blk.0.ffn_up  I8     (2, 4)                         8            16  16.000",
            "",
            "totals by dtype:",
            "  T2           1 tensors           16 params           8 bytes    4.000 bits/w",
            "  I8           1 tensors            8 params          16 bytes   16.000 bits/w",
            "",
            "totals by layer:",
            "  blk.0        2 tensors           24 params          24 bytes    8.000 bits/w",
            "",
            "model: 24 parameters (24) in 24 bytes, 8.000 bits per weight",
        ])
        let sub = try Self.inspect([path, "--tensors", "norm"])
        #expect(sub.lines.filter { $0.hasPrefix("  output_norm ") }.count == 1)
        #expect(sub.lines.contains("model: 4 parameters (4) in 8 bytes, 16.000 bits per weight"))
        let json = try Self.json([path, "--json", "--tensors", "token_*"])
        let names = (json["tensors"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["token_embd"])
    }

    static func json(_ args: [String]) throws -> [String: Any] {
        let r = try inspect(args)
        #expect(r.status == 0)
        #expect(r.stderr == "")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return try #require(obj as? [String: Any])
    }

    @Test("--json parses and has the keys formats/lm-inspect-json.md documents")
    func jsonReport() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let j = try Self.json([path, "--json"])
        #expect(Set(j.keys) == ["schema", "file", "metadata", "architecture", "tokenizer", "tensors", "totals"])
        #expect(j["schema"] as? String == "bitgpt.inspect/1")
        let file = try #require(j["file"] as? [String: Any])
        #expect(file["path"] as? String == path)
        #expect(file["size"] as? Int == 960)
        #expect(file["version"] as? String == "1.0")
        #expect(file["alignment"] as? Int == 64)
        #expect(file["header_size"] as? Int == 664)
        #expect(file["data_offset"] as? Int == 704)
        #expect(j["architecture"] as? String == "llama")
        #expect(j["tokenizer"] as? [String] == ["char", "vocab 3", "bos 0 \"a\""])

        let meta = try #require(j["metadata"] as? [[String: Any]])
        #expect(meta.map { $0["key"] as? String } == ["general.architecture", "general.name", "model.dim", "model.norm_eps",
                                                      "model.tied_embeddings", "tokenizer.kind", "tokenizer.tokens",
                                                      "tokenizer.bos_id", "tokenizer.eos_id"])
        #expect(meta.map { $0["type"] as? String } == ["string", "string", "u32", "f32", "bool", "string", "array<string>", "i32", "i32"])
        #expect(meta[2]["value"] as? Int == 4)
        #expect((meta[3]["value"] as? Double).map { abs($0 - 1e-5) < 1e-12 } == true)
        #expect(meta[4]["value"] as? Bool == true)
        #expect(meta[6]["value"] as? [String] == ["a", "b", "c"])
        #expect(meta[8]["value"] as? Int == -1)

        let f = try BGPTFile(path: path)
        let tensors = try #require(j["tensors"] as? [[String: Any]])
        #expect(tensors.count == 4)
        for (t, info) in zip(tensors, f.tensors) {
            #expect(Set(t.keys) == ["name", "dtype", "shape", "parameters", "bytes", "bits_per_weight", "offset", "checksum"])
            #expect(t["name"] as? String == info.name)
            #expect(t["dtype"] as? String == info.dtype.description)
            #expect(t["shape"] as? [Int] == info.shape)
            #expect(t["parameters"] as? Int == info.elementCount)
            #expect(t["bytes"] as? Int == Int(info.byteSize))
            #expect(t["offset"] as? Int == Int(info.offset))
            #expect(t["bits_per_weight"] as? Double == info.bitsPerWeight)
            let hex = String(info.checksum, radix: 16)
            #expect(t["checksum"] as? String == String(repeating: "0", count: 16 - hex.count) + hex)
        }
        let totals = try #require(j["totals"] as? [String: Any])
        #expect(Set(totals.keys) == ["by_dtype", "by_layer", "model"])
        let byDType = try #require(totals["by_dtype"] as? [[String: Any]])
        #expect(byDType.map { $0["name"] as? String } == ["F32", "T2", "I8", "F16"])
        #expect(Set(byDType[0].keys) == ["name", "tensors", "parameters", "bytes", "bits_per_weight"])
        let byLayer = try #require(totals["by_layer"] as? [[String: Any]])
        #expect(byLayer.map { $0["name"] as? String } == ["other", "blk.0"])
        #expect(byLayer.map { $0["bytes"] as? Int } == [56, 24])
        let model = try #require(totals["model"] as? [String: Any])
        #expect(model["tensors"] as? Int == 4 && model["parameters"] as? Int == 40 && model["bytes"] as? Int == 80)
        #expect(model["bits_per_weight"] as? Double == 16)
    }

    @Test("--json --metadata gives only the schema, file and metadata")
    func jsonMetadata() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let j = try Self.json([path, "--json", "--metadata"])
        #expect(Set(j.keys) == ["schema", "file", "metadata"])
        #expect((j["metadata"] as? [Any])?.count == 9)
    }

    @Test("--json --verify prints only JSON (no confirmation line) and exits 0")
    func jsonVerify() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        let j = try Self.json([path, "--json", "--verify"])
        #expect(j["schema"] as? String == "bitgpt.inspect/1")
    }

    @Test("a tensor whose bytes changed: opens, but --verify exits 1 with one Error line naming the file")
    func corruptedData() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        var bytes = try dir.read("tiny.bgpt")
        let f = try BGPTFile(path: path)
        let t = try #require(f.info("blk.0.ffn_up"))
        bytes[f.dataOffset + Int(t.offset) + 3] ^= 0x40
        try dir.write("tiny.bgpt", bytes)
        let computed = XXHash64.hash(Array(bytes[(f.dataOffset + Int(t.offset))..<(f.dataOffset + Int(t.offset + t.byteSize))]))
        let plain = try Self.inspect([path])
        #expect(plain.status == 0, "open does not read tensor data")
        let r = try Self.inspect([path, "--verify"])
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.errorLines == ["Error: \(path): \(FormatError.tensorChecksumMismatch(tensor: "blk.0.ffn_up", stored: t.checksum, computed: computed))"])
        #expect(r.errorLines.first?.hasPrefix("Error: \(path): tensor \"blk.0.ffn_up\" checksum mismatch: stored 0x") == true)
    }

    @Test("a malformed header exits 1 with exactly one Error line naming the file, in every mode", arguments: [[], ["--json"], ["--verify"], ["--metadata"]])
    func corruptedHeader(flags: [String]) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tiny.bgpt")
        try Self.writeModel(to: path)
        var bytes = try dir.read("tiny.bgpt")
        bytes.removeLast(10)
        try dir.write("tiny.bgpt", bytes)
        let r = try Self.inspect([path] + flags)
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.errorLines == ["Error: \(path): file is 950 bytes but data_offset + data_size = 960 (truncated or has trailing bytes)"])
    }

    @Test("a missing file and a directory each give one Error line and exit 1")
    func unreadable() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.file("none.bgpt")
        let r = try Self.inspect([missing])
        #expect(r.status == 1)
        #expect(r.errorLines == ["Error: \(missing): open(\(missing)) failed: No such file or directory"])
        let d = try Self.inspect([dir.path])
        #expect(d.status == 1)
        #expect(d.errorLines == ["Error: \(dir.path): open(\(dir.path)) failed: is a directory"])
        let junk = try dir.write("junk.bgpt", Array("not a model".utf8))
        let s = try Self.inspect([junk])
        #expect(s.status == 1)
        #expect(s.errorLines == ["Error: \(junk): not a .bgpt file: only 11 bytes, the fixed header alone is 64"])
    }

    @Test("no file argument is a usage error (exit 1, as documented)")
    func usage() throws {
        let r = try Self.inspect([])
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.errorLines.first == "Error: Missing expected argument '<model>'")
    }
}
