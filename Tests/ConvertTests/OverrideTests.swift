import BitGPT
import Foundation
import Testing
@testable import BitGPTConvert

/// Hyper-parameters given on the command line, and half-precision sources.
@Suite("Overrides and F16 sources")
struct OverrideTests {
    /// A one-layer llama2.c-named model (D 4, 2 heads, V 3, hidden 8) with F16 tensors, backed by `storage`.
    static func source() -> (FakeSource, SourceFile) {
        let D = 4, F = 8, V = 3
        var specs: [(String, [Int])] = [("tok_embeddings.weight", [V, D])]
        for n in ["attention_norm.weight", "ffn_norm.weight"] { specs.append(("layers.0." + n, [D])) }
        for n in ["attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "attention.wo.weight"] { specs.append(("layers.0." + n, [D, D])) }
        specs += [("layers.0.feed_forward.w1.weight", [F, D]), ("layers.0.feed_forward.w3.weight", [F, D]), ("layers.0.feed_forward.w2.weight", [D, F]),
                  ("norm.weight", [D])]
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        var k = 0
        for (_, shape) in specs {
            let start = bytes.count
            for _ in 0..<shape.reduce(1, *) {
                k += 1
                let h = HalfPrecision.toF16(Float(k % 17) * 0.125 - 1)
                bytes += [UInt8(h & 0xFF), UInt8(h >> 8)]
            }
            ranges.append(start..<bytes.count)
        }
        let storage = SourceFile(copying: bytes)
        let tensors = zip(specs, ranges).map { s, r in
            SourceTensor(name: s.0, shape: s.1, dtype: .f16, bytes: UnsafeRawBufferPointer(rebasing: storage.bytes[r]), storageID: "@\(r.lowerBound)")
        }
        return (FakeSource(tensors: tensors, hyperParameters: [:]), storage)
    }

    @Test("missing heads and context are errors naming the flag; overrides supply them")
    func overrides() throws {
        let (src, storage) = OverrideTests.source()
        withExtendedLifetime(storage) {
            #expect(throws: ConvertError.mapping("llama2c checkpoint does not record \"n_heads\" (model_args/config/metadata): give it with --n-heads")) {
                try CheckpointMapper.plan(src)
            }
            #expect(throws: ConvertError.self) { try CheckpointMapper.plan(src, overrides: HyperOverrides(nHeads: 2)) }
        }
        // kv heads that contradict the wk/wv shapes are caught by the shape check.
        #expect(throws: ConvertError.self) { try CheckpointMapper.plan(src, overrides: HyperOverrides(nHeads: 2, nKVHeads: 1, contextLength: 16)) }
        let plan = try CheckpointMapper.plan(src, overrides: HyperOverrides(nHeads: 2, nKVHeads: 2, contextLength: 16, normEps: 1e-6))
        #expect(plan.config.nHeads == 2 && plan.config.nKVHeads == 2 && plan.config.contextLength == 16 && plan.config.normEps == 1e-6)
        #expect(plan.config.tiedEmbeddings)
        withExtendedLifetime(storage) {}
    }

    @Test("F16 sources pass through unchanged as F16 and widen exactly to F32")
    func f16() throws {
        let (src, storage) = OverrideTests.source()
        let plan = try CheckpointMapper.plan(src, overrides: HyperOverrides(nHeads: 2, nKVHeads: 2, contextLength: 16))
        for (policy, dtype) in [(PrecisionPolicy(linear: .f16), DType.f16), (PrecisionPolicy(linear: .f32), .f32)] {
            let out = TestFiles.tempDir() + "/h.bgpt"
            var md = Metadata()
            plan.config.write(to: &md)
            _ = try Converter.write(plan: plan, metadata: md, to: out, precision: policy, sourceBytes: storage.count, container: "memory")
            let f = try BGPTFile(path: out)
            for p in plan.tensors {
                let v = try f.tensor(p.spec.name)
                if p.spec.role == .linear || p.spec.role == .embedding { #expect(v.info.dtype == dtype) }
                if v.info.dtype == .f16 { #expect(Array(v.bytes) == Array(p.source.bytes), "\(p.spec.name)") }
                #expect(v.dequantized() == p.source.floats(), "\(p.spec.name)")
            }
        }
        withExtendedLifetime(storage) {}
    }
}
