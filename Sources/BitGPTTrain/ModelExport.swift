import BitGPT
import Foundation

/// Writes a trained model as a `.bgpt` file the runtime loads directly.
///
/// Tensors keep their `.bgpt` names (``ParameterLayout`` order). BitLinear weights are stored as
/// T2 through `TensorEncoder`, whose absmean ternarization is ``weightQuantForward``'s own (`ternaryQuantize`), so
/// the file dequantizes to the trainer's fake-quantized weights bit for bit; everything else is
/// F32. The tokenizer section is `char` (`tokenizer.tokens` = the vocabulary by id), `bytes`, or
/// the section of the run's sub-word tokenizer (``SubwordTokenizer``: `bpe` or `sentencepiece`).
public enum ModelExport {
    /// - Parameters:
    ///   - model: the trained model.
    ///   - data: the vocabulary it was trained with.
    ///   - path: destination (written atomically by `BGPTWriter`).
    ///   - name: `general.name`.
    public static func write(model: TrainModel, data: TokenData, path: String, name: String) throws(TrainError) {
        var meta = Metadata()
        meta.set("general.name", .string(name))
        meta.set("general.converter", .string("lm-train \(BitGPTVersion.string)"))
        meta.set("general.created", .string(ISO8601DateFormatter().string(from: Date())))
        model.config.write(to: &meta)
        switch data.tokenizer {
        case .char:
            meta.set("tokenizer.kind", .string("char"))
            meta.set("tokenizer.tokens", .array(.string(data.itos)))
            meta.set("tokenizer.unknown_policy", .string("error"))
        case .bytes:
            for e in RandomModel.byteTokenizer.entries { meta.set(e.key, e.value) }
        case .bpe, .sentencepiece:
            guard let sub = data.subword else { throw .io(path: path, reason: "the \(data.tokenizer.rawValue) tokenizer is missing") }
            sub.section.write(into: &meta)
        }
        do {
            var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
            for e in model.layout.entries {
                let dtype: DType = model.config.bitLinear && e.role == .linear ? .t2 : .f32
                let values = model.params.array(e.offset, count: e.count)
                let bytes = try TensorEncoder.encode(values, shape: e.shape, as: dtype, name: e.name)
                tensors.append((TensorInfo(name: e.name, dtype: dtype, shape: e.shape), bytes))
            }
            try BGPTWriter.write(path: path, metadata: meta, tensors: tensors)
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }
}
