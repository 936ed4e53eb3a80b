import Foundation
import TestSupport
import Testing

/// Bad input exits 1, the status every tool's `--help` documents, whether the argument parser
/// or the tool's own checks catch it; negative numbers are read as values, not as flags.
@Suite("Exit codes for bad input")
struct ExitCodeTests {
    /// A tool run with `MODEL` and `OTHER` (two different tiny models), `CKPT` (a llama2.c
    /// checkpoint) and `OUT` (a new path) filled in.
    static let cases: [(tool: String, args: [String], error: String)] = [
        ("lm-run", ["MODEL", "--threads", "-1"], "Error: --threads: thread count -1 is out of range 1...1024"),
        ("lm-run", ["MODEL", "--threads=-1"], "Error: --threads: thread count -1 is out of range 1...1024"),
        ("lm-run", ["MODEL", "--max-new-tokens", "-3"], "Error: --max-new-tokens must not be negative"),
        ("lm-run", ["MODEL", "--seed=-1"], "Error: The value '-1' is invalid for '--seed <seed>'"),
        ("lm-run", ["MODEL", "--seed", "-1"], "Error: The value '-1' is invalid for '--seed <seed>'"),
        ("lm-run", ["MODEL", "--no-such-flag"], "Error: Unknown option '--no-such-flag'"),
        ("lm-run", ["MODEL", "--threads"], "Error: Missing value for '--threads <threads>'"),
        ("lm-init", ["OUT", "--dim", "0"], "Error: sizes must be positive and --n-heads must divide --dim"),
        ("lm-init", ["OUT", "--dim", "-8"], "Error: sizes must be positive and --n-heads must divide --dim"),
        ("lm-diff", ["MODEL", "OTHER", "--tolerance=-1"], "Error: --tolerance must be a non-negative number"),
        ("lm-diff", ["MODEL", "OTHER", "--tolerance", "-1"], "Error: --tolerance must be a non-negative number"),
        ("lm-quantize", ["MODEL", "--to", "foo", "--dry-run"], "Error: The value 'foo' is invalid for '--to <to>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'."),
        ("lm-quantize", ["MODEL", "--to", "int8"], "Error: give an output path, --in-place, or --dry-run"),
        ("lm-quantize", ["MODEL", "--to", "t2", "--dry-run", "--ternary-scale", "max"],
         "Error: The value 'max' is invalid for '--ternary-scale <ternary-scale>'. Please provide one of 'auto', 'absmean' or 'lsq'."),
        ("lm-convert", ["CKPT", "OUT", "--ternary-scale", "max"], "Error: The value 'max' is invalid for '--ternary-scale <ternary-scale>'. Please provide one of 'auto', 'absmean' or 'lsq'."),
        // Six or more choices: swift-argument-parser's bulleted list is joined into the one error line.
        ("lm-convert", ["CKPT", "OUT", "--arch", "gpt"], "Error: The value 'gpt' is invalid for '--arch <arch>'. Please provide one of "
         + "'nanogpt', 'bitgpt', 'bitgpt-float', 'babygpt', 'babygpt-llama', 'lillm', 'lightgpt' or 'llama2c'."),
        ("lm-convert", ["CKPT", "OUT", "--dtype", "q4"], "Error: The value 'q4' is invalid for '--dtype <dtype>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'."),
        ("lm-perplexity", ["MODEL", "--file", "OUT", "--context", "1"], "Error: --context must be at least 2"),
        ("lm-perplexity", ["MODEL", "--file", "OUT", "--threads", "-1"], "Error: --threads: thread count -1 is out of range 1...1024"),
        ("lm-inspect", [], "Error: Missing expected argument '<model>'"),
        ("lm-convert", ["CKPT", "OUT", "--n-heads", "-2"], "Error: CKPT: -2 heads do not divide dim 16"),
        ("lm-tokenize", ["--tokenizer", "bytes", "--decode", "--text", "x"], "Error: \"x\" is not a token id"),
        ("lm-bench", ["--runs", "-1"], "Error: need thread counts ≥ 1, token counts and depths ≥ 0 (at least one test), --repetitions ≥ 1"),
    ]

    @Test("every bad-input exit is 1, with the error on the first stderr line")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt"), other = dir.file("other.bgpt")
        try Tools.tinyModel(m)
        #expect(try Tools.run("lm-init", [other, "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--context", "32", "--seed", "8"]).status == 0)
        let ckpt = try dir.write("c.bin", Tools.llama2cCheckpoint())
        for c in Self.cases {
            let args = c.args.map { $0 == "MODEL" ? m : $0 == "OTHER" ? other : $0 == "CKPT" ? ckpt : $0 == "OUT" ? dir.file("out.bgpt") : $0 }
            let r = try Tools.run(c.tool, args)
            #expect(r.status == 1, "\(c.tool) \(c.args): \(r.stderr)")
            let expected = c.error.replacingOccurrences(of: "CKPT", with: ckpt)
            #expect(r.errorLines.first?.hasPrefix(expected) == true, "\(c.tool) \(c.args): \(r.stderr)")
            #expect(!r.stderr.contains("Missing value") || c.args.last == "--threads", "\(c.tool) \(c.args)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.bgpt")))
    }

    @Test("other documented codes stay: 2 for lm-diff over --tolerance, 0 for --help")
    func otherCodes() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt"), other = dir.file("other.bgpt")
        try Tools.tinyModel(m)
        #expect(try Tools.run("lm-init", [other, "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--context", "32", "--seed", "8"]).status == 0)
        let d = try Tools.run("lm-diff", [m, other, "--tolerance", "0"])
        #expect(d.status == 2)
        let h = try Tools.run("lm-run", ["--help"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("USAGE: lm-run"))
        #expect(h.stderr == "")
    }
}
