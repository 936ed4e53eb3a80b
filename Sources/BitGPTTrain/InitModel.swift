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
/// weights. Its tokenizer and shape are the run's: `char`, `bytes`, and a byte-level `bpe` that a
/// Hugging Face `tokenizer.json` carries exactly (lm-train's own), which the run keeps as
/// `OUT/tokenizer.json`.
struct InitModel {
    let path: String
    let config: ModelConfig
    let tokenizer: TokenizerChoice
    /// The vocabulary by id.
    let itos: [String]
    /// The model's bpe tokenizer as the run's tokenizer file, or nil (char, bytes).
    let subword: SubwordTokenizer?
    let weights: [String: [Float]]

    /// Reads `path`; a source that is not a `.bgpt` is first converted into `scratchDir`
    /// (the temporary file is removed again).
    static func load(_ path: String, scratchDir: String) throws(TrainError) -> InitModel {
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
        guard case .string(let kind)? = file.metadata["tokenizer.kind"] else { throw bad("the model has no tokenizer") }
        let itos: [String]
        let choice: TokenizerChoice
        var subword: SubwordTokenizer?
        switch kind {
        case "char":
            guard let tokens = try? file.metadata.strings("tokenizer.tokens") else { throw bad("its char tokenizer has no tokenizer.tokens") }
            itos = tokens; choice = .char
        case "bytes":
            guard config.vocabSize == 256 else { throw bad("a bytes tokenizer with \(config.vocabSize) ids is not supported by --init-from (256 are)") }
            itos = TokenData.byteVocabulary; choice = .bytes
        case "bpe":
            let section: TokenizerSection
            do { section = try TokenizerSection(metadata: file.metadata, vocabSize: config.vocabSize) } catch { throw bad("\(error)") }
            let sub = SubwordTokenizer(kind: .bpe, section: section, fileName: "tokenizer.json", fileBytes: BPETrainer.huggingFaceJSON(section))
            // Only a tokenizer that its tokenizer.json reads back to exactly (GPT-2-style byte-level BPE ranked by merges).
            let temp = scratchDir + "/.init-from-\(getpid())-tokenizer.json"
            defer { unlink(temp) }
            try FileIO.writeAtomically(temp, sub.fileBytes)
            guard (try? TokenizerFiles.load([temp])) == section else {
                throw bad("its bpe tokenizer is not one a tokenizer.json carries exactly (GPT-2 byte-level BPE with merges); not supported by --init-from yet")
            }
            itos = section.tokens; choice = .bpe; subword = sub
        default:
            throw bad("its \(kind) tokenizer is not supported by --init-from yet (char, bytes and bpe are)")
        }
        guard itos.count == config.vocabSize else { throw bad("its tokenizer has \(itos.count) tokens, the model \(config.vocabSize)") }
        var weights: [String: [Float]] = [:]
        for info in file.tensors { weights[info.name] = file.view(info).dequantized() }
        return InitModel(path: path, config: config, tokenizer: choice, itos: itos, subword: subword, weights: weights)
    }

    /// The configuration of the run: the model's, with BitLinear on if the model is ternary or
    /// `bitLinear` asks for it (quantization-aware fine-tuning of a float model).
    func runConfig(bitLinear: Bool, bitLinearNorm: Bool) -> ModelConfig {
        var c = config
        if bitLinear && !c.bitLinear { c.bitLinear = true; c.bitLinearNorm = bitLinearNorm }
        return c
    }

    /// The text at `path` in the model's tokens; a character the vocabulary lacks is an error.
    /// A bpe model's tokenizer is first written to `out` as the run's `tokenizer.json`.
    func tokenData(path: String, out: String) throws(TrainError) -> TokenData {
        if let subword {
            try subword.write(into: out)
            let d = try TokenData.load(path: path, tokenizer: .bpe, tokenizerFile: out + "/" + subword.fileName)
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
