import BitGPT
import Foundation
import Testing
import TestSupport

/// The models in `models/` load, verify, carry the architecture `models/README.md` describes, and
/// are trained: their loss on a Shakespeare passage is far below a uniform guess.
@Suite("shipped models")
struct ShippedModelTests {
    /// A passage of Romeo and Juliet (II.ii), in the corpus' spelling.
    static let passage = """
        ROMEO.
        But soft, what light through yonder window breaks?
        It is the east, and Juliet is the sun.
        Arise, fair sun, and kill the envious moon,
        Who is already sick and pale with grief,
        That thou her maid art far more fair than she.

        """

    static func open(_ name: String) throws -> (file: BGPTFile, model: Transformer, tokenizer: any Tokenizer) {
        let path = ReferenceHarness.root.appendingPathComponent("models/" + name).path
        let file = try BGPTFile(path: path)
        try file.verify()
        let model = try Transformer(file: file)
        let tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: model.config.vocabSize)
        return (file, model, tokenizer)
    }

    /// Mean next-token cross-entropy (nats) of `ids` under `model`, over the first context window.
    static func meanLoss(_ model: Transformer, _ ids: [Int]) throws -> Double {
        let ids = Array(ids.prefix(model.config.contextLength))
        let V = model.config.vocabSize
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1))
        var all = [Float](repeating: 0, count: ids.count * V)
        try all.withUnsafeMutableBufferPointer { b in _ = try gen.start(prompt: ids, allLogits: b.baseAddress) }
        var total = 0.0
        for t in 0..<(ids.count - 1) {
            let row = all[(t * V)..<((t + 1) * V)]
            let m = Double(row.max() ?? 0)
            let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            total += lse - Double(row[row.startIndex + ids[t + 1]])
        }
        return total / Double(ids.count - 1)
    }

    @Test("the char-level GPT-2 model: 4 layers, BitLinear T2, loss well under uniform")
    func charModel() throws {
        let (file, model, tok) = try Self.open("shakespeare-char-t2.bgpt")
        let c = model.config
        #expect(c.architecture == .gpt2 && c.bitLinear && c.nLayers == 4 && c.vocabSize == 84)
        #expect(try file.tensor("blk.0.attn_qkv").info.dtype == .t2)
        let ids = try tok.encode(Self.passage)
        #expect(try tok.decode(ids) == Self.passage)
        let loss = try Self.meanLoss(model, ids)
        print("shakespeare-char-t2: \(ids.count) tokens, mean loss \(loss) (uniform \(log(84.0)))")
        #expect(loss < 2.2)
    }

    @Test("the Llama model: RMSNorm, RoPE, SwiGLU, GQA, BitLinear T2, BPE 2048, loss well under uniform")
    func llamaModel() throws {
        let (file, model, tok) = try Self.open("shakespeare-bpe-llama-t2.bgpt")
        let c = model.config
        #expect(c.architecture == .llama && c.bitLinear)
        #expect(c.nHeads == 4 && c.nKVHeads == 2 && c.vocabSize == 2048)
        #expect(try file.metadata.string("model.norm") == "rmsnorm" && file.metadata.string("model.position") == "rope")
        #expect(try file.metadata.string("model.activation") == "swiglu")
        #expect(try file.metadata.string("tokenizer.kind") == "bpe")
        #expect(try file.tensor("blk.0.ffn_gate").info.dtype == .t2)
        let ids = try tok.encode(Self.passage)
        #expect(ids.count < Self.passage.utf8.count / 2)
        #expect(try tok.decode(ids) == Self.passage)
        let loss = try Self.meanLoss(model, ids)
        print("shakespeare-bpe-llama-t2: \(ids.count) tokens, mean loss \(loss) (uniform \(log(2048.0)))")
        #expect(loss < 5.0)
    }

    @Test("logits and 30 greedy tokens agree with the NumPy reference (tools/reference.py)", .requires(ReferenceHarness.numpy),
          arguments: ["shakespeare-char-t2.bgpt", "shakespeare-bpe-llama-t2.bgpt"])
    func parity(name: String) throws {
        try ReferenceHarness.numpy.check()
        let (_, model, tok) = try Self.open(name)
        let prompt = Array(try tok.encode(Self.passage).prefix(24))
        let V = model.config.vocabSize
        let gen = try Generator(model: model, pool: WorkerPool(threads: 2))
        var logits = [Float](repeating: 0, count: prompt.count * V)
        _ = try logits.withUnsafeMutableBufferPointer { try gen.start(prompt: prompt, allLogits: $0.baseAddress) }
        var greedy: [Int] = []
        var options = SamplingOptions()
        options.temperature = 0
        try gen.generate(maxNewTokens: 30, sampler: Sampler(vocabSize: V, options: options, seed: 0), stop: nil) { greedy.append($0) }

        let path = ReferenceHarness.root.appendingPathComponent("models/" + name).path
        let ref = try #require(ReferenceHarness.reference(model: path, tokens: prompt, greedy: 30))
        try #require(ref.logits.count == logits.count)
        var maxDiff: Float = 0, maxRef: Float = 0
        for i in 0..<logits.count {
            maxDiff = max(maxDiff, abs(logits[i] - ref.logits[i]))
            maxRef = max(maxRef, abs(ref.logits[i]))
        }
        print("parity \(name): max |Δlogit| \(maxDiff) (max |logit| \(maxRef))")
        #expect(maxDiff <= 1e-5 * max(maxRef, 1))
        #expect(greedy == ref.greedy)
    }
}
