import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT
import TestSupport

@Suite("Token data and checkpoint files")
struct DataTests {
    @Test("char vocabulary is the sorted set of characters, split 90/10, cached as uint16 and reloaded identically")
    func charVocab() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        try "banana bread é!\nbanana".write(toFile: w.text, atomically: true, encoding: .utf8)
        let d = try TokenData.load(path: w.text, tokenizer: .char)
        #expect(d.itos == ["\n", " ", "!", "a", "b", "d", "e", "n", "r", "é"])
        let all = d.train + d.val
        #expect(all.count == 22 && d.train.count == 19)
        #expect(all.map { d.itos[Int($0)] }.joined() == "banana bread é!\nbanana")
        let bin = try #require(FileManager.default.contents(atPath: w.text + ".char/train.bin"))
        #expect(bin.count == 2 * 19 && bin[0] == 4 && bin[1] == 0)
        let again = try TokenData.load(path: w.text, tokenizer: .char)
        #expect(again.train == d.train && again.val == d.val && again.itos == d.itos)
        // An edited text is re-tokenized, not served from the stale cache.
        try "zz banana bread".write(toFile: w.text, atomically: true, encoding: .utf8)
        #expect(try TokenData.load(path: w.text, tokenizer: .char).itos.last == "z")
    }

    @Test("bytes tokenizer uses UTF-8 bytes with a 256-token vocabulary")
    func bytes() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        try "héllo wörld".write(toFile: w.text, atomically: true, encoding: .utf8)
        let d = try TokenData.load(path: w.text, tokenizer: .bytes)
        #expect(d.vocabSize == 256)
        #expect((d.train + d.val).map { UInt8($0) } == Array("héllo wörld".utf8))
    }

    @Test("random windows: targets are inputs shifted by one, from a stream fully determined by its state")
    func batches() {
        let config = TinyModel(arch: .gpt2, bitLinear: false).config
        let m = TrainModel(config: config, batch: 3, seed: 1)
        let split = (0..<50).map { UInt16($0 % 7) }
        var r = TrainRandom(state: 42)
        r.fillBatch(m, from: split)
        let T = m.blockSize
        for i in 0..<(3 * T) where i % T != T - 1 { #expect(m.targets[i] == m.inputs[i + 1]) }
        let first = (0..<(3 * T)).map { m.inputs[$0] }
        var r2 = TrainRandom(state: 42)
        r2.fillBatch(m, from: split)
        #expect((0..<(3 * T)).map { m.inputs[$0] } == first)
        #expect(r2 == r)
    }

    @Test("safetensors: 8-byte little-endian header length, JSON with dtype/shape/data_offsets and __metadata__, exact round trip")
    func safetensors() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let path = w.dir.appendingPathComponent("t.safetensors").path
        let a: [Float] = [1, -2.5, .pi, 0, 1e-30, -0.0], b: [Float] = [7]
        try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try Safetensors.write(path: path, tensors: [.init(name: "x.weight", shape: [2, 3], data: pa), .init(name: "y", shape: [1], data: pb)],
                                      metadata: ["k": "v"])
            }
        }
        let bytes = try #require(FileManager.default.contents(atPath: path))
        let n = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + n) % 8 == 0 && bytes.count == 8 + n + 28)
        let header = try #require(try JSONSerialization.jsonObject(with: bytes[8..<(8 + n)]) as? [String: Any])
        let x = try #require(header["x.weight"] as? [String: Any])
        #expect(x["dtype"] as? String == "F32" && x["shape"] as? [Int] == [2, 3] && x["data_offsets"] as? [Int] == [0, 24])
        #expect(header["__metadata__"] as? [String: String] == ["k": "v"])
        let f = try Safetensors.read(path: path)
        #expect(f.tensors["x.weight"]?.values.map(\.bitPattern) == a.map(\.bitPattern))
        #expect(f.tensors["y"]?.shape == [1] && f.metadata["k"] == "v")
        // Offsets that do not fit the shape are refused.
        var bad = bytes
        let s = String(decoding: bad[8..<(8 + n)], as: UTF8.self).replacingOccurrences(of: "[0,24]", with: "[0,20]")
        bad.replaceSubrange(8..<(8 + n), with: Array(s.utf8))
        try bad.write(to: URL(fileURLWithPath: path))
        do throws(TrainError) { _ = try Safetensors.read(path: path); Issue.record("accepted") } catch {
            #expect("\(error)".contains("data_offsets [0, 20) do not hold [2, 3] × F32 (24 bytes)"), "\(error)")
        }
    }

    /// A checkpoint whose one tensor claims shape [2³¹, 2³¹, 4]: 2⁶⁴ elements, which overflows
    /// `Int` (the trainer's old reader trapped on `shape.reduce(1, *)`).
    static func overflowingShapeCheckpoint() -> [UInt8] {
        var json = Array(#"{"wte":{"dtype":"F32","shape":[2147483648,2147483648,4],"data_offsets":[0,16]}}"#.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { [UInt8]($0) } + json + [UInt8](repeating: 0, count: 16)
    }

    static let overflowMessage = "bad safetensors file at byte 8: tensor \"wte\": overflow computing the size from shape and dtype"

    @Test("safetensors: a shape of [2³¹, 2³¹, 4] (2⁶⁴ elements) is an error, not a trap")
    func safetensorsShapeOverflow() throws {
        let w = try Workspace(textLength: 0)
        defer { w.cleanup() }
        let path = w.dir.appendingPathComponent("ckpt.safetensors").path
        try Data(Self.overflowingShapeCheckpoint()).write(to: URL(fileURLWithPath: path))
        do throws(TrainError) { _ = try Safetensors.read(path: path); Issue.record("accepted") } catch {
            #expect("\(error)" == "\(path): bad checkpoint: \(Self.overflowMessage)")
        }
    }

    @Test("lm-train --resume on a checkpoint with shape [2³¹, 2³¹, 4] exits 1 with one error line")
    func resumeOverflowingCheckpoint() throws {
        let tool = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let out = w.dir.appendingPathComponent("run").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(Self.overflowingShapeCheckpoint()).write(to: URL(fileURLWithPath: out + "/ckpt.safetensors"))
        let r = try ToolRunner.run(tool, tinyRunFlags(w, out, iters: 2) + ["--resume"])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(out)/ckpt.safetensors: bad checkpoint: \(Self.overflowMessage)\n")
    }
}

@Suite("Evaluation forward")
struct EvalForwardTests {
    @Test("logits of a prefix do not depend on later tokens (causality), and a checkpoint reloads to the same logits")
    func causalAndReload() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let trainer = try Trainer(options: w.options("run", arch: .gpt2, bitLinear: true, iters: 2))
        _ = try trainer.run()
        let m = trainer.model
        let V = m.config.vocabSize
        let a = try m.logits(tokens: [1, 2, 3, 4, 5, 6, 7, 0])
        let b = try m.logits(tokens: [1, 2, 3, 4])
        #expect(Array(a[0..<(4 * V)]) == b)
        let c = try m.logits(tokens: [1, 2, 3, 5, 5])
        #expect(Array(c[0..<(3 * V)]) == Array(b[0..<(3 * V)]) && Array(c[(3 * V)..<(4 * V)]) != Array(b[(3 * V)..<(4 * V)]))
        // The same batch shape: OpenBLAS may pick another kernel (another summation order) for
        // another number of rows, as it does on AVX2-only AMD EPYC.
        let reloaded = try TrainModel.load(checkpoint: w.dir.appendingPathComponent("run").path, batch: m.batch)
        #expect(try reloaded.logits(tokens: [1, 2, 3, 4]) == b)
        do throws(TrainError) { _ = try m.logits(tokens: [V]); Issue.record("accepted") } catch {
            #expect("\(error)".contains("outside the vocabulary"))
        }
    }

    @Test("lm-train reports a bad flag as one error line and exit status 1, writing nothing")
    func cliBadFlag() throws {
        let tool = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        let out = w.dir.appendingPathComponent("o").path
        p.arguments = ["--data", w.text, "--out", out, "--dropout", "0.2"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 1)
        #expect(text == "Error: --dropout 0.2 is not supported: this trainer implements dropout 0 only\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
