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

    /// The base fingerprint of `model`'s weights as the trainer uses them (``LoRABase``), which
    /// equals the runtime's for the `.bgpt` the weights came from.
    public static func baseFingerprint(_ model: TrainModel) -> UInt64 {
        LoRABase.fingerprint(config: model.config) { spec in
            guard let e = model.layout.entry(spec.name) else { return [] }
            return model.params.array(e.offset, count: e.count)
        }
    }

    /// Writes `model`'s adapters to `path`; `fingerprint` is ``baseFingerprint(_:)`` of the base;
    /// `extra` adds metadata (the run's state, for `--resume`).
    public static func write(model: TrainModel, fingerprint: UInt64, path: String, extra: [String: String] = [:]) throws(TrainError) {
        guard let lora = model.lora else { preconditionFailure("the model has no LoRA adapters") }
        let arch = model.config.architecture
        let r = lora.settings.rank
        var tensors: [Safetensors.Tensor] = []
        for a in lora.adapters {
            tensors.append(Safetensors.Tensor(name: a.module.peftTensorName(layer: a.layer, architecture: arch, matrix: "A"), shape: [r, a.inFeatures],
                                              data: UnsafeBufferPointer(start: lora.params.at(a.a), count: r * a.inFeatures)))
            tensors.append(Safetensors.Tensor(name: a.module.peftTensorName(layer: a.layer, architecture: arch, matrix: "B"), shape: [a.outFeatures, r],
                                              data: UnsafeBufferPointer(start: lora.params.at(a.b), count: a.outFeatures * r)))
        }
        // The core's description (no matrices needed) gives the contract's metadata.
        let header = LoRAAdapter(rank: r, alpha: lora.settings.alpha, targets: lora.settings.targets, architecture: arch,
                                 nLayers: model.config.nLayers, baseFingerprint: fingerprint, layers: [])
        let meta = header.metadata.merging(extra.merging(["bitgpt.writer": "lm-train \(BitGPTVersion.string)"]) { a, _ in a }) { a, _ in a }
        try Safetensors.write(path: path, tensors: tensors, metadata: meta)
    }
}
