import BitGPT
import Foundation

/// Turns an lm-train model checkpoint (`OUT/ckpt.safetensors`) into the `.bgpt` that lm-train's
/// own export writes, for `lm-convert`.
///
/// The checkpoint's `__metadata__` records everything: `bitgpt.config` (family, shape, BitLinear,
/// biases, activation, context length), and `bitgpt.tokenizer` (kind and vocabulary; for bpe and
/// sentencepiece the file name and hash of the tokenizer lm-train kept in the same folder). The
/// weights go through ``ModelExport``, so the tensors and metadata equal lm-train's export bit for
/// bit; only `general.created` (the time of writing) and, unless given, `general.name` follow.
public enum CheckpointExport {
    /// Whether `path` is a safetensors file whose `__metadata__` holds lm-train's `bitgpt.config`
    /// (reads only the header).
    public static func isTrainCheckpoint(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let lenBytes = try? h.read(upToCount: 8), lenBytes.count == 8 else { return false }
        let len = lenBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard len <= 100_000_000, let header = try? h.read(upToCount: Int(len)), header.count == Int(len),
              let obj = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
              let meta = obj["__metadata__"] as? [String: Any] else { return false }
        return meta["bitgpt.config"] is String
    }

    /// Writes the `.bgpt` of the checkpoint at `path`.
    ///
    /// - Parameters:
    ///   - path: an lm-train `ckpt.safetensors`; a sub-word tokenizer file is read from its folder.
    ///   - output: the `.bgpt` destination (written atomically).
    ///   - name: `general.name`; nil gives lm-train's (`lm-train-gpt2-bitlinear`, …).
    /// - Returns: the model's configuration.
    /// - Throws: ``TrainError/badCheckpoint(path:reason:)`` naming what is missing or wrong.
    @discardableResult
    public static func write(checkpoint path: String, to output: String, name: String? = nil) throws(TrainError) -> ModelConfig {
        let file = try Safetensors.read(path: path)
        func bad(_ r: String) -> TrainError { .badCheckpoint(path: path, reason: r) }
        guard let cj = file.metadata["bitgpt.config"], let config = Checkpoint.config(json: cj) else {
            throw bad("__metadata__ lacks a valid bitgpt.config")
        }
        guard let tj = file.metadata["bitgpt.tokenizer"],
              let to = try? JSONSerialization.jsonObject(with: Data(tj.utf8)) as? [String: Any],
              let kind = (to["kind"] as? String).flatMap(TokenizerChoice.init(rawValue:)), let itos = to["itos"] as? [String],
              itos.count == config.vocabSize else {
            throw bad("__metadata__ lacks a tokenizer matching vocab_size")
        }
        // Every tensor the configuration implies, with its shape, before anything is allocated.
        let layout = ParameterLayout(config: config)
        for e in layout.entries {
            let n = CheckpointNames.name(e.name, architecture: config.architecture)
            guard let t = file.tensors[n] else { throw bad("tensor \"\(n)\" is missing") }
            guard t.shape == e.shape else { throw bad("tensor \"\(n)\" has shape \(t.shape), expected \(e.shape)") }
        }
        var data = TokenData(tokenizer: kind, itos: itos, train: [], val: [])
        if kind.isSubword {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard let tokFile = SubwordTokenizer.file(inRun: dir, kind: kind) else {
                throw bad("its \(kind.rawValue) tokenizer file (tokenizer.json, .tiktoken or .model) is not in \(dir)")
            }
            let sub = try SubwordTokenizer.load(kind: kind, file: tokFile)
            if let h = to["file_xxh64"] as? String, h != String(sub.fileHash) {
                throw bad("\(tokFile) is not the tokenizer it was trained with (xxh64 differs)")
            }
            data.subword = sub
        }
        let model = TrainModel(config: config, batch: 1, seed: 0)
        for e in model.layout.entries {
            model.params.set(file.tensors[CheckpointNames.name(e.name, architecture: config.architecture)]!.values, at: e.offset)
        }
        try ModelExport.write(model: model, data: data, path: output,
                              name: name ?? "lm-train-\(config.architecture.rawValue)\(config.bitLinear ? "-bitlinear" : "")")
        return config
    }
}
