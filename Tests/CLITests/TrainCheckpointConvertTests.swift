import BitGPT
import Foundation
import TestSupport
import Testing

/// `lm-convert OUT/ckpt.safetensors x.bgpt` for lm-train's checkpoints of every family and
/// option, with no flags: config and tokenizer come from the checkpoint and its folder, and the
/// result equals lm-train's own export (tensors bit for bit; metadata but the creation time).
@Suite("lm-convert of lm-train checkpoints")
struct TrainCheckpointConvertTests {
    @Test("gpt and llama, with and without --bitlinear, char and bpe tokenizers", arguments: [
        ["--arch", "gpt2"], ["--arch", "gpt", "--bitlinear"], ["--arch", "llama"], ["--arch", "llama", "--bitlinear"],
        ["--arch", "llama", "--bitlinear", "--tokenizer", "bpe", "--vocab-size", "280"], ["--arch", "gpt", "--bias", "--tokenizer", "bytes"],
    ])
    func convertsLikeExport(options: [String]) throws {
        let dir = try TemporaryDirectory()
        let words = ["the", "king", "and", "queen", "to", "be", "or", "not", "a", "fool"]
        var rng = SeededRandom(seed: 5)
        try dir.write("data.txt", Array((0..<2000).map { _ in words[Int(rng.next() % 10)] }.joined(separator: " ").utf8))
        let out = dir.file("out")
        let train = try Tools.run("lm-train", ["--data", dir.file("data.txt"), "--out", out, "--n-layer", "1", "--n-embd", "32", "--n-head", "2",
                                               "--block-size", "16", "--batch-size", "2", "--max-iters", "2", "--eval-iters", "1",
                                               "--eval-interval", "2", "--warmup-iters", "1"] + options)
        #expect(train.status == 0, "\(train.stderr)")
        let converted = dir.file("x.bgpt")
        let convert = try Tools.run("lm-convert", [out + "/ckpt.safetensors", converted])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stdout.hasPrefix("wrote \(converted): lm-train checkpoint"))

        let diff = try Tools.run("lm-diff", [out + "/model.bgpt", converted, "--json", "--tolerance", "0"])
        #expect(diff.status == 0, "\(diff.stdout)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])
        let metadata = try #require(json["metadata"] as? [[String: Any]])
        #expect(metadata.allSatisfy { $0["key"] as? String == "general.created" })
        #expect((json["only_in_a"] as? [String])?.isEmpty == true && (json["only_in_b"] as? [String])?.isEmpty == true)
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(!tensors.isEmpty)
        for t in tensors {
            #expect(t["dtype_a"] as? String == t["dtype_b"] as? String)
            #expect(t["max_abs"] as? Double == 0, "\(t["name"] ?? "")")
        }
        // The converted model runs.
        let run = try Tools.run("lm-run", [converted, "-n", "4", "--num-samples", "1", "-p", "the"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("conversion flags are refused for an lm-train checkpoint; a missing tokenizer file is named")
    func refusals() throws {
        let dir = try TemporaryDirectory()
        try dir.write("data.txt", Array(String(repeating: "to be or not to be ", count: 200).utf8))
        let out = dir.file("out")
        let train = try Tools.run("lm-train", ["--data", dir.file("data.txt"), "--out", out, "--arch", "llama", "--n-layer", "1", "--n-embd", "32",
                                               "--n-head", "2", "--block-size", "16", "--batch-size", "2", "--max-iters", "1", "--eval-iters", "1",
                                               "--eval-interval", "1", "--warmup-iters", "1", "--tokenizer", "bpe", "--vocab-size", "270"])
        #expect(train.status == 0, "\(train.stderr)")
        let ckpt = out + "/ckpt.safetensors"
        let flag = try Tools.run("lm-convert", [ckpt, dir.file("x.bgpt"), "--n-heads", "2"])
        #expect(flag.status == 1)
        #expect(flag.errorLines == ["Error: \(ckpt): an lm-train checkpoint records its config and tokenizer; --n-heads does not apply"])
        try FileManager.default.removeItem(atPath: out + "/tokenizer.json")
        let missing = try Tools.run("lm-convert", [ckpt, dir.file("x.bgpt")])
        #expect(missing.status == 1)
        #expect(missing.errorLines == ["Error: \(ckpt): bad checkpoint: its bpe tokenizer file (tokenizer.json, .tiktoken or .model) is not in \(out)"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.bgpt")))
    }

    @Test("lm-train's DATA.char/meta.json is accepted as a tokenizer; no tokenizer at all gets a warning")
    func metaJSONAndWarning() throws {
        let dir = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let checkpoint = root + "/Tests/ConvertTests/Fixtures/nanogpt_tiny.pt"   // vocab 10
        // What lm-train writes beside its data (DATA.char/meta.json).
        try dir.write("meta.json", Array(#"{"itos":["\n"," ","a","b","e","o","r","t"],"source_bytes":9,"tokenizer":"char","vocab_size":8}"#.utf8))
        let with = try Tools.run("lm-convert", [checkpoint, dir.file("a.bgpt"), "--tokenizer", dir.file("meta.json")])
        #expect(with.status == 0, "\(with.stderr)")
        #expect(with.stderr == "")
        let run = try Tools.run("lm-run", [dir.file("a.bgpt"), "-p", "to be", "-n", "3", "--num-samples", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("to be"))

        let without = try Tools.run("lm-convert", [checkpoint, dir.file("b.bgpt")])
        #expect(without.status == 0)
        #expect(without.errorLines == ["warning: \(dir.file("b.bgpt")) has no tokenizer, so lm-run cannot run it; give --tokenizer "
                                       + "(meta.pkl, meta.json, .model, tokenizer.json, encoder.json,vocab.bpe, .tiktoken or a .bgpt)"])

        try dir.write("meta.json", Array(#"{"itos":["a"],"tokenizer":"bpe"}"#.utf8))
        let bad = try Tools.run("lm-convert", [checkpoint, dir.file("c.bgpt"), "--tokenizer", dir.file("meta.json")])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("not lm-train's char meta.json"))
    }
}
