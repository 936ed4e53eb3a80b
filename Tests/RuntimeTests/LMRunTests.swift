import BitGPT
import Foundation
import Testing
import TestSupport

/// Runs the built `lm-run` and checks stdout, the one stderr line and the exit status.
@Suite("lm-run")
struct LMRunTests {
    /// Runs the built `lm-run` (a missing tool fails the test: ``ToolRunner/Missing``).
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try ToolRunner.run(try ToolRunner.path("lm-run"), args)
        return (r.status, r.stdout, r.stderr)
    }

    func demoModel(_ dir: String) throws -> String {
        let path = dir + "/demo.bgpt"
        let c = ModelConfig(architecture: .gpt2, vocabSize: 256, contextLength: 32, dim: 32, nLayers: 1, nHeads: 2)
        try RandomModel.write(config: c, to: path, linearType: .t2, seed: 1, extra: RandomModel.byteTokenizer)
        return path
    }

    @Test("greedy generation echoes the prompt and is reproducible; seeded sampling too")
    func generate() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try demoModel(dir)
        let a = try run([m, "--prompt", "Hi", "--max-new-tokens", "40", "--temperature", "0", "--num-samples", "1"])
        let b = try run([m, "--prompt", "Hi", "--max-new-tokens", "40", "--temperature", "0", "--num-samples", "1", "--threads", "1"])
        let c = try run([m, "--prompt", "Hi", "--max-new-tokens", "40", "--seed", "5"])
        let d = try run([m, "--prompt", "Hi", "--max-new-tokens", "40", "--seed", "5"])
        #expect(a.status == 0 && a.err.isEmpty)
        #expect(a.out.hasPrefix("Hi"))
        #expect(a.out == b.out)
        #expect(c.status == 0 && c.out == d.out)
        #expect(c.out.components(separatedBy: "---------------\n").count == 2)
    }

    @Test("--logits-out writes the prompt's logits as float32 .npy, with the F16 cache by default and F32 on request",
          arguments: [nil, KVCacheType.f16, .f32])
    func logitsOut(cacheType: KVCacheType?) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try demoModel(dir)
        let flag = cacheType.map { ["--cache-type", $0.rawValue] } ?? []
        let r = try run([m, "--prompt", "abc", "--max-new-tokens", "0", "--num-samples", "1", "--logits-out", dir + "/l.npy"] + flag)
        #expect(r.status == 0)
        let npy = try #require(NPYFile.readFloats(dir + "/l.npy"))
        #expect(npy.shape == [3, 256])
        let gen = try Generator(model: try Transformer(file: try BGPTFile(path: m)), pool: WorkerPool(threads: 1), kvType: cacheType ?? .f16)
        try gen.start(prompt: [97, 98, 99])
        #expect(Array(npy.values[512...]) == Array(UnsafeBufferPointer(start: gen.logits, count: 256)))
    }

    @Test("bad input: one clear line and a non-zero exit", arguments: [
        (["/nonexistent.bgpt"], "nonexistent"),
        (["MODEL", "--top-p", "2"], "--top-p"),
        (["MODEL", "--temperature", "-1"], "--temperature"),
        (["MODEL", "--threads", "0"], "--threads"),
        (["DAMAGED"], "DAMAGED"),
    ])
    func badInput(args: [String], mention: String) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try demoModel(dir)
        var bytes = try #require(FileManager.default.contents(atPath: m))
        bytes.removeLast(10)
        #expect(FileManager.default.createFile(atPath: dir + "/DAMAGED.bgpt", contents: bytes))
        let real = args.map { $0 == "MODEL" ? m : $0 == "DAMAGED" ? dir + "/DAMAGED.bgpt" : $0 }
        let r = try run(real)
        #expect(r.status != 0)
        #expect(r.out.isEmpty)
        #expect(r.err.contains("Error:") && r.err.contains(mention), "stderr: \(r.err)")
    }
}

/// `lm-run --beam-width`: candidates, refused sampling flags, timings.
@Suite("lm-run beam search")
struct LMRunBeamTests {
    let tool = LMRunTests()

    @Test("the best candidate is the same for any --num-candidates; width 1 has a real log-probability")
    func candidates() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try tool.demoModel(dir)
        let base = [m, "--prompt", "Hi", "--beam-width", "4", "--max-new-tokens", "12", "--threads", "1"]
        let three = try tool.run(base + ["--num-candidates", "3"])
        let six = try tool.run(base + ["--num-candidates", "6"])
        #expect(three.status == 0 && six.status == 0)
        let a = three.out.split(separator: "\n"), b = six.out.split(separator: "\n")
        #expect(a.count == 3 && b.count == 4)  // width 4 completes 4 candidates here (no eos in a byte vocabulary)
        #expect(a.first == b.first)
        let one = try tool.run([m, "--prompt", "Hi", "--beam-width", "1", "--max-new-tokens", "12"])
        #expect(one.status == 0 && one.out.hasPrefix("[1] logprob -"))
    }

    @Test("sampling flags are refused with --beam-width", arguments: [
        ["--num-samples", "2"], ["--temperature", "0"], ["--top-k", "5"], ["--seed", "3"],
    ])
    func refusesSampling(flag: [String]) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try tool.demoModel(dir)
        let r = try tool.run([m, "--beam-width", "2", "--max-new-tokens", "3"] + flag)
        #expect(r.status == 1)
        #expect(r.err == "Error: \(flag[0]) does not apply to beam search (--beam-width), which draws nothing\n")
        #expect(r.out.isEmpty)
    }

    @Test("--verbose prints the beam search's timing")
    func verbose() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try tool.demoModel(dir)
        let r = try tool.run([m, "--beam-width", "2", "--max-new-tokens", "3", "--verbose"])
        #expect(r.status == 0)
        #expect(r.err.contains("beam search: width 2, 2 candidates of up to 3 tokens in "))
    }
}
