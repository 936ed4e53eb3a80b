import BitGPT
import Foundation
import Testing

/// The optional architecture keys for BabyGPT-style models (`model.ffn_activation_position`,
/// `model.block_repeats`, `model.output_norm_eps`): defaults, round trips, hostile values, and the
/// KV cache they size. Their numbers are checked against NumPy by ``ParityTests``.
@Suite("Block schedule and FFN activation position metadata")
struct BlockScheduleTests {
    static func babyLike() -> ModelConfig {
        var c = Family.tiny(.gpt2)
        c.ffnActivationPosition = .output
        c.blockRepeats = 3
        c.outputNormEps = 1e-12
        return c
    }

    @Test("defaults write none of the keys, so existing files keep their bytes")
    func defaultsWriteNothing() {
        let m = Family.tiny(.gpt2).metadata
        for k in ["model.ffn_activation_position", "model.block_repeats", "model.output_norm_eps"] { #expect(!m.contains(k), "\(k)") }
        var same = Family.tiny(.gpt2)
        same.outputNormEps = same.normEps
        #expect(!same.metadata.contains("model.output_norm_eps"))
    }

    @Test("set keys round-trip and drive the schedule")
    func roundTrip() throws {
        let c = BlockScheduleTests.babyLike()
        let back = try ModelConfig(metadata: c.metadata)
        #expect(back.ffnActivationPosition == .output && back.blockRepeats == 3 && back.outputNormEps == 1e-12)
        #expect(back.scheduledLayers == 3 * c.nLayers && back.finalNormEps == 1e-12 && back.normEps == 1e-5)
        // One KV cache layer per block application.
        let plain = RunState.byteCount(config: Family.tiny(.gpt2), maxTokens: 1)
        let repeated = RunState.byteCount(config: c, maxTokens: 1)
        let cachePerLayer = 2 * c.contextLength * c.dim * 4
        #expect(repeated - plain == 2 * c.nLayers * cachePerLayer)
    }

    @Test("hostile or contradictory values are refused with the key named",
          arguments: [("model.block_repeats", MetadataValue.uint32(0)), ("model.block_repeats", .uint32(5000)),
                      ("model.ffn_activation_position", .string("middle")), ("model.output_norm_eps", .float32(-1))])
    func hostile(key: String, value: MetadataValue) {
        var m = BlockScheduleTests.babyLike().metadata
        m.set(key, value)
        #expect { try ModelConfig(metadata: m) } throws: { ($0 as? FormatError).map { "\($0)".contains(key) } ?? false }
    }

    @Test("the depth cap counts block applications, and SwiGLU cannot take the output position")
    func contradictions() {
        var deep = Family.tiny(.gpt2)
        deep.nLayers = 8
        deep.blockRepeats = 1000
        #expect(throws: FormatError.self) { try ModelConfig(metadata: deep.metadata) }
        var swiglu = Family.tiny(.llama)
        swiglu.ffnActivationPosition = .output
        #expect(throws: FormatError.self) { try ModelConfig(metadata: swiglu.metadata) }
    }
}
