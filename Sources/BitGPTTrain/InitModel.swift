import BitGPT
import BitGPTConvert
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The model `--init-from` starts a run from: a `.bgpt`, an lm-train checkpoint, or any
/// checkpoint `lm-convert` reads (nanoGPT, BitGPT, lilLM, llama2.c), read as the `.bgpt` the
/// converter writes, so one path maps every source onto ``ParameterLayout``'s `.bgpt` names.
///
/// Its weights are dequantized (T2 as `t·γ`, int8 as `q·scale`) and become the run's latent
/// weights. Its tokenizer and shape are the run's (``InitTokenizer``): `char`, `bytes`, a
/// byte-level `bpe` that a Hugging Face `tokenizer.json` carries exactly (lm-train's own), kept as
/// `OUT/tokenizer.json`, and `sentencepiece`, whose embedded model proto is kept as
/// `OUT/tokenizer.model`; a checkpoint without a tokenizer takes `--tokenizer-file`.
struct InitModel {
    let path: String
    let config: ModelConfig
    let tokenizer: TokenizerChoice
    /// The vocabulary by id.
    let itos: [String]
    /// The run's tokenizer file (bpe, sentencepiece), or nil (char, bytes).
    let subword: SubwordTokenizer?
    let weights: [String: [Float]]

    /// Reads `path`; a source that is not a `.bgpt` is first converted into `scratchDir`
    /// (the temporary file is removed again).
    ///
    /// - Parameters:
    ///   - tokenizerFile: `--tokenizer-file`, the tokenizer of a model that carries none
    ///     (``InitTokenizer/given(file:vocabSize:source:)``); refused for a model that has its own.
    /// - Throws: ``TrainError``, one line starting `--init-from PATH:` (or naming the tokenizer file).
    static func load(_ path: String, scratchDir: String, tokenizerFile: String? = nil) throws(TrainError) -> InitModel {
        func bad(_ r: String) -> TrainError { .badOption("--init-from \(path): \(r)") }
        guard FileManager.default.fileExists(atPath: path) else { throw bad("no such file") }
        let file: BGPTFile
        if let f = try? BGPTFile(path: path) {
            file = f
        } else {
            let temp = scratchDir + "/.init-from-\(getpid()).bgpt"
            defer { unlink(temp) }
            do {
                if CheckpointExport.isTrainCheckpoint(path) {
                    try CheckpointExport.write(checkpoint: path, to: temp)
                } else {
                    _ = try Converter.convert(input: path, output: temp)
                }
                file = try BGPTFile(path: temp)
            } catch {
                throw bad("\(error)")
            }
        }
        let config: ModelConfig
        do { config = try ModelConfig(metadata: file.metadata) } catch { throw bad("\(error)") }
        guard config.architecture == .gpt2 || config.architecture == .llama else {
            throw bad("a \(config.architecture.rawValue) model; lm-train trains gpt2 and llama models")
        }
        // Token ids are uint16 in the run's data and caches.
        guard config.vocabSize <= 65_536 else { throw bad("\(config.vocabSize) token rows; lm-train takes at most 65536 (token ids are uint16)") }
        let source = "--init-from \(path)"
        let tok: InitTokenizer
        if let kindValue = file.metadata["tokenizer.kind"] {
            guard case .string(let kind) = kindValue else { throw bad("its tokenizer.kind is \(kindValue.typeName), expected string") }
            if let tokenizerFile {
                throw bad("the model has its own \(kind) tokenizer; drop --tokenizer-file \(tokenizerFile) (it is for checkpoints without one)")
            }
            tok = try InitTokenizer.own(kind: kind, metadata: file.metadata, vocabSize: config.vocabSize, scratchDir: scratchDir, source: source)
        } else if let tokenizerFile {
            tok = try InitTokenizer.given(file: tokenizerFile, vocabSize: config.vocabSize, source: source)
        } else {
            throw bad("the model has no tokenizer; give its tokenizer with --tokenizer-file (SentencePiece .model, tokenizer.json, .tiktoken, nanoGPT meta.pkl or lm-train meta.json)")
        }
        let itos = tok.itos
        guard itos.count == config.vocabSize else { throw bad("its tokenizer has \(itos.count) tokens, the model \(config.vocabSize)") }
        var weights: [String: [Float]] = [:]
        for info in file.tensors { weights[info.name] = file.view(info).dequantized() }
        return InitModel(path: path, config: config, tokenizer: tok.kind, itos: itos, subword: tok.subword, weights: weights)
    }

    /// The configuration of the run: the model's, with BitLinear on if the model is ternary or
    /// `bitLinear` asks for it (quantization-aware fine-tuning of a float model).
    func runConfig(bitLinear: Bool, bitLinearNorm: Bool) -> ModelConfig {
        var c = config
        if bitLinear && !c.bitLinear { c.bitLinear = true; c.bitLinearNorm = bitLinearNorm }
        return c
    }

    /// The text at `path` in the model's tokens; a character the vocabulary lacks is an error.
    /// A sub-word tokenizer is first written to `out` as the run's tokenizer file, and must read
    /// back from it to the same vocabulary.
    func tokenData(path: String, out: String) throws(TrainError) -> TokenData {
        if let subword {
            try subword.write(into: out)
            let d = try TokenData.load(path: path, tokenizer: subword.kind, tokenizerFile: out + "/" + subword.fileName)
            guard d.itos == itos else { throw .badOption("--init-from \(self.path): its tokenizer does not read back the same from \(out)/\(subword.fileName)") }
            return d
        }
        return try InitModel.tokenData(path: path, tokenizer: tokenizer, itos: itos, source: "--init-from " + self.path)
    }

    /// The text at `path` in the tokens of the vocabulary `itos` (char) or as bytes; a character
    /// the vocabulary lacks is an error naming `source`, the model it comes from.
    static func tokenData(path: String, tokenizer: TokenizerChoice, itos: [String], source: String) throws(TrainError) -> TokenData {
        let bytes = try FileIO.read(path)
        guard !bytes.isEmpty else { throw .badData(path: path, reason: "the file is empty") }
        var ids: [UInt16] = []
        switch tokenizer {
        case .char:
            guard let text = String(validating: bytes, as: UTF8.self) else { throw .badData(path: path, reason: "not valid UTF-8") }
            var stoi: [String: UInt16] = [:]
            for (i, s) in itos.enumerated() where stoi[s] == nil { stoi[s] = UInt16(i) }
            var offset = 0
            for ch in text.unicodeScalars {
                guard let id = stoi[String(Character(ch))] else {
                    throw .badData(path: path, reason: String(format: "character U+%04X at byte %d is not in the vocabulary of %@", ch.value, offset, source))
                }
                ids.append(id)
                offset += String(ch).utf8.count
            }
        default:
            ids = bytes.map { UInt16($0) }
        }
        let n = ids.count * 9 / 10
        return TokenData(tokenizer: tokenizer, itos: itos, train: Array(ids[..<n]), val: Array(ids[n...]))
    }

    /// Copies the weights into `model`; a tensor the model needs that the file lacks is an error,
    /// except BitLinear's norm gains when BitLinear is switched on for a float model (they keep
    /// their initial value, 1).
    func copy(into model: TrainModel) throws(TrainError) {
        for e in model.layout.entries {
            guard let w = weights[e.name] else {
                if model.config.bitLinear && !config.bitLinear && e.role == .vector { continue }
                throw .badOption("--init-from \(path): tensor \(e.name) is missing")
            }
            guard w.count == e.count else { throw .badOption("--init-from \(path): tensor \(e.name) has \(w.count) values, expected \(e.count)") }
            model.params.set(w, at: e.offset)
        }
    }
}
