import BitGPT
import Foundation
import TestSupport
import Testing

/// `lm-perplexity`: the window plan, the perplexity and KL divergence against the independent NumPy
/// computation (`tools/perplexity_reference.py` over `tools/reference.py`), and one-line errors.
@Suite("lm-perplexity")
struct LMPerplexityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// python3 with numpy, for the NumPy reference (`tools/perplexity_reference.py`).
    static let numpy = Requirement("python3 with numpy (pip install -r tools/requirements.txt)", isMet: Requirement.python(["numpy"]))

    static func tool() throws -> String {
        try ToolRunner.path("lm-perplexity")
    }

    /// A random model with the byte tokenizer (or `tokenizer`), weights N(0, 0.5) so the distributions are not flat.
    static func model(_ path: String, _ arch: Architecture, dtype: DType, vocab: Int = 256, context: Int = 24,
                      tokenizer: Metadata = RandomModel.byteTokenizer) throws {
        let c = ModelConfig(architecture: arch, vocabSize: vocab, contextLength: context, dim: 32, nLayers: 2, nHeads: 2)
        try RandomModel.write(config: c, to: path, linearType: dtype, seed: 15, extra: tokenizer, std: 0.5)
    }

    /// `n` bytes of seeded lower-case text with spaces and newlines.
    static func text(_ n: Int, seed: UInt64) -> String {
        var rng = SeededRandom(seed: seed)
        let alphabet = Array("abcdefghij klmno\nthe ")
        return String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    @Test("the window plan scores every token but the first exactly once, with full windows",
          arguments: [(100, 16, 8), (100, 16, 5), (100, 16, 15), (16, 16, 3), (17, 16, 1), (101, 2, 1), (50, 7, 6)])
    func plan(count: Int, window: Int, stride: Int) {
        let p = PerplexityWindow.plan(count: count, window: window, stride: stride)
        var scored: [Int] = []
        for w in p {
            #expect(w.length == window && w.begin >= 0 && w.begin + w.length <= count)
            #expect(w.firstTarget > w.begin)
            // At least window − stride tokens of context for every target after the first window.
            if w.begin > 0 { #expect(w.firstTarget - w.begin >= window - stride) }
            scored += Array(w.targets)
        }
        #expect(scored == Array(1..<count))
        #expect(p.last.map { $0.begin + $0.length } == count)
    }

    @Test("perplexity, KL divergence and top-1 agreement match the NumPy reference",
          .requires(numpy), arguments: [Architecture.llama, .gpt2])
    func matchesNumPy(arch: Architecture) throws {
        try Self.numpy.check()
        let dir = try TemporaryDirectory()
        try Self.model(dir.file("t2.bgpt"), arch, dtype: .t2)
        try Self.model(dir.file("f32.bgpt"), arch, dtype: .f32)
        let text = Self.text(150, seed: 42)
        try dir.write("text.txt", Array(text.utf8))
        try dir.write("ids.txt", Array(text.utf8.map { String($0) }.joined(separator: " ").utf8))
        let r = try ToolRunner.run(try Self.tool(), [dir.file("t2.bgpt"), "--file", dir.file("text.txt"), "--kl-divergence", dir.file("f32.bgpt"),
                                                     "--context", "16", "--stride", "5", "--json", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let swift = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let ref = try #require(swift["reference"] as? [String: Any])

        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", Self.root.appendingPathComponent("tools/perplexity_reference.py").path, dir.file("t2.bgpt"),
                        "--tokens-file", dir.file("ids.txt"), "--window", "16", "--stride", "5", "--reference", dir.file("f32.bgpt")]
        let out = Pipe()
        py.standardOutput = out
        try py.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        py.waitUntilExit()
        #expect(py.terminationStatus == 0)
        let numpy = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])

        func num(_ o: [String: Any], _ k: String) -> Double { (o[k] as? NSNumber)?.doubleValue ?? .nan }
        #expect(swift["scored"] as? Int == 149 && numpy["scored"] as? Int == 149)
        #expect(swift["windows"] as? Int == numpy["windows"] as? Int)
        #expect(abs(num(swift, "perplexity") / num(numpy, "perplexity") - 1) < 1e-5)
        #expect(abs(num(ref, "perplexity") / num(numpy, "ref_perplexity") - 1) < 1e-5)
        #expect(abs(num(ref, "kl_mean") - num(numpy, "kl_mean")) <= 1e-4 * num(numpy, "kl_mean") + 1e-7)
        #expect(abs(num(ref, "kl_p99") - num(numpy, "kl_p99")) <= 1e-4 * num(numpy, "kl_p99") + 1e-7)
        #expect(ref["top1_agree"] as? Int == numpy["top1_agree"] as? Int)
        // Ternary against float is a different function: the comparison must see it.
        #expect(num(ref, "kl_mean") > 1e-3 && num(swift, "perplexity") > 1)
    }

    @Test("a model against itself: KL 0, full agreement, equal perplexity; the text report says so")
    func selfComparison() throws {
        let dir = try TemporaryDirectory()
        try Self.model(dir.file("m.bgpt"), .llama, dtype: .t2)
        try dir.write("text.txt", Array(Self.text(60, seed: 1).utf8))
        let r = try ToolRunner.run(try Self.tool(), [dir.file("m.bgpt"), "-f", dir.file("text.txt"), "--kl-divergence", dir.file("m.bgpt")])
        #expect(r.status == 0)
        #expect(r.lines.count == 7)
        #expect(r.lines[1].hasSuffix("60 tokens; 4 window(s) of 24 tokens, stride 12; 59 tokens scored"))
        #expect(r.lines[3].contains("difference +0.0000 (+0.00%)"))
        #expect(r.lines[4] == "KL divergence (reference ‖ model): mean 0.000000, p99 0.000000 nats/token")
        #expect(r.lines[5] == "top-1 agreement: 100.00% (59 of 59)")
    }

    @Test("bad input is one line and exit 1: short text, unencodable text, another vocabulary, invalid UTF-8")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        try Self.model(dir.file("m.bgpt"), .llama, dtype: .f32)
        try Self.model(dir.file("v300.bgpt"), .llama, dtype: .f32, vocab: 300)
        let chars = try TokenizerFiles.char(itos: ["a", "b", " "]).toMetadata()
        try Self.model(dir.file("c.bgpt"), .llama, dtype: .f32, vocab: 3, tokenizer: chars)
        try dir.write("short.txt", Array("hello".utf8))
        try dir.write("long.txt", Array(Self.text(100, seed: 2).utf8))
        try dir.write("bad.txt", [0x61, 0x62, 0xFF, 0x61])
        let cases: [([String], String)] = [
            ([dir.file("m.bgpt"), "-f", dir.file("short.txt")],
             "Error: \(dir.file("short.txt")): the text has 5 tokens, shorter than one window of 24; give a longer text or a smaller --context"),
            ([dir.file("c.bgpt"), "-f", dir.file("long.txt")], "Error: \(dir.file("long.txt")): the model's tokenizer cannot encode text: "),
            ([dir.file("m.bgpt"), "-f", dir.file("long.txt"), "--kl-divergence", dir.file("v300.bgpt")],
             "Error: \(dir.file("v300.bgpt")): the reference model has a vocabulary of 300 tokens, the model 256; KL divergence needs the same vocabulary"),
            ([dir.file("m.bgpt"), "-f", dir.file("bad.txt")], "Error: \(dir.file("bad.txt")): invalid UTF-8 at byte 2"),
            ([dir.file("m.bgpt"), "-f", dir.file("long.txt"), "--context", "25"],
             "Error: --context 25: a window must be 2 to 24 tokens (the context length)"),
            ([dir.file("m.bgpt"), "-f", dir.file("long.txt"), "--stride", "0"], "Error: --stride must be at least 1"),
            ([dir.file("m.bgpt"), "-f", dir.file("long.txt"), "--stride", "24"],
             "Error: --stride 24: it must be 1 to 23 (below the window of 24, so each scored token has one before it)"),
        ]
        for (args, message) in cases {
            let r = try ToolRunner.run(try Self.tool(), args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stdout.isEmpty)
            #expect(r.errorLines.first?.hasPrefix(message) == true, "\(r.stderr)")
            // ValidationError adds a usage hint after the line; every other error is the one line.
            if !message.contains("--stride must") { #expect(r.errorLines.count == 1, "\(r.stderr)") }
        }
    }
}
