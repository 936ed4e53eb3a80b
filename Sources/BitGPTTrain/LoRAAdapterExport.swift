import BitGPT
import Foundation

/// Writes a run's LoRA adapters as `OUT/adapter.safetensors` (the contract of `docs/training.md`
/// "LoRA training"): F32 `lora_A` (r, in) and `lora_B` (out, r) per adapted linear under
/// huggingface/peft's names, and `__metadata__` with the rank, alpha, targets, architecture,
/// layer count, the base's fingerprint and PEFT-style copies (`peft_type`, `r`, `lora_alpha`,
/// `target_modules`). Written through ``Safetensors/write(path:tensors:metadata:)`` (temp + rename).
public enum LoRAAdapterExport {
    /// The adapter's file name in `--out`.
    public static let fileName = "adapter.safetensors"

    /// The adapter path of the run in `dir`.
    public static func path(_ dir: String) -> String { dir + "/" + fileName }

    /// PEFT's module path of the `.bgpt` linear `tensor` (`blk.L.attn_q`), without `.lora_A.weight`.
    static func peftModule(_ tensor: String, architecture: Architecture) -> (path: String, module: String) {
        let parts = tensor.split(separator: ".")
        let layer = parts[1], kind = String(parts[2])
        let gpt = architecture == .gpt2
        let (group, module): (String, String)
        switch kind {
        case "attn_qkv": (group, module) = ("attn", "c_attn")
        case "attn_q": (group, module) = ("self_attn", "q_proj")
        case "attn_k": (group, module) = ("self_attn", "k_proj")
        case "attn_v": (group, module) = ("self_attn", "v_proj")
        case "attn_out": (group, module) = gpt ? ("attn", "c_proj") : ("self_attn", "o_proj")
        case "ffn_gate": (group, module) = ("mlp", "gate_proj")
        case "ffn_up": (group, module) = gpt ? ("mlp", "c_fc") : ("mlp", "up_proj")
        default: (group, module) = gpt ? ("mlp", "c_proj") : ("mlp", "down_proj")
        }
        let prefix = gpt ? "base_model.model.transformer.h.\(layer)" : "base_model.model.model.layers.\(layer)"
        return ("\(prefix).\(group).\(module)", module)
    }

    /// The base fingerprint of `model`'s weights as the trainer uses them (``LoRABase``), which
    /// equals the runtime's for the `.bgpt` the weights came from.
    public static func baseFingerprint(_ model: TrainModel) -> UInt64 {
        LoRABase.fingerprint(config: model.config) { spec in
            guard let e = model.layout.entry(spec.name) else { return [] }
            return model.params.array(e.offset, count: e.count)
        }
    }

    /// A number as the metadata writes it: `16`, `0.5`.
    static func number(_ x: Float) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : "\(x)" }

    /// Writes `model`'s adapters to `path`; `fingerprint` is ``baseFingerprint(_:)`` of the base.
    public static func write(model: TrainModel, fingerprint: UInt64, path: String) throws(TrainError) {
        guard let lora = model.lora else { preconditionFailure("the model has no LoRA adapters") }
        let arch = model.config.architecture
        let r = lora.settings.rank
        var tensors: [Safetensors.Tensor] = []
        var modules: [String] = []
        for a in lora.adapters {
            let (p, module) = peftModule(a.tensor, architecture: arch)
            if !modules.contains(module) { modules.append(module) }
            tensors.append(Safetensors.Tensor(name: p + ".lora_A.weight", shape: [r, a.inFeatures],
                                              data: UnsafeBufferPointer(start: lora.params.at(a.a), count: r * a.inFeatures)))
            tensors.append(Safetensors.Tensor(name: p + ".lora_B.weight", shape: [a.outFeatures, r],
                                              data: UnsafeBufferPointer(start: lora.params.at(a.b), count: a.outFeatures * r)))
        }
        let moduleList = "[" + modules.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        let meta = ["format": "bitgpt-lora", "format_version": "1", "rank": "\(r)", "alpha": number(lora.settings.alpha),
                    "targets": lora.settings.targetList, "architecture": arch.rawValue, "n_layers": "\(model.config.nLayers)",
                    "base_fingerprint": String(format: "%016llx", fingerprint),
                    "peft_type": "LORA", "r": "\(r)", "lora_alpha": number(lora.settings.alpha), "target_modules": moduleList,
                    "bitgpt.writer": "lm-train \(BitGPTVersion.string)"]
        try Safetensors.write(path: path, tensors: tensors, metadata: meta)
    }
}
