import BitGPT
import BitGPTConvert
import Foundation
import Testing
import TestSupport
@testable import BitGPTTrain

/// `lm-train --init-from` with the tokenizers issue 18 left out at first: a model whose tokenizer
/// is SentencePiece, and checkpoints that carry no tokenizer (`--tokenizer-file`).
@Suite("lm-train --init-from tokenizers", .serialized)
struct InitFromTokenizerTests {
    /// Flags of a short fine-tuning run whose val loss is printed at iterations 0 and 8.
    static let shortRun = ["--max-iters", "8", "--batch-size", "4", "--eval-interval", "8", "--eval-iters", "2", "--warmup-iters", "1",
                           "--lr", "1e-2", "--checkpoint-interval", "0"]

    /// A SentencePiece `.model` of `vocab` pieces trained on ``subwordText(_:)``, written to `dir/name`.
    static func sentencePieceModel(_ dir: URL, _ name: String, vocab: Int) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(SentencePieceTrainer.train(text: subwordText(6000), vocabSize: vocab)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A llama2.c `.bin` (dim 32, 2 heads, 1 kv head, 1 layer, context 16) with random weights
    /// (seeded) and `vocab` token rows, written to `dir/name`.
    static func llama2cModel(_ dir: URL, _ name: String, vocab: Int) throws -> String {
        var rng = SeededRandom(seed: 31)
        let embedding = (0..<(vocab * 32)).map { _ in rng.normal(std: 0.1) }
        let bytes = Llama2cBinWriter.v0(dim: 32, hidden: 64, layers: 1, heads: 2, kvHeads: 1, vocab: vocab, seqLen: 16, embedding: embedding) { n in
            (0..<n).map { _ in rng.normal(std: 0.05) }
        }
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `executable arguments` run in the directory `cwd`.
    static func run(in cwd: String, _ executable: String, _ arguments: [String]) throws -> ToolRunner.Result {
        try ToolRunner.run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", cwd, executable] + arguments)
    }

    @Test("a SentencePiece model fine-tunes on other text: its embedded model becomes OUT/tokenizer.model, the loss falls, --resume continues")
    func sentencePieceModel() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        try subwordText(6000).write(toFile: w.text, atomically: true, encoding: .utf8)
        var o = w.options("base", bitLinear: false, iters: 4)
        o.tokenizer = .sentencepiece
        o.vocabSize = 320
        o.nEmbd = 32
        let base = try Trainer(options: o).run().export
        let embedded = try TokenizerSection(metadata: BGPTFile(path: base).metadata)
        #expect(embedded.kind == .sentencepiece)

        let text = try InitFromTests.text(w)
        let out = w.dir.appendingPathComponent("ft").path
        let r = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", base] + Self.shortRun)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("vocab 320,") && r.stdout.contains("fine-tuning \(base) (its shape, its sentencepiece tokenizer)"), "\(r.stdout)")
        let v = InitFromTests.valLosses(r.stdout)
        #expect(v.count == 2 && v[1] < v[0], "\(v)")
        // The run's tokenizer file is the model proto the .bgpt embeds, byte for byte, and the export carries it on.
        #expect([UInt8](contents(out + "/tokenizer.model")) == embedded.sentencePieceModel)
        let exported = try TokenizerSection(metadata: BGPTFile(path: out + "/model.bgpt").metadata)
        #expect(exported.kind == .sentencepiece && exported.tokens == embedded.tokens)
        // Its checkpoint records the sentencepiece tokenizer, so --resume (through OUT/tokenizer.model) continues.
        let resumed = try ToolRunner.run(lm, ["--data", text, "--out", out, "--resume", "--max-iters", "9", "--batch-size", "4",
                                              "--eval-interval", "8", "--eval-iters", "2", "--warmup-iters", "1", "--lr", "1e-2"])
        #expect(resumed.status == 0 && resumed.stdout.contains("done: 9 iterations"), "\(resumed.stderr)")

        // A model with its own tokenizer refuses --tokenizer-file.
        let spm = w.dir.appendingPathComponent("base/tokenizer.model").path
        let e = try ToolRunner.run(lm, ["--data", text, "--out", w.dir.appendingPathComponent("refused").path, "--init-from", base,
                                        "--tokenizer-file", spm])
        #expect(e.status == 1 && e.errorLines == ["Error: --init-from \(base): the model has its own sentencepiece tokenizer; drop --tokenizer-file \(spm) (it is for checkpoints without one)"],
                "\(e.stderr)")
    }

    @Test("a llama2.c .bin fine-tunes with --tokenizer-file (a SentencePiece .model); without one, or with one of the wrong size: one line")
    func llama2cWithTokenizerFile() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let bin = try Self.llama2cModel(w.dir, "model.bin", vocab: 300)
        let tok = try Self.sentencePieceModel(w.dir, "tok.model", vocab: 300)
        let text = try InitFromTests.text(w)
        let out = w.dir.appendingPathComponent("ft").path
        let r = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", bin, "--tokenizer-file", tok] + Self.shortRun)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.first?.hasPrefix("llama: ") == true && r.stdout.contains("vocab 300,"), "\(r.stdout)")
        #expect(r.stdout.contains("fine-tuning \(bin) (its shape, the sentencepiece tokenizer of \(tok))"), "\(r.stdout)")
        let v = InitFromTests.valLosses(r.stdout)
        #expect(v.count == 2 && v[1] < v[0], "\(v)")
        #expect(contents(out + "/tokenizer.model") == contents(tok))
        let exported = try BGPTFile(path: out + "/model.bgpt")
        #expect(try TokenizerSection(metadata: exported.metadata).kind == .sentencepiece)

        let refused = w.dir.appendingPathComponent("refused").path
        let none = try ToolRunner.run(lm, ["--data", text, "--out", refused, "--init-from", bin])
        #expect(none.status == 1 && none.errorLines == ["Error: --init-from \(bin): the model has no tokenizer; give its tokenizer with --tokenizer-file "
                                                         + "(SentencePiece .model, tokenizer.json, .tiktoken, nanoGPT meta.pkl or lm-train meta.json)"], "\(none.stderr)")
        let wrong = try Self.sentencePieceModel(w.dir, "wrong.model", vocab: 320)
        let mismatch = try ToolRunner.run(lm, ["--data", text, "--out", refused, "--init-from", bin, "--tokenizer-file", wrong])
        #expect(mismatch.status == 1 && mismatch.errorLines == ["Error: --init-from \(bin): the model has 300 token rows, --tokenizer-file \(wrong) has 320 tokens"],
                "\(mismatch.stderr)")
        let json = w.dir.appendingPathComponent("tokenizer.json").path
        let section = try BPETrainer.train(text: subwordText(3000), vocabSize: 280)
        try Data(BPETrainer.huggingFaceJSON(section)).write(to: URL(fileURLWithPath: json))
        let bpe = try ToolRunner.run(lm, ["--data", text, "--out", refused, "--init-from", bin, "--tokenizer-file", json])
        #expect(bpe.status == 1 && bpe.errorLines == ["Error: --init-from \(bin): the model has 300 token rows, --tokenizer-file \(json) has \(section.tokens.count) tokens"],
                "\(bpe.stderr)")
        let vocab = try ToolRunner.run(lm, ["--data", text, "--out", refused, "--init-from", bin, "--vocab-size", "300"])
        #expect(vocab.status == 1 && vocab.errorLines == ["Error: --init-from takes the vocabulary from the model; drop --vocab-size"], "\(vocab.stderr)")

        // The same model converted with its tokenizer (lm-convert MODEL.bin --tokenizer tok.model) carries it in the .bgpt.
        var options = Converter.Options()
        options.tokenizer = tok
        let converted = w.dir.appendingPathComponent("converted.bgpt").path
        _ = try Converter.convert(input: bin, output: converted, options: options)
        var o = w.options("converted", iters: 0)
        o.data = text
        o.initFrom = converted
        o.batchSize = 2; o.gradAccum = 1
        let t = try Trainer(options: o)
        let pieces = try SentencePieceTokenizer(path: tok).pieces
        #expect(t.data.tokenizer == .sentencepiece && t.data.itos == pieces)
        #expect(try SubwordTokenizer.load(kind: .sentencepiece, file: o.out + "/tokenizer.model").itos == t.data.itos)
    }

    @Test("a nanoGPT ckpt.pt without meta.pkl takes --tokenizer-file meta.pkl (lm-convert's reader) as its char vocabulary")
    func nanoGPTWithMetaPickle() throws {
        let lm = try LiveRun.lmTrain()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ConvertTests/Fixtures").path
        let ckpt = fixtures + "/nanogpt_tiny.pt", meta = fixtures + "/nanogpt_tiny.meta.pkl"
        let w = try Workspace()
        defer { w.cleanup() }
        let text = w.dir.appendingPathComponent("hello.txt").path
        try String(repeating: "hello world!\n", count: 100).write(toFile: text, atomically: true, encoding: .utf8)
        let refused = try ToolRunner.run(lm, ["--data", text, "--out", w.dir.appendingPathComponent("refused").path, "--init-from", ckpt])
        #expect(refused.status == 1 && refused.errorLines.first?.hasPrefix("Error: --init-from \(ckpt): the model has no tokenizer; give its tokenizer with --tokenizer-file") == true,
                "\(refused.stderr)")
        let out = w.dir.appendingPathComponent("ft").path
        let r = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", ckpt, "--tokenizer-file", meta] + Self.shortRun)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.first?.hasPrefix("gpt2: ") == true && r.stdout.contains("vocab 10,"), "\(r.stdout)")
        #expect(r.stdout.contains("fine-tuning \(ckpt) (its shape, the char tokenizer of \(meta))"), "\(r.stdout)")
        let exported = try TokenizerSection(metadata: BGPTFile(path: out + "/model.bgpt").metadata)
        #expect(exported.kind == .char && exported.tokens == ["\n", " ", "!", "d", "e", "h", "l", "o", "r", "w"])
    }

    @Test("a LoRA run records its base and tokenizer file as absolute paths: started with relative ones, it resumes from another directory")
    func loraResumeFromAnotherDirectory() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Self.llama2cModel(w.dir, "model.bin", vocab: 300)
        _ = try Self.sentencePieceModel(w.dir, "tok.model", vocab: 300)
        _ = try InitFromTests.text(w)
        let flags = ["--data", "words.txt", "--out", "lora", "--init-from", "./model.bin", "--tokenizer-file", "tok.model", "--lora-rank", "2",
                     "--max-iters", "2", "--batch-size", "2", "--eval-interval", "2", "--eval-iters", "1", "--warmup-iters", "1"]
        let r = try Self.run(in: w.dir.path, lm, flags)
        #expect(r.status == 0, "\(r.stderr)")
        let dir = w.dir.resolvingSymlinksInPath().path
        let adapter = try Safetensors.read(path: w.dir.appendingPathComponent("lora/adapter.safetensors").path)
        #expect(adapter.metadata["bitgpt.init_from"] == dir + "/model.bin", "\(adapter.metadata)")
        #expect(adapter.metadata["bitgpt.tokenizer_file"] == dir + "/tok.model", "\(adapter.metadata)")
        let resumed = try Self.run(in: "/", lm, ["--data", dir + "/words.txt", "--out", dir + "/lora", "--resume", "--max-iters", "3",
                                                 "--batch-size", "2", "--eval-interval", "2", "--eval-iters", "1", "--warmup-iters", "1"])
        #expect(resumed.status == 0 && resumed.stdout.contains("done: 3 iterations"), "\(resumed.stderr)")
    }
}
