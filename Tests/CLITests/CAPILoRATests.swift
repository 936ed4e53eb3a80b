import BitGPT
import BitGPTCAPI
import BitGPTConvert
import CBitGPT
import Foundation
import TestSupport
import Testing

/// `bg_model_load_lora` (issue 18): the C API applies an adapter exactly as the library does, and
/// refuses bad ones with a status and one line.
@Suite("C API LoRA")
struct CAPILoRATests {
    @Test("bg_model_load_lora gives the library's logits; refusals leave the model as it was")
    func loadLoRA() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt"), other = dir.file("other.bgpt")
        let config = ModelConfig(architecture: .llama, vocabSize: 256, contextLength: 32, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2)
        try RandomModel.write(config: config, to: m, linearType: .t2, seed: 4, extra: RandomModel.byteTokenizer, std: 0.3)
        try RandomModel.write(config: config, to: other, linearType: .t2, seed: 5, extra: RandomModel.byteTokenizer, std: 0.3)
        try LoRAFixtures.write(to: dir.file("a.safetensors"), base: m, targets: LoRATarget.allCases, seed: 6, std: 0.2)
        try LoRAFixtures.write(to: dir.file("other.safetensors"), base: other, targets: [.q], seed: 6)

        var model: OpaquePointer?
        #expect(capiModelLoad(m, nil, &model) == BG_OK.rawValue)
        defer { capiModelFree(model) }
        func logits() -> [Float] {
            var ctx: OpaquePointer?
            #expect(capiContextCreate(model, nil, &ctx) == BG_OK.rawValue)
            defer { capiContextFree(ctx) }
            let tokens: [Int32] = [97, 98, 99]
            var out: UnsafePointer<Float>?
            #expect(capiDecode(ctx, tokens, tokens.count, &out) == BG_OK.rawValue)
            return Array(UnsafeBufferPointer(start: out, count: 256))
        }
        let base = logits()
        // Refusals: status, one line naming the problem, and the model still the base.
        let cases: [(String?, Float, bg_status, String)] = [
            (nil, 1, BG_ERR_INVALID_ARGUMENT, "path is NULL"),
            (dir.file("a.safetensors"), .nan, BG_ERR_INVALID_ARGUMENT, "not a finite number"),
            (dir.file("missing.safetensors"), 1, BG_ERR_FORMAT, "missing.safetensors"),
            (m, 1, BG_ERR_FORMAT, "bad safetensors file"),
            (dir.file("other.safetensors"), 1, BG_ERR_UNSUPPORTED, "fingerprint"),
        ]
        for (path, scale, status, mention) in cases {
            let got = path.map { capiModelLoadLoRA(model, $0, scale) } ?? capiModelLoadLoRA(model, nil, scale)
            let msg = String(cString: capiModelLastError(model))
            #expect(got == status.rawValue && msg.contains(mention) && !msg.contains("\n"), "\(msg)")
        }
        #expect(logits() == base)
        #expect(capiModelLoadLoRA(nil, dir.file("a.safetensors"), 1) == BG_ERR_INVALID_ARGUMENT.rawValue)

        #expect(capiModelLoadLoRA(model, dir.file("a.safetensors"), 0.5) == BG_OK.rawValue)
        let adapted = logits()
        #expect(adapted != base)
        let net = try Transformer(file: try BGPTFile(path: m))
        let fp = try LoRABase.fingerprint(of: net.file)
        #expect(fp != 0)
        try LoRAAdapterFile.apply([LoRASpec(path: dir.file("a.safetensors"), scale: 0.5)], to: net)
        let gen = try Generator(model: net, pool: WorkerPool(threads: 1), kvType: .f32)
        try gen.start(prompt: [97, 98, 99])
        #expect(adapted == Array(UnsafeBufferPointer(start: gen.logits, count: 256)))
    }
}
