import BitGPT
import Foundation
import TestSupport
import Testing

/// Runs the built `lm-init`: it writes a valid model of the requested shape, refuses bad flags
/// with a usage error, and leaves nothing behind when it cannot write.
@Suite("lm-init")
struct LMInitTests {
    static func tool() throws -> String { try ToolRunner.path("lm-init") }

    @Test("writes a model that opens, verifies and has the requested shape and dtype", arguments: ["gpt2", "bitgpt", "llama"])
    func writesModel(arch: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("m.bgpt")
        let r = try ToolRunner.run(try Self.tool(), [path, "--arch", arch, "--dim", "32", "--n-layers", "2", "--n-heads", "4", "--dtype", "t1", "--context", "16"])
        #expect(r.status == 0)
        #expect(r.stdout == "" && r.stderr == "")
        #expect(dir.contents() == ["m.bgpt"])
        let f = try BGPTFile(path: path)
        try f.verify()
        #expect(try f.metadata.string("general.architecture") == arch)
        #expect(try f.metadata.int("model.dim") == 32 && f.metadata.int("model.n_layers") == 2)
        #expect(try f.metadata.string("tokenizer.kind") == "bytes")
        #expect(f.tensors.contains { $0.dtype == .t1 })
        for t in f.tensors { try f.view(t).validateCodes() }
        let config = try ModelConfig(metadata: f.metadata)
        try config.checkTensors(in: f)
    }

    @Test("nanoGPT's shape flags (--n-embd, --n-layer, --n-head, --n-kv-head, --block-size) are aliases: the same file")
    func shapeAliases() throws {
        let dir = try TemporaryDirectory()
        let a = dir.file("a.bgpt"), b = dir.file("b.bgpt")
        let common = ["--arch", "llama", "--dtype", "t2", "--seed", "3"]
        let r1 = try ToolRunner.run(try Self.tool(), [a, "--dim", "32", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--context", "16"] + common)
        let r2 = try ToolRunner.run(try Self.tool(), [b, "--n-embd", "32", "--n-layer", "2", "--n-head", "4", "--n-kv-head", "2", "--block-size", "16"] + common)
        #expect(r1.status == 0 && r2.status == 0, "\(r1.stderr) \(r2.stderr)")
        let fa = try BGPTFile(path: a), fb = try BGPTFile(path: b)
        #expect(try fb.metadata.int("model.n_kv_heads") == 2 && fb.metadata.int("model.context_length") == 16)
        // The files differ only in general.created: compare metadata without it, and every tensor.
        var ma = fa.metadata, mb = fb.metadata
        ma.remove("general.created"); mb.remove("general.created")
        #expect(ma == mb)
        #expect(fa.tensors.map(\.checksum) == fb.tensors.map(\.checksum))
    }

    @Test("a closed choice is parsed as an enum: a bad --arch names the choices, exit 1, nothing written")
    func badChoice() throws {
        let dir = try TemporaryDirectory()
        let r = try ToolRunner.run(try Self.tool(), [dir.file("m.bgpt"), "--arch", "gpt3"])
        #expect(r.status == 1)
        #expect(r.errorLines.first == "Error: The value 'gpt3' is invalid for '--arch <arch>'. Please provide one of 'gpt2', 'bitgpt' or 'llama'.")
        #expect(dir.contents().isEmpty)
    }

    @Test("a bad flag is a usage error (exit 1, as documented) and writes nothing")
    func badFlag() throws {
        let dir = try TemporaryDirectory()
        let r = try ToolRunner.run(try Self.tool(), [dir.file("m.bgpt"), "--dtype", "q4"])
        #expect(r.status == 1)
        #expect(r.errorLines.first == "Error: The value 'q4' is invalid for '--dtype <dtype>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'.")
        #expect(r.errorLines.count == 4, "the value list is joined into the error line: \(r.errorLines)")
        #expect(dir.contents().isEmpty)
    }

    @Test("--help lists the dtype choices and names the default, not its raw code")
    func dtypeHelp() throws {
        let r = try ToolRunner.run(try Self.tool(), ["--help"])
        #expect(r.status == 0)
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("(values: f32, f16, bf16, i8, t2, t1; default: t2)"), "\(help)")
        #expect(help.contains("(values: f32, f16, bf16, i8, t2, t1; default: f32)"), "\(help)")
    }

    @Test("an unwritable destination exits 1 with one Error line naming it")
    func unwritable() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("missing/m.bgpt")
        let r = try ToolRunner.run(try Self.tool(), [path, "--dim", "32", "--n-layers", "1", "--n-heads", "4"])
        #expect(r.status == 1)
        #expect(r.errorLines.count == 1)
        #expect(r.errorLines.first?.hasPrefix("Error: \(path): open(\(dir.path)/missing/.m.bgpt.tmp-") == true)
        #expect(r.errorLines.first?.hasSuffix(") failed: No such file or directory") == true)
    }
}
