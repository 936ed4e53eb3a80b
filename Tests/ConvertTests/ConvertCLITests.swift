import Foundation
import Testing
import BitGPT
@testable import BitGPTConvert

/// Runs the built `lm-convert`, `lm-quantize` and `lm-diff` (swift test builds every product) and
/// checks stdout, the one-line stderr error and the exit status.
@Suite("Converter command-line tools")
struct ConvertCLITests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    /// The built tool, looked for beside the test bundle and in `.build/debug`.
    static func tool(_ name: String) -> String? {
        var dirs: [URL] = []
        if let exe = CommandLine.arguments.first {
            var d = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 { dirs.append(d); d = d.deletingLastPathComponent() }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        dirs.append(root.appendingPathComponent(".build/debug"))
        return dirs.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func run(_ name: String, _ args: [String]) throws -> Run? {
        guard let exe = ConvertCLITests.tool(name) else {
            print("notice: \(name) is not built; skipping its command-line test")
            return nil
        }
        let dir = TestFiles.tempDir()
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: try String(contentsOfFile: dir + "/out", encoding: .utf8),
                   stderr: try String(contentsOfFile: dir + "/err", encoding: .utf8))
    }

    @Test("convert, quantize (dry run) and diff a fixture; --tolerance gives exit status 2")
    func pipeline() throws {
        let dir = TestFiles.tempDir()
        let src = TestFiles.fixtures + "/nanogpt_tiny.pt"
        guard let c = try run("lm-convert", [src, dir + "/a.bgpt", "--tokenizer", TestFiles.fixtures + "/nanogpt_tiny.meta.pkl"]) else { return }
        #expect(c.status == 0)
        #expect(c.stdout.hasPrefix("converted nanogpt (pytorch) → \(dir)/a.bgpt\n"))
        #expect(c.stderr.isEmpty)
        guard let q = try run("lm-quantize", [dir + "/a.bgpt", "--to", "int8", "--dry-run"]) else { return }
        #expect(q.status == 0)
        #expect(q.stdout.contains("dry run, nothing written"))
        guard let w = try run("lm-quantize", [dir + "/a.bgpt", dir + "/b.bgpt", "--to", "int8"]) else { return }
        #expect(w.status == 0)
        guard let d0 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt"]) else { return }
        #expect(d0.status == 0)
        guard let d2 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt", "--tolerance", "1e-9"]) else { return }
        #expect(d2.status == 2)
        guard let d1 = try run("lm-diff", [dir + "/a.bgpt", dir + "/b.bgpt", "--tolerance", "10", "--json"]) else { return }
        #expect(d1.status == 0)
        #expect(d1.stdout.contains("\"schema\" : \"bitgpt.diff\\/1\""))
    }

    @Test("a hostile checkpoint fails with one clear stderr line, exit 1, and no output file")
    func hostile() throws {
        let dir = TestFiles.tempDir()
        let evil = P.proto2 + P.global("os", "system") + P.str("true") + [0x85] + P.reduce + P.stop
        TestFiles.write(P.checkpoint(pickle: evil), to: dir + "/evil.pt")
        guard let r = try run("lm-convert", [dir + "/evil.pt", dir + "/out.bgpt"]) else { return }
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(dir)/evil.pt: pickle refers to global \"os.system\" at byte 2, which is not on the allowlist (nothing was executed)\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.bgpt"))
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)) == ["evil.pt"])
    }

    @Test("BabyGPT's llama_trainer.py model is refused on one stderr line naming the quirk; its main model converts with notes")
    func babygpt() throws {
        let dir = TestFiles.tempDir(), seeds = TestFiles.fixtures + "/seeds"
        guard let r = try run("lm-convert", [seeds + "/babygpt_llama/llama.pth", dir + "/l.bgpt"]) else { return }
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("Error: \(seeds)/babygpt_llama/llama.pth: BabyGPT llama_trainer.py model refused: its attention output is transposed and reshaped twice"))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/l.bgpt"))
        guard let c = try run("lm-convert", [seeds + "/babygpt_main/model.pth", dir + "/m.bgpt", "--tokenizer", seeds + "/babygpt_main/meta.pkl"]) else { return }
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
