import BitGPT
import Foundation

/// The checkpoint of a LoRA run: the adapters and their AdamW state only (the base is the
/// `--init-from` model, unchanged, found again through the path recorded in the adapter).
///
/// - `OUT/adapter.safetensors`: the adapter (``LoRAAdapterExport``) plus `bitgpt.state`,
///   `bitgpt.init_from` (the base's absolute path, so `--resume` finds it from any directory; an
///   older relative entry is read relative to the current directory) and, for a base without a
///   tokenizer, `bitgpt.tokenizer_file` (the absolute path of its `--tokenizer-file`) in `__metadata__`.
/// - `OUT/adapter.optim.safetensors`: `exp_avg.NAME`, `exp_avg_sq.NAME` per adapter matrix
///   (`blk.L.attn_q.lora_a`) and the same `bitgpt.state`; written first, so a run killed between
///   the two writes leaves states that differ, which `--resume` refuses.
enum LoRACheckpoint {
    static let optimName = "adapter.optim.safetensors"

    /// Whether `dir` holds a LoRA run (an adapter, no full checkpoint).
    static func isLoRARun(_ dir: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: LoRAAdapterExport.path(dir)) && !fm.fileExists(atPath: Checkpoint.modelPath(dir))
    }

    /// Writes the optimizer state to `OUT/adapter.optim.safetensors`, then the adapter to `adapterPath`.
    static func save(dir: String, adapterPath: String, model: TrainModel, optimizer: AdamW, state: TrainState,
                     fingerprint: UInt64, initFrom: String, tokenizerFile: String? = nil) throws(TrainError) {
        guard let lora = model.lora else { preconditionFailure("not a LoRA model") }
        func tensors(_ buf: FloatBuffer, prefix: String) -> [Safetensors.Tensor] {
            lora.layout.entries.map {
                Safetensors.Tensor(name: prefix + $0.name, shape: $0.shape, data: UnsafeBufferPointer(start: buf.at($0.offset), count: $0.count))
            }
        }
        try Safetensors.write(path: dir + "/" + optimName, tensors: tensors(optimizer.m, prefix: "exp_avg.") + tensors(optimizer.v, prefix: "exp_avg_sq."),
                              metadata: ["bitgpt.state": state.json])
        var extra = ["bitgpt.state": state.json, "bitgpt.init_from": initFrom]
        if let tokenizerFile { extra["bitgpt.tokenizer_file"] = tokenizerFile }
        try LoRAAdapterExport.write(model: model, fingerprint: fingerprint, path: adapterPath, extra: extra)
    }

    /// What `--resume` of a LoRA run reads before building the model.
    struct Loaded {
        let initFrom: String
        /// The `--tokenizer-file` of a base without a tokenizer, or nil.
        let tokenizerFile: String?
        let settings: LoRAWeights.Settings
        let fingerprint: String
        let state: TrainState
        let adapter: Safetensors.File
        let optim: Safetensors.File

        /// Copies the adapters and their moments into `model` / `optimizer` (built with ``settings``).
        func restore(into model: TrainModel, optimizer: AdamW, dir: String) throws(TrainError) {
            guard let lora = model.lora else { preconditionFailure("not a LoRA model") }
            let path = LoRAAdapterExport.path(dir), optimPath = dir + "/" + LoRACheckpoint.optimName
            let arch = model.config.architecture
            for a in lora.adapters {
                for (matrix, offset, count) in [("A", a.a, lora.settings.rank * a.inFeatures), ("B", a.b, a.outFeatures * lora.settings.rank)] {
                    let name = a.module.peftTensorName(layer: a.layer, architecture: arch, matrix: matrix)
                    guard let t = adapter.tensors[name], t.values.count == count else {
                        throw .badCheckpoint(path: path, reason: "tensor \"\(name)\" is missing or has the wrong shape")
                    }
                    lora.params.set(t.values, at: offset)
                }
            }
            for e in lora.layout.entries {
                for (prefix, buf) in [("exp_avg.", optimizer.m), ("exp_avg_sq.", optimizer.v)] {
                    guard let t = optim.tensors[prefix + e.name], t.values.count == e.count else {
                        throw .badCheckpoint(path: optimPath, reason: "tensor \"\(prefix + e.name)\" is missing or has the wrong shape")
                    }
                    buf.set(t.values, at: e.offset)
                }
            }
            optimizer.t = state.adamSteps
        }
    }

    /// Reads both files of the LoRA run in `dir`.
    static func load(dir: String) throws(TrainError) -> Loaded {
        let path = LoRAAdapterExport.path(dir), optimPath = dir + "/" + optimName
        let adapter = try Safetensors.read(path: path)
        guard FileManager.default.fileExists(atPath: optimPath) else { throw .badCheckpoint(path: optimPath, reason: "not found (nothing to resume)") }
        let optim = try Safetensors.read(path: optimPath)
        let m = adapter.metadata
        guard let sj = m["bitgpt.state"], let state = TrainState(json: sj), let initFrom = m["bitgpt.init_from"],
              let rankText = m["rank"], let rank = Int(rankText), let alphaText = m["alpha"], let alpha = Float(alphaText),
              let targets = m["targets"], let fingerprint = m["base_fingerprint"] else {
            throw .badCheckpoint(path: path, reason: "not the adapter of a LoRA run lm-train can resume (metadata missing)")
        }
        guard optim.metadata["bitgpt.state"] == sj else {
            throw .badCheckpoint(path: optimPath, reason: "its state differs from \(path)'s (a write was interrupted); start again")
        }
        let settings = try LoRAWeights.Settings(rank: rank, alpha: alpha, targets: targets)
        return Loaded(initFrom: initFrom, tokenizerFile: m["bitgpt.tokenizer_file"], settings: settings, fingerprint: fingerprint, state: state, adapter: adapter, optim: optim)
    }
}
