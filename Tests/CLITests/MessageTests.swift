import BitGPT
import Foundation
import TestSupport
import Testing

/// Error messages are one line naming the right file with the reason (no Foundation dumps, no
/// doubled paths, the output named for output problems); every tool answers `--version`;
/// `lm-inspect --tensors` that matches nothing is an error.
@Suite("Messages")
struct MessageTests {
    @Test("one line with the file that is wrong and why")
    func messages() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let c = try dir.write("c.bin", Tools.llama2cCheckpoint())
        let text = try dir.write("text.pt", Array("hello\n".utf8))
        let missing = dir.file("missing/out.bgpt"), npy = dir.file("missing/x.npy"), nope = dir.file("nope.txt")
        let cases: [(String, [String], String)] = [
            ("lm-run", [m, "--max-new-tokens", "1", "--logits-out", npy], "Error: \(npy): open(\(dir.file("missing/.x.npy.tmp-"))"),
            ("lm-run", [m, "--prompt-file", nope], "Error: \(nope): cannot read --prompt-file: No such file or directory"),
            ("lm-tokenize", ["--tokenizer", "chars-of:\(nope)", "--text", "a"], "Error: \(nope): cannot read the file: No such file or directory"),
            ("lm-tokenize", ["--tokenizer", "bytes", "--batch", "--text", "notjson"], "Error: --batch input is not JSON: "),
            ("lm-convert", [text, dir.file("o.bgpt")], "Error: \(text): not a PyTorch ZIP checkpoint, safetensors file or llama2.c .bin"),
            ("lm-convert", [c, missing], "Error: \(missing): open(\(dir.file("missing/.out.bgpt.tmp-"))"),
            ("lm-quantize", [m, missing, "--to", "int8"], "Error: \(missing): open(\(dir.file("missing/.out.bgpt.tmp-"))"),
            ("lm-inspect", [m, "--tensors", "nomatch"], "Error: \(m): no tensor matches --tensors \"nomatch\""),
        ]
        for (tool, args, expected) in cases {
            let r = try Tools.run(tool, args)
            #expect(r.status == 1, "\(tool) \(args)")
            #expect(r.errorLines.count == 1, "\(tool) \(args): \(r.stderr)")
            #expect(r.errorLines.first?.hasPrefix(expected) == true, "\(tool) \(args): \(r.stderr)")
            #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Domain="), "\(tool) \(args)")
            #expect(r.stdout == "", "\(tool) \(args)")
        }
        #expect(try Tools.run("lm-inspect", [m, "--tensors", "ffn"]).status == 0)
    }

    @Test("--version prints the package version on every tool", arguments: [
        "lm-run", "lm-inspect", "lm-init", "lm-tokenize", "lm-convert", "lm-quantize", "lm-diff", "lm-bench", "lm-train",
        "lm-perplexity",
    ])
    func version(tool: String) throws {
        let r = try Tools.run(tool, ["--version"])
        #expect(r.status == 0)
        #expect(r.stdout == BitGPTVersion.string + "\n")
        #expect(r.stderr == "")
    }
}
