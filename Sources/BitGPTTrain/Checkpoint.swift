import BitGPT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything a run needs to continue exactly where it stopped, beyond the tensors.
public struct TrainState: Equatable {
    /// The next iteration to run.
    public var iteration: Int
    public var bestValLoss: Float
    /// ``TrainRandom`` state after the last completed iteration.
    public var rngState: UInt64
    /// AdamW steps taken.
    public var adamSteps: Int

    public init(iteration: Int, bestValLoss: Float, rngState: UInt64, adamSteps: Int) {
        self.iteration = iteration; self.bestValLoss = bestValLoss; self.rngState = rngState; self.adamSteps = adamSteps
    }

    var json: String {
        // Floats and the RNG state as exact strings: bit-for-bit round trips.
        "{\"adam_steps\":\(adamSteps),\"best_val_loss_bits\":\(bestValLoss.bitPattern),\"best_val_loss\":\"\(bestValLoss)\",\"iteration\":\(iteration),\"rng_state\":\"\(rngState)\"}"
    }

    init?(json: String) {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let it = o["iteration"] as? Int, let bits = o["best_val_loss_bits"] as? Int, let rng = o["rng_state"] as? String,
              let r = UInt64(rng), let steps = o["adam_steps"] as? Int, it >= 0, steps >= 0, bits >= 0, bits <= Int(UInt32.max) else { return nil }
        self.init(iteration: it, bestValLoss: Float(bitPattern: UInt32(bits)), rngState: r, adamSteps: steps)
    }
}

/// A checkpoint: `ckpt.safetensors` (weights, config, tokenizer, state in `__metadata__`) and
/// `ckpt.optim.safetensors` (AdamW moments `exp_avg.NAME`, `exp_avg_sq.NAME`, and the same state).
///
/// Each file is written atomically, and the model file's rename is the commit point of the pair:
/// the new optimizer file first goes to `ckpt.optim.next.safetensors`, then the model file
/// replaces `ckpt.safetensors`, then the optimizer file is renamed over `ckpt.optim.safetensors`.
/// A process killed anywhere in between leaves a model file whose `bitgpt.state` matches either
/// `ckpt.optim.safetensors` (the pair before, or after) or `ckpt.optim.next.safetensors` (killed
/// after the commit, before the last rename); ``load(dir:)`` takes the one that matches, and
/// refuses a folder where neither does, naming both iterations.
public enum Checkpoint {
    public static func modelPath(_ dir: String) -> String { dir + "/ckpt.safetensors" }
    public static func optimPath(_ dir: String) -> String { dir + "/ckpt.optim.safetensors" }
    /// The optimizer file of a checkpoint being written (see the type's discussion).
    static func nextOptimPath(_ dir: String) -> String { dir + "/ckpt.optim.next.safetensors" }

    /// The architecture as JSON: the `.bgpt` `model.*`/`bitlinear.*` keys that define the shape.
    static func configJSON(_ c: ModelConfig) -> String {
        let o: [String: Any] = [
            "architecture": c.architecture.rawValue, "vocab_size": c.vocabSize, "context_length": c.contextLength, "dim": c.dim,
            "n_layers": c.nLayers, "n_heads": c.nHeads, "n_kv_heads": c.nKVHeads, "hidden_dim": c.hiddenDim,
            "activation": c.activation.rawValue, "norm_bias": c.normBias, "linear_bias": c.linearBias,
            "bitlinear": c.bitLinear, "bitlinear_norm": c.bitLinearNorm,
        ]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    static func config(json: String) -> ModelConfig? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let a = (o["architecture"] as? String).flatMap(Architecture.init(rawValue:)), a != .bitgpt,
              let v = o["vocab_size"] as? Int, let t = o["context_length"] as? Int, let d = o["dim"] as? Int,
              let l = o["n_layers"] as? Int, let h = o["n_heads"] as? Int, let kv = o["n_kv_heads"] as? Int,
              let hid = o["hidden_dim"] as? Int, let act = (o["activation"] as? String).flatMap(Activation.init(rawValue:)),
              let nb = o["norm_bias"] as? Bool, let lb = o["linear_bias"] as? Bool, let bl = o["bitlinear"] as? Bool,
              let bln = o["bitlinear_norm"] as? Bool,
              (1...(1 << 24)).contains(v), (1...(1 << 16)).contains(t), (1...65_536).contains(d), (1...1024).contains(l),
              (1...1024).contains(h), (1...1024).contains(kv), (1...(1 << 20)).contains(hid), d % h == 0, h % kv == 0
        else { return nil }
        var c = ModelConfig(architecture: a, vocabSize: v, contextLength: t, dim: d, nLayers: l, nHeads: h, nKVHeads: kv, hiddenDim: hid)
        c.activation = act; c.normBias = nb; c.linearBias = lb; c.bitLinear = bl; c.bitLinearNorm = bln
        if a == .llama && c.headDim % 2 != 0 { return nil }
        return c
    }

    /// Writes both files into `dir` (created if needed).
    public static func save(dir: String, model: TrainModel, optimizer: AdamW, state: TrainState, data: TokenData) throws(TrainError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io(path: dir, reason: "cannot create the output folder")
        }
        let arch = model.config.architecture
        func tensors(_ buf: FloatBuffer, prefix: String) -> [Safetensors.Tensor] {
            model.layout.entries.map {
                Safetensors.Tensor(name: prefix + CheckpointNames.name($0.name, architecture: arch), shape: $0.shape,
                                   data: UnsafeBufferPointer(start: buf.at($0.offset), count: $0.count))
            }
        }
        let tokRecord = (data.subword?.checkpointRecord ?? [:]).merging(["kind": data.tokenizer.rawValue, "itos": data.itos]) { $1 }
        let tok = (try? JSONSerialization.data(withJSONObject: tokRecord, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let meta = ["format": "pt", "bitgpt.config": configJSON(model.config), "bitgpt.state": state.json, "bitgpt.tokenizer": tok,
                    "bitgpt.writer": "lm-train \(BitGPTVersion.string)"]
        try Safetensors.write(path: nextOptimPath(dir), tensors: tensors(optimizer.m, prefix: "exp_avg.") + tensors(optimizer.v, prefix: "exp_avg_sq."),
                              metadata: ["bitgpt.state": state.json])
        try Safetensors.write(path: modelPath(dir), tensors: tensors(model.params, prefix: ""), metadata: meta)
        try commitOptimizer(dir)
    }

    /// Renames `ckpt.optim.next.safetensors` over `ckpt.optim.safetensors` and syncs the folder.
    static func commitOptimizer(_ dir: String) throws(TrainError) {
        guard rename(nextOptimPath(dir), optimPath(dir)) == 0 else {
            throw .io(path: optimPath(dir), reason: "rename: \(String(cString: strerror(errno)))")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// What ``load(dir:)`` reads before the model exists.
    public struct Loaded {
        public var config: ModelConfig
        public var state: TrainState
        public var tokenizer: TokenizerChoice
        public var itos: [String]
        var model: Safetensors.File
        var optim: Safetensors.File

        /// Copies weights and moments into a model and optimizer built from ``config``.
        public func restore(into m: TrainModel, optimizer: AdamW, dir: String) throws(TrainError) {
            let arch = config.architecture
            for e in m.layout.entries {
                let n = CheckpointNames.name(e.name, architecture: arch)
                for (file, prefix, buf, path) in [(model, "", m.params, Checkpoint.modelPath(dir)),
                                                  (optim, "exp_avg.", optimizer.m, Checkpoint.optimPath(dir)),
                                                  (optim, "exp_avg_sq.", optimizer.v, Checkpoint.optimPath(dir))] {
                    guard let t = file.tensors[prefix + n] else { throw .badCheckpoint(path: path, reason: "tensor \"\(prefix + n)\" is missing") }
                    guard t.shape == e.shape else {
                        throw .badCheckpoint(path: path, reason: "tensor \"\(prefix + n)\" has shape \(t.shape), expected \(e.shape)")
                    }
                    buf.set(t.values, at: e.offset)
                }
            }
            optimizer.t = state.adamSteps
        }
    }

    /// Reads and cross-checks both files of `dir`.
    ///
    /// - Throws: ``TrainError/badCheckpoint(path:reason:)`` for a missing, corrupt or mismatched file.
    public static func load(dir: String) throws(TrainError) -> Loaded {
        let mp = modelPath(dir), op = optimPath(dir)
        guard FileManager.default.fileExists(atPath: mp) else { throw .badCheckpoint(path: mp, reason: "not found (nothing to resume)") }
        let model = try Safetensors.read(path: mp)
        // Killed after the model file's rename (the commit) but before the optimizer's: finish it.
        // Under mpirun every rank loads the checkpoint, so another rank may have renamed the file
        // first; the matching moments are already read, so a failed rename changes nothing.
        var optim = try? Safetensors.read(path: op)
        if let ms = model.metadata["bitgpt.state"], optim?.metadata["bitgpt.state"] != ms {
            if let next = try? Safetensors.read(path: nextOptimPath(dir)), next.metadata["bitgpt.state"] == ms {
                try? commitOptimizer(dir)
                optim = next
            } else if let renamed = try? Safetensors.read(path: op), renamed.metadata["bitgpt.state"] == ms {
                optim = renamed  // another rank finished the rename between our two reads
            }
        }
        guard let optim else { _ = try Safetensors.read(path: op); throw .badCheckpoint(path: op, reason: "cannot read") }
        guard let cj = model.metadata["bitgpt.config"], let config = config(json: cj) else {
            throw .badCheckpoint(path: mp, reason: "__metadata__ lacks a valid bitgpt.config")
        }
        guard let sj = model.metadata["bitgpt.state"], let state = TrainState(json: sj) else {
            throw .badCheckpoint(path: mp, reason: "__metadata__ lacks a valid bitgpt.state")
        }
        guard let oj = optim.metadata["bitgpt.state"], let ostate = TrainState(json: oj) else {
            throw .badCheckpoint(path: op, reason: "__metadata__ lacks a valid bitgpt.state")
        }
        guard ostate == state else {
            throw .badCheckpoint(path: op, reason: "optimizer state is from iteration \(ostate.iteration) but the model from \(state.iteration)")
        }
        guard let tj = model.metadata["bitgpt.tokenizer"],
              let to = try? JSONSerialization.jsonObject(with: Data(tj.utf8)) as? [String: Any],
              let kind = (to["kind"] as? String).flatMap(TokenizerChoice.init(rawValue:)), let itos = to["itos"] as? [String],
              itos.count == config.vocabSize else {
            throw .badCheckpoint(path: mp, reason: "__metadata__ lacks a tokenizer matching vocab_size")
        }
        // Every tensor the configuration implies must be there with its shape, before anything
        // is allocated from the (untrusted) configuration: memory stays bounded by the file size.
        let layout = ParameterLayout(config: config)
        for e in layout.entries {
            let n = CheckpointNames.name(e.name, architecture: config.architecture)
            for (file, prefix, path) in [(model, "", mp), (optim, "exp_avg.", op), (optim, "exp_avg_sq.", op)] {
                guard let t = file.tensors[prefix + n] else { throw .badCheckpoint(path: path, reason: "tensor \"\(prefix + n)\" is missing") }
                guard t.shape == e.shape else {
                    throw .badCheckpoint(path: path, reason: "tensor \"\(prefix + n)\" has shape \(t.shape), expected \(e.shape)")
                }
            }
        }
        return Loaded(config: config, state: state, tokenizer: kind, itos: itos, model: model, optim: optim)
    }
}
