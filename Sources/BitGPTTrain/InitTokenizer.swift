import BitGPT
import BitGPTConvert
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tokenizer of an `--init-from` run: the model's own (its `.bgpt` tokenizer section), or,
/// for a checkpoint that carries none (a llama2.c `.bin`, a nanoGPT `ckpt.pt` without its
/// `meta.pkl`), the `--tokenizer-file` given with it.
///
/// A sub-word tokenizer (bpe, sentencepiece) becomes the run's tokenizer file (``SubwordTokenizer``:
/// `OUT/tokenizer.json`, `.tiktoken` or `.model`), so `--resume` and the exported `.bgpt` use it
/// exactly as in a run that trained its own; a `char` vocabulary lives in the checkpoint.
struct InitTokenizer {
    /// The tokenizer kind of the run.
    let kind: TokenizerChoice
    /// The vocabulary by id.
    let itos: [String]
    /// The run's tokenizer file (bpe, sentencepiece), or nil (char, bytes).
    let subword: SubwordTokenizer?

    /// The tokenizer section in a model's metadata: `char`, `bytes` (256 ids), a byte-level `bpe`
    /// that a Hugging Face `tokenizer.json` carries exactly (lm-train's own), or `sentencepiece`
    /// (its embedded model proto, `tokenizer.sentencepiece.model`, becomes `tokenizer.model`).
    ///
    /// - Parameters:
    ///   - kind: `tokenizer.kind`.
    ///   - vocabSize: the model's embedding rows.
    ///   - scratchDir: where the bpe check writes its temporary `tokenizer.json`.
    ///   - source: `--init-from MODEL`, the start of every error.
    /// - Throws: ``TrainError/badOption(_:)``, one line naming `source`.
    static func own(kind: String, metadata: Metadata, vocabSize: Int, scratchDir: String, source: String) throws(TrainError) -> InitTokenizer {
        func bad(_ r: String) -> TrainError { .badOption("\(source): \(r)") }
        switch kind {
        case "char":
            guard let tokens = try? metadata.strings("tokenizer.tokens") else { throw bad("its char tokenizer has no tokenizer.tokens") }
            return InitTokenizer(kind: .char, itos: tokens, subword: nil)
        case "bytes":
            guard vocabSize == 256 else { throw bad("a bytes tokenizer with \(vocabSize) ids is not supported by --init-from (256 are)") }
            return InitTokenizer(kind: .bytes, itos: TokenData.byteVocabulary, subword: nil)
        case "bpe":
            let section: TokenizerSection
            do { section = try TokenizerSection(metadata: metadata, vocabSize: vocabSize) } catch { throw bad("\(error)") }
            let sub = SubwordTokenizer(kind: .bpe, section: section, fileName: "tokenizer.json", fileBytes: BPETrainer.huggingFaceJSON(section))
            // Only a tokenizer that its tokenizer.json reads back to exactly (GPT-2-style byte-level BPE ranked by merges).
            let temp = scratchDir + "/.init-from-\(getpid())-tokenizer.json"
            defer { unlink(temp) }
            try FileIO.writeAtomically(temp, sub.fileBytes)
            guard (try? TokenizerFiles.load([temp])) == section else {
                throw bad("its bpe tokenizer is not one a tokenizer.json carries exactly (GPT-2 byte-level BPE with merges); not supported by --init-from yet")
            }
            return InitTokenizer(kind: .bpe, itos: section.tokens, subword: sub)
        case "sentencepiece":
            let section: TokenizerSection
            do { section = try TokenizerSection(metadata: metadata, vocabSize: vocabSize) } catch { throw bad("\(error)") }
            guard let proto = section.sentencePieceModel else { throw bad("its sentencepiece tokenizer has no tokenizer.sentencepiece.model") }
            // The proto the runtime loads, kept as the run's tokenizer.model (as `--tokenizer-file X.model` is).
            let sub: SubwordTokenizer
            do { sub = try SubwordTokenizer.fromModel(proto, path: "tokenizer.sentencepiece.model") } catch { throw bad("\(error)") }
            return InitTokenizer(kind: .sentencepiece, itos: sub.itos, subword: sub)
        default:
            throw bad("its \(kind) tokenizer is not supported by --init-from (char, bytes, bpe and sentencepiece are)")
        }
    }

    /// The tokenizer `file` for a model that has none, through the readers lm-train and lm-convert
    /// already use: a SentencePiece `.model`, a Hugging Face `tokenizer.json` or `.tiktoken`
    /// (``SubwordTokenizer/load(kind:file:)``), or a nanoGPT `meta.pkl` / lm-train `meta.json`
    /// char vocabulary (``TokenizerImport``). Its vocabulary must have exactly `vocabSize` tokens.
    ///
    /// - Throws: ``TrainError`` naming the file: a kind it cannot be, a file that does not load,
    ///   or `source: the model has N token rows, --tokenizer-file F has M tokens`.
    static func given(file: String, vocabSize: Int, source: String) throws(TrainError) -> InitTokenizer {
        guard FileManager.default.fileExists(atPath: file) else { throw .io(path: file, reason: "no such file") }
        let lower = file.lowercased()
        let t: InitTokenizer
        if lower.hasSuffix(".pkl") || lower.hasSuffix(".pickle") || lower.hasSuffix("meta.json") || lower.hasSuffix(".bin") {
            // lm-convert's reader (it refuses llama2.c's tokenizer.bin, naming its tokenizer.model); the count is compared below.
            let tokens: [String]
            do {
                let m = try TokenizerImport.metadata(path: file, vocabSize: Int.max)
                tokens = (try? m.strings("tokenizer.tokens")) ?? []
            } catch {
                // Its tokenizer errors already name the file.
                if case .tokenizer(let m) = error { throw .badOption("--tokenizer-file " + m) }
                throw .badData(path: file, reason: "\(error)")
            }
            t = InitTokenizer(kind: .char, itos: tokens, subword: nil)
        } else if lower.hasSuffix(".model") {
            let s = try SubwordTokenizer.load(kind: .sentencepiece, file: file)
            t = InitTokenizer(kind: .sentencepiece, itos: s.itos, subword: s)
        } else if lower.hasSuffix(".json") || lower.hasSuffix(".tiktoken") {
            let s = try SubwordTokenizer.load(kind: .bpe, file: file)
            t = InitTokenizer(kind: .bpe, itos: s.itos, subword: s)
        } else {
            throw .badData(path: file, reason: "--tokenizer-file with --init-from takes a SentencePiece .model, tokenizer.json, .tiktoken, nanoGPT meta.pkl or lm-train meta.json")
        }
        guard t.itos.count == vocabSize else {
            throw .badOption("\(source): the model has \(vocabSize) token rows, --tokenizer-file \(file) has \(t.itos.count) tokens")
        }
        return t
    }
}
