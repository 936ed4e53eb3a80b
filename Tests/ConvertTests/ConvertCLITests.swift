import Foundation
import Testing
import TestSupport
import BitGPT
@testable import BitGPTConvert

/// Runs the built `lm-convert`, `lm-quantize` and `lm-diff` (swift test builds every product) and
/// checks stdout, the one-line stderr error and the exit status.
@Suite("Converter command-line tools")
struct ConvertCLITests {
    /// Runs the built tool `name` (a missing tool fails the test: ``ToolRunner/Missing``).
    func run(_ name: String, _ args: [String]) throws -> ToolRunner.Result { try ToolRunner.run(try ToolRunner.path(name), args) }

    @Test("convert, quantize (dry run) and diff a fixture; --tolerance gives exit status 2")
    func pipeline() throws {
        let dir = TestFiles.tempDir()
        let src = TestFiles.fixtures + "/nanogpt_tiny.pt"
        let c = try run("lm-convert", [src, dir + "/a.bgpt", "--tokenizer", TestFiles.fixtures + "/nanogpt_tiny.meta.pkl"])
        #expect(c.status == 0)
        #expect(c.stdout.hasPrefix("converted nanogpt (pytorch) → \(dir)/a.bgpt\n"))
        #expect(c.stderr.isEmpty)
        let q = try run("lm-quantize", [dir + "/a.bgpt", "--to", "int8", "--dry-run"])
        #expect(q.status == 0)
        #expect(q.stdout.contains("dry run, nothing written"))
        let w = try run("lm-quantize", [dir + "/a.bgpt", dir + "/b.bgpt", "--to", "int8"])
        #expect(w.status == 0)
        let d0 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt"])
        #expect(d0.status == 0)
        let d2 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt", "--tolerance", "1e-9"])
        #expect(d2.status == 2)
        let d1 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt", "--tolerance", "10", "--json"])
        #expect(d1.status == 0)
        #expect(d1.stdout.contains("\"schema\" : \"bitgpt.diff\\/1\""))
    }

    @Test("a hostile checkpoint fails with one clear stderr line, exit 1, and no output file")
    func hostile() throws {
        let dir = TestFiles.tempDir()
        let evil = P.proto2 + P.global("os", "system") + P.str("true") + [0x85] + P.reduce + P.stop
        TestFiles.write(P.checkpoint(pickle: evil), to: dir + "/evil.pt")
        let r = try run("lm-convert", [dir + "/evil.pt", dir + "/out.bgpt"])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(dir)/evil.pt: pickle refers to global \"os.system\" at byte 2, which is not on the allowlist (nothing was executed)\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.bgpt"))
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)) == ["evil.pt"])
    }

    @Test("BabyGPT's llama_trainer.py model is refused on one stderr line naming the quirk; its main model converts with notes")
    func babygpt() throws {
        let dir = TestFiles.tempDir(), seeds = TestFiles.fixtures + "/seeds"
        let r = try run("lm-convert", [seeds + "/babygpt_llama/llama.pth", dir + "/l.bgpt"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("Error: \(seeds)/babygpt_llama/llama.pth: BabyGPT llama_trainer.py model refused: its attention output is transposed and reshaped twice"))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/l.bgpt"))
        let c = try run("lm-convert", [seeds + "/babygpt_main/model.pth", dir + "/m.bgpt", "--tokenizer", seeds + "/babygpt_main/meta.pkl"])
        #expect(c.status == 0)
        #expect(c.stdout.hasPrefix("converted babygpt (pytorch) → \(dir)/m.bgpt\n"))
        #expect(c.stdout.contains("the 4 blocks run 4 times in sequence (16 block applications)"))
        #expect(c.stdout.contains("using babygpt_trainer.py's n_head = 4"))
    }
}

@Suite("lm-convert tokenizer kinds")
struct ConvertTokenizerKindTests {
    @Test("a tokenizer.json is embedded through the tokenizer library and encodes as its source; too large or unsupported files are refused")
    func tokenizerJSON() throws {
        let dir = TestFiles.tempDir()
        // A tiny byte-level BPE as HF tokenizer.json: the 256 byte tokens, then one merge "a b" → "ab".
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[ByteLevelAlphabet.encode([UInt8(b)])] = b }
        vocab["ab"] = 256
        let json: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": ["a b"]],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "added_tokens": [] as [Any],
        ]
        let path = dir + "/tokenizer.json"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let section = try TokenizerImport.metadata(path: path, vocabSize: 300)
        #expect(try section.string("tokenizer.kind") == "bpe")
        let tok = try TokenizerFactory.make(metadata: section, vocabSize: 300)
        #expect(try tok.encode("abab") == [256, 256])
        #expect(try tok.encode("ba") == [98, 97])
        #expect(throws: ConvertError.self) { try TokenizerImport.metadata(path: path, vocabSize: 100) }
        #expect(throws: ConvertError.self) { try TokenizerImport.metadata(path: dir + "/tokenizer.bin", vocabSize: 300) }
        #expect(throws: ConvertError.self) { try TokenizerImport.metadata(path: dir + "/missing.model", vocabSize: 300) }
    }
}
