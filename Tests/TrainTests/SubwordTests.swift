import Foundation
import Testing
import TestSupport
@testable import BitGPTTrain
import BitGPT

/// Runs `tools/subword_check.py` (HF `tokenizers`, `sentencepiece`, `regex`: ``packages``).
enum SubwordReference {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/subword_check.py").path
    }

    /// python3 with HF tokenizers, sentencepiece and regex.
    static let packages = Requirement("python3 with tokenizers, sentencepiece and regex (pip install -r tools/requirements.txt)",
                                      isMet: Requirement.python(["tokenizers", "sentencepiece", "regex"]))

    /// The script's exit status.
    static func run(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// Text with repeats, punctuation, digits, newlines, several scripts and an emoji.
func subwordText(_ n: Int = 4000) -> String {
    var rng = SeededRandom(seed: 7)
    let words = ["the ", "thee ", "there ", "they're ", "king", ", ", "queen ", "1066 ", "ROMEO:\n", "é", "naïve ", "日本語 ",
                 "🙂 ", "  ", "\n\n", "to be, ", "or not ", "it's ", "Ωμέγα "]
    var s = ""
    while s.utf8.count < n { s += words[Int(rng.next() % UInt64(words.count))] }
    return s
}

@Suite("Sub-word tokenizers in training")
struct SubwordTests {
    @Test("BPE training merges the most frequent pair, ties to the smallest (left id, right id), and stops when no pair is left")
    func bpeMerges() throws {
        // Words "ab", "Ġab" ×2, "Ġabc": (a,b) 4, (Ġ,a) 3, (b,c) 1.
        let s = try BPETrainer.train(text: "ab ab ab abc", vocabSize: 300)
        #expect(s.merges == ["a b", "Ġ ab", "Ġab c"])
        #expect(s.tokens.count == 259 && s.tokens[256] == "ab" && s.tokens[258] == "Ġabc")
        // All pairs once: (x,y) = ids (87, 88) first, then (y,x) = (88, 87), then (Ġ, yx).
        #expect(try BPETrainer.train(text: "xy yx", vocabSize: 300).merges == ["x y", "y x", "Ġ yx"])
        // Base ids follow the byte-to-unicode order: "!" is 0, byte 0 ("Ā") is 188, space ("Ġ") 220.
        #expect(s.tokens[0] == "!" && s.tokens[188] == "Ā" && s.tokens[220] == "Ġ")
        // The vocabulary size caps the merges.
        #expect(try BPETrainer.train(text: "ab ab ab abc", vocabSize: 257).merges == ["a b"])
        #expect(throws: TokenizerError.self) { try BPETrainer.train(text: "ab", vocabSize: 255) }
    }

    @Test("BPE training is deterministic, and merges repeated symbols left to right without overlap")
    func bpeDeterministic() throws {
        let text = subwordText()
        let a = try BPETrainer.train(text: text, vocabSize: 400)
        let b = try BPETrainer.train(text: text, vocabSize: 400)
        #expect(a == b && a.tokens.count > 300 && a.tokens.count <= 400)
        // "aaaa" ×3: (a,a) 9 → "aa" (occurrences at 0 and 2), then (aa,aa) 3 → "aaaa".
        let r = try BPETrainer.train(text: "aaaa aaaa aaaa", vocabSize: 300)
        #expect(Array(r.merges.prefix(2)) == ["a a", "aa aa"])
    }

    @Test("a trained BPE encodes and decodes any text, unseen characters and invalid-UTF-8 replacements included")
    func bpeRoundTrip() throws {
        let section = try BPETrainer.train(text: subwordText(), vocabSize: 420)
        let json = BPETrainer.huggingFaceJSON(section)
        let dir = try NumPyReference.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tokenizer.json").path
        try Data(json).write(to: URL(fileURLWithPath: path))
        // The written tokenizer.json reads back as the same section.
        let back = try TokenizerFiles.load([path])
        #expect(back.tokens == section.tokens && back.merges == section.merges && back.prePattern == section.prePattern)
        let tok = try TokenizerFactory.make(section: back)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<50 {
            let bytes = (0..<Int(rng.next() % 60)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(try tok.decode(tok.encode(text)) == text)
        }
        for text in [subwordText(500), "Zürich 🦊 \u{0}\t\r\n ‽ 42", "\"quoted\" \\ backslash"] {
            let ids = try tok.encode(text)
            #expect(try tok.decode(ids) == text)
            #expect(ids.count < text.utf8.count || text.utf8.count < 4)
        }
    }

    @Test("lm-train --tokenizer bpe: OUT/tokenizer.json, the .bgpt's tokenizer encodes the text to the cached ids, resume reuses it")
    func bpeRun() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let text = subwordText(6000)
        try text.write(toFile: w.text, atomically: true, encoding: .utf8)
        var o = w.options("bpe", iters: 4)
        o.tokenizer = .bpe
        o.vocabSize = 300
        let t = try Trainer(options: o)
        #expect(t.data.vocabSize == 300 && t.model.config.vocabSize == 300)
        let s = try t.run()
        let fileInOut = try #require(FileManager.default.contents(atPath: o.out + "/tokenizer.json"))
        #expect(fileInOut == contents(w.text + ".bpe300/tokenizer.json"))
        let file = try BGPTFile(path: s.export)
        let tok = try TokenizerFactory.make(metadata: file.metadata, vocabSize: 300)
        let all = (t.data.train + t.data.val).map { Int($0) }
        #expect(try tok.encode(text) == all)
        #expect(try tok.decode(all) == text)
        // The checkpoint records the file; resume reads OUT's tokenizer even with the cache gone.
        let meta = try Safetensors.read(path: Checkpoint.modelPath(o.out)).metadata["bitgpt.tokenizer"] ?? ""
        #expect(meta.contains("\"file\":\"tokenizer.json\"") && meta.contains("\"kind\":\"bpe\""))
        try FileManager.default.removeItem(atPath: w.text + ".bpe300")
        var r = o
        r.resume = true
        r.maxIters = 6
        r.vocabSize = nil
        let resumed = try Trainer(options: r)
        #expect(resumed.data.itos == t.data.itos && resumed.data.train == t.data.train)
        _ = try resumed.run()
        #expect(!FileManager.default.fileExists(atPath: w.text + ".bpe300"))
        // A second fresh run is served from the cache with the same ids.
        var again = o
        again.out = w.dir.appendingPathComponent("bpe2").path
        let t2 = try Trainer(options: again)
        #expect(t2.data.train == t.data.train && t2.data.itos == t.data.itos)
        #expect(FileManager.default.fileExists(atPath: w.text + ".bpe300/meta.json"))
    }

    @Test("an existing tokenizer.json is used as it is (--tokenizer-file), cached under its hash")
    func bpeExistingFile() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let text = subwordText(3000)
        try text.write(toFile: w.text, atomically: true, encoding: .utf8)
        let section = try BPETrainer.train(text: "the king and the queen, there they're", vocabSize: 280)
        let tj = w.dir.appendingPathComponent("mine.json").path
        try Data(BPETrainer.huggingFaceJSON(section)).write(to: URL(fileURLWithPath: tj))
        var o = w.options("given", iters: 2)
        o.tokenizer = .bpe
        o.tokenizerFile = tj
        let t = try Trainer(options: o)
        #expect(t.data.itos == section.tokens)
        let hash = XXHash64.hash([UInt8](contents(tj)))
        #expect(FileManager.default.fileExists(atPath: w.text + ".bpe-" + String(hash, radix: 16) + "/train.bin"))
        #expect(contents(o.out + "/tokenizer.json") == contents(tj))
        // A .tiktoken rank file (base64 token bytes, rank = id) is kept as OUT/tokenizer.tiktoken.
        let tk = w.dir.appendingPathComponent("mine.tiktoken").path
        let ranks = section.tokens.enumerated().map { Data(ByteLevelAlphabet.decode($0.element) ?? []).base64EncodedString() + " \($0.offset)\n" }
        try ranks.joined().write(toFile: tk, atomically: true, encoding: .utf8)
        var ot = w.options("tiktoken", iters: 2)
        ot.tokenizer = .bpe
        ot.tokenizerFile = tk
        let tt = try Trainer(options: ot)
        let s = try tt.run()
        #expect(tt.data.vocabSize == section.tokens.count + 1)  // + <|endoftext|>
        #expect(contents(ot.out + "/tokenizer.tiktoken") == contents(tk))
        let tok = try TokenizerFactory.make(metadata: try BGPTFile(path: s.export).metadata, vocabSize: tt.data.vocabSize)
        #expect(try tok.encode(text) == (tt.data.train + tt.data.val).map { Int($0) })
        var rt = ot
        rt.resume = true
        rt.tokenizerFile = nil
        rt.maxIters = 3
        #expect(try Trainer(options: rt).data.itos == tt.data.itos)
        // Flags that cannot work are refused with one line.
        var bad = o
        bad.vocabSize = 300
        #expect(throws: TrainError.self) { try Trainer(options: bad) }
        bad = o
        bad.tokenizerFile = w.text
        #expect(throws: TrainError.self) { try Trainer(options: bad) }
        bad = w.options("x")
        bad.tokenizer = .bpe
        #expect(throws: TrainError.self) { try Trainer(options: bad) }
        bad.vocabSize = 70_000
        #expect(throws: TrainError.self) { try Trainer(options: bad) }
    }

    @Test("lm-train --tokenizer sentencepiece: byte fallback, OUT/tokenizer.model, the .bgpt's tokenizer encodes the text to the cached ids")
    func sentencePieceRun() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let text = subwordText(6000)
        try text.write(toFile: w.text, atomically: true, encoding: .utf8)
        var o = w.options("spm", iters: 2)
        o.tokenizer = .sentencepiece
        o.vocabSize = 320
        let t = try Trainer(options: o)
        let s = try t.run()
        #expect(t.data.vocabSize == 320)
        let proto = contents(o.out + "/tokenizer.model")
        #expect(proto == contents(w.text + ".sentencepiece320/tokenizer.model") && proto.count > 1000)
        let file = try BGPTFile(path: s.export)
        let tok = try TokenizerFactory.make(metadata: file.metadata, vocabSize: 320)
        let all = (t.data.train + t.data.val).map { Int($0) }
        #expect(try tok.encode(text) == all)
        #expect(try tok.decode(all) == text)
        // Byte fallback: text the trainer never saw still round-trips.
        let unseen = "Ж ∮ 🦊 \t tabs"
        #expect(try tok.decode(tok.encode(unseen)) == unseen)
        // Training again gives the same model (deterministic options).
        #expect(try SentencePieceTrainer.train(text: text, vocabSize: 320) == [UInt8](proto))
    }

    @Test("HF tokenizers' BpeTrainer, a pure-Python trainer, HF and Python sentencepiece agree with the trained tokenizers and cached ids", .requires(SubwordReference.packages))
    func pythonReference() throws {
        try SubwordReference.packages.check()
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let text = subwordText(20_000)
        try text.write(toFile: w.text, atomically: true, encoding: .utf8)
        for (kind, vocab, name) in [(TokenizerChoice.bpe, 600, "tokenizer.json"), (.sentencepiece, 400, "tokenizer.model")] {
            var o = w.options(kind.rawValue, iters: 1)
            o.tokenizer = kind
            o.vocabSize = vocab
            let t = try Trainer(options: o)
            let ids = w.dir.appendingPathComponent("\(kind.rawValue).ids").path
            var raw = Data()
            for v in t.data.train + t.data.val { raw.append(UInt8(v & 0xFF)); raw.append(UInt8(v >> 8)) }
            try raw.write(to: URL(fileURLWithPath: ids))
            #expect(try SubwordReference.run([kind.rawValue, "--text", w.text, "--tokenizer", o.out + "/" + name, "--ids", ids]) == 0)
        }
    }
}
