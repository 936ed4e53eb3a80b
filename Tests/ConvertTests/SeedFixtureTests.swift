import BitGPT
import Foundation
import Testing
@testable import BitGPTConvert

/// The committed seed fixtures (`Fixtures/seeds`, written by `tools/make_seed_fixtures.py` with the
/// projects' own PyTorch code): BitGPT's float `gpt/` model and BabyGPT's `babygpt_trainer.py`
/// model convert and reproduce their PyTorch logits and greedy ids; BabyGPT's `llama_trainer.py`
/// model is refused with an error that names its quirk. Always present, so nothing skips.
@Suite("Seed fixtures (BitGPT gpt/, BabyGPT)")
struct SeedFixtureTests {
    static let root = TestFiles.fixtures + "/seeds"
    static let converting = ["bitgpt_float", "babygpt_main"]

    @Test("the committed seed fixtures are all there")
    func present() {
        #expect(ReferenceCase.cases(in: SeedFixtureTests.root) == ["babygpt_llama", "babygpt_main", "bitgpt_float"])
    }

    @Test("converts with the right layout, architecture keys and every tensor bit for bit", arguments: converting)
    func converts(name: String) throws {
        try ReferenceCase.checkConversion(SeedFixtureTests.root + "/" + name, out: TestFiles.tempDir() + "/\(name).bgpt")
    }

    @Test("reproduces the project's PyTorch logits and 50 greedy ids through the runtime", arguments: converting)
    func runtime(name: String) throws {
        try ReferenceCase.checkRuntime(SeedFixtureTests.root + "/" + name)
    }

    @Test("layouts are detected from the names, with the quirks as metadata")
    func detectedLayouts() throws {
        let float = try CheckpointMapper.plan(TorchCheckpoint(path: SeedFixtureTests.root + "/bitgpt_float/astrogpt.pt"))
        #expect(float.layout == .bitgptFloat)
        #expect(float.config.architecture == .gpt2 && float.config.activation == .relu && float.config.headBias && !float.config.tiedEmbeddings)
        #expect(float.config.blockRepeats == 1 && float.config.ffnActivationPosition == .hidden)
        let qkv = try #require(float.tensors.first { $0.spec.name == "blk.0.attn_qkv" })
        #expect(qkv.appended.count == 3 * float.config.nHeads - 1)
        #expect(qkv.source.name == "blocks.0.sa.heads.0.query.weight" && qkv.appended.last?.name == "blocks.0.sa.heads.3.value.weight")
        #expect(float.tensors.first { $0.spec.name == "blk.0.attn_qkv_bias" }?.values().allSatisfy { $0 == 0 } == true)

        let baby = try CheckpointMapper.plan(TorchCheckpoint(path: SeedFixtureTests.root + "/babygpt_main/model.pth"))
        #expect(baby.layout == .babygpt)
        let c = baby.config
        #expect(c.ffnActivationPosition == .output && c.activation == .gelu && c.blockRepeats == c.nLayers && c.scheduledLayers == 16)
        #expect(c.outputNormEps == 1e-12 && c.normEps == 1e-5 && !c.linearBias && c.headBias)
        #expect(baby.notes.contains { $0.contains("n_head = 4") })
        let m = c.metadata
        #expect(try m.string("model.ffn_activation_position") == "output")
        #expect(try m.int("model.block_repeats") == 4)
        #expect(try ModelConfig(metadata: m) == c)
    }

    @Test("BabyGPT llama_trainer.py is refused with a one-line error naming its double transpose")
    func llamaRefused() throws {
        let dir = SeedFixtureTests.root + "/babygpt_llama"
        let json = try ReferenceCase.json(dir)
        let source = try #require(json["source"] as? [String: Any])
        // The fixture writer measured the position mixing in PyTorch itself.
        #expect(try #require(source["prefix_logits_max_abs_diff"] as? Double) > 1e-3)
        let ck = try TorchCheckpoint(path: dir + "/" + (try #require(json["checkpoint"] as? String)))
        #expect(CheckpointLayout.detect(names: Set(ck.tensors.map { $0.name })) == .babygptLlama)
        let expected = try #require(json["expect_refusal"] as? String)
        do {
            _ = try CheckpointMapper.plan(ck)
            Issue.record("the llama_trainer.py checkpoint converted")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("the old bitgpt layout forced onto a float gpt/ checkpoint points to bitgpt-float")
    func forcedTernaryOnFloat() throws {
        let ck = try TorchCheckpoint(path: SeedFixtureTests.root + "/bitgpt_float/astrogpt.pt")
        #expect(throws: ConvertError.self) { try CheckpointMapper.plan(ck, layout: .bitgpt) }
        do { _ = try CheckpointMapper.plan(ck, layout: .bitgpt) } catch { #expect(error.description.contains("--arch bitgpt-float")) }
    }
}
