import BitGPT
import Foundation

/// Builds the `tokenizer.*` metadata section of a .bgpt file from a tokenizer file.
///
/// lm-train's `DATA.char/meta.json` and nanoGPT's `meta.pkl` (a plain pickle of `{'vocab_size', 'itos', 'stoi'}`, read with the same
/// restricted ``PickleMachine`` as checkpoints, no globals allowed) becomes a `char` tokenizer
/// whose `tokenizer.tokens` are `itos` in id order, with `unknown_policy = "error"`. SentencePiece
/// `.model`, Hugging Face `tokenizer.json`, GPT-2 `encoder.json` + `vocab.bpe` (two paths joined
/// by a comma), `.tiktoken` and another model's `.bgpt` go through the tokenizer library
/// (``TokenizerFiles/load(_:)``). llama2.c's `tokenizer.bin` is refused (use its `tokenizer.model`).
public enum TokenizerImport {
    /// The tokenizer section for the file at `path`.
    ///
    /// - Parameters:
    ///   - path: the tokenizer file.
    ///   - vocabSize: the model's `model.vocab_size`; the tokenizer may have fewer tokens (padded
    ///     embeddings) but never more.
    /// - Throws: ``ConvertError/tokenizer(_:)``, or a pickle error for a hostile `meta.pkl`.
    public static func metadata(path: String, vocabSize: Int) throws(ConvertError) -> Metadata {
        let lower = path.lowercased()
        if lower.hasSuffix(".pkl") || lower.hasSuffix(".pickle") {
            return try charTokenizer(SourceFile(path: path), vocabSize: vocabSize)
        }
        if lower.hasSuffix("meta.json") {
            return try charTokenizerJSON(SourceFile(path: path), vocabSize: vocabSize)
        }
        if lower.hasSuffix(".bin") {
            throw .tokenizer("\(path): llama2.c tokenizer.bin is not supported; convert with its SentencePiece tokenizer.model instead")
        }
        let section: TokenizerSection
        do { section = try TokenizerFiles.load([path]) } catch { throw .tokenizer("\(path): \(error)") }
        guard section.tokens.count <= vocabSize else {
            throw .tokenizer("\(path): \(section.tokens.count) tokens, but the model's vocabulary has \(vocabSize) rows")
        }
        return section.toMetadata()
    }

    /// Reads lm-train's `DATA.char/meta.json` (`{"tokenizer": "char", "itos": [...], ...}`) into a
    /// `char` tokenizer section.
    public static func charTokenizerJSON(_ file: SourceFile, vocabSize: Int) throws(ConvertError) -> Metadata {
        guard file.bytes.count <= 64 << 20 else { throw .tokenizer("\(file.path): \(file.bytes.count) bytes, too large for a meta.json") }
        let object = try? JSONSerialization.jsonObject(with: Data(file.bytes)) as? [String: Any]
        guard let object, object["tokenizer"] as? String == "char", let tokens = object["itos"] as? [String] else {
            throw .tokenizer("\(file.path): not lm-train's char meta.json (no \"tokenizer\": \"char\" with an \"itos\" array)")
        }
        guard !tokens.isEmpty, tokens.count <= vocabSize else {
            throw .tokenizer("\(file.path): \(tokens.count) tokens, but the model's vocabulary has \(vocabSize) rows")
        }
        guard tokens.allSatisfy({ !$0.isEmpty }), Set(tokens).count == tokens.count else {
            throw .tokenizer("\(file.path): itos has an empty entry or maps two ids to the same text")
        }
        var m = Metadata()
        m.set("tokenizer.kind", .string("char"))
        m.set("tokenizer.tokens", .array(.string(tokens)))
        m.set("tokenizer.unknown_policy", .string("error"))
        return m
    }

    /// Reads a nanoGPT `meta.pkl` into a `char` tokenizer section.
    public static func charTokenizer(_ file: SourceFile, vocabSize: Int) throws(ConvertError) -> Metadata {
        let root = try PickleMachine(bytes: file.bytes, storages: [:], opaqueClasses: []).run()
        guard case let .dict(itos)? = root["itos"] else { throw .tokenizer("\(file.path): no 'itos' dict (not a nanoGPT meta.pkl)") }
        let n = itos.entries.count
        guard n > 0, n <= vocabSize else {
            throw .tokenizer("\(file.path): \(n) tokens, but the model's vocabulary has \(vocabSize) rows")
        }
        if let v = root["vocab_size"]?.intValue, v != n { throw .tokenizer("\(file.path): vocab_size is \(v) but itos has \(n) entries") }
        var tokens: [String] = []
        tokens.reserveCapacity(n)
        for id in 0..<n {
            guard let s = itos[int: id]?.stringValue else { throw .tokenizer("\(file.path): itos has no string for id \(id)") }
            guard !s.isEmpty else { throw .tokenizer("\(file.path): itos[\(id)] is empty") }
            tokens.append(s)
        }
        guard Set(tokens).count == n else { throw .tokenizer("\(file.path): itos maps two ids to the same text") }
        if case let .dict(stoi)? = root["stoi"] {
            for (id, s) in tokens.enumerated() where stoi[s]?.intValue != id {
                throw .tokenizer("\(file.path): stoi[\(MetadataValue.string(s))] does not equal \(id), the inverse of itos")
            }
        }
        var m = Metadata()
        m.set("tokenizer.kind", .string("char"))
        m.set("tokenizer.tokens", .array(.string(tokens)))
        m.set("tokenizer.unknown_policy", .string("error"))
        return m
    }
}
