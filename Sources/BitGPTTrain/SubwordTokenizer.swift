import BitGPT
import Foundation

/// The sub-word tokenizer of a training run (`--tokenizer bpe` or `sentencepiece`): trained on
/// the text or read from an existing file, kept as the file that defines it.
///
/// The file travels with the run: it is cached next to the text with the token ids, written to
/// `OUT/` (``fileName``: `tokenizer.json`, `tokenizer.tiktoken` or `tokenizer.model`) where
/// `--resume` reads it back instead of training again, recorded in the checkpoint metadata by
/// name and xxHash64, and stored in the exported `.bgpt` as its tokenizer section.
public struct SubwordTokenizer {
    /// bpe or sentencepiece.
    public var kind: TokenizerChoice
    /// The tokenizer as a `.bgpt` tokenizer section.
    public var section: TokenizerSection
    /// Name of the file in `OUT/` and in the cache folder.
    public var fileName: String
    /// The file's bytes.
    public var fileBytes: [UInt8]

    /// xxHash64 of the file.
    public var fileHash: UInt64 { XXHash64.hash(fileBytes) }
    /// Token text by id (bpe: byte-to-unicode form; sentencepiece: pieces).
    public var itos: [String] { section.tokens }

    /// The runtime tokenizer the exported `.bgpt` will rebuild.
    public func makeTokenizer() throws(TrainError) -> any Tokenizer {
        do { return try TokenizerFactory.make(section: section) } catch {
            throw .badData(path: fileName, reason: "\(error)")
        }
    }

    /// Trains a tokenizer of `vocabSize` tokens on `text`.
    ///
    /// - bpe: ``BPETrainer`` (GPT-2 pre-tokenization, 256 byte tokens + merges), written as a
    ///   Hugging Face `tokenizer.json`.
    /// - sentencepiece: libsentencepiece's trainer (``SentencePieceTrainer``), written as `.model`.
    /// - Throws: ``TrainError/badOption(_:)`` for an unusable vocabulary size,
    ///   ``TrainError/badData(path:reason:)`` when training fails.
    public static func train(kind: TokenizerChoice, text: String, vocabSize: Int, path: String) throws(TrainError) -> SubwordTokenizer {
        guard vocabSize <= 65_536 else { throw .badOption("--vocab-size \(vocabSize) exceeds 65536 (token ids are stored as uint16)") }
        switch kind {
        case .bpe:
            guard vocabSize >= BPETrainer.minVocabSize else { throw .badOption("--vocab-size must be at least 256 for --tokenizer bpe, got \(vocabSize)") }
            let section: TokenizerSection
            do { section = try BPETrainer.train(text: text, vocabSize: vocabSize) } catch { throw .badData(path: path, reason: "\(error)") }
            return SubwordTokenizer(kind: .bpe, section: section, fileName: "tokenizer.json", fileBytes: BPETrainer.huggingFaceJSON(section))
        case .sentencepiece:
            let proto: [UInt8]
            do { proto = try SentencePieceTrainer.train(text: text, vocabSize: vocabSize) } catch { throw .badData(path: path, reason: "\(error)") }
            return try fromModel(proto, path: path)
        case .char, .bytes:
            throw .badOption("--vocab-size applies to --tokenizer bpe or sentencepiece only")
        }
    }

    /// Reads an existing tokenizer file: for bpe a Hugging Face `tokenizer.json` or a
    /// `.tiktoken` rank file (GPT-2's pattern, `<|endoftext|>` after the last rank); for
    /// sentencepiece a `.model`.
    /// - Throws: ``TrainError/badData(path:reason:)`` for a file of the wrong kind, one that does
    ///   not load, or a vocabulary over 65,536.
    public static func load(kind: TokenizerChoice, file: String) throws(TrainError) -> SubwordTokenizer {
        let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber
        if let size, size.intValue > TokenizerFiles.maxFileSize {
            throw .badData(path: file, reason: "\(size.intValue) bytes, larger than the \(TokenizerFiles.maxFileSize)-byte limit for tokenizer files")
        }
        let bytes = try FileIO.read(file)
        let t: SubwordTokenizer
        switch kind {
        case .bpe:
            let name: String
            if file.hasSuffix(".tiktoken") {
                name = "tokenizer.tiktoken"
            } else if file.hasSuffix(".json") {
                name = "tokenizer.json"
            } else {
                throw .badData(path: file, reason: "--tokenizer bpe needs a tokenizer.json or .tiktoken file")
            }
            let section: TokenizerSection
            do { section = try TokenizerFiles.load([file]) } catch { throw .badData(path: file, reason: "\(error)") }
            guard section.kind == .bpe else { throw .badData(path: file, reason: "not a byte-level BPE tokenizer") }
            t = SubwordTokenizer(kind: .bpe, section: section, fileName: name, fileBytes: bytes)
        case .sentencepiece:
            guard file.hasSuffix(".model") else { throw .badData(path: file, reason: "--tokenizer sentencepiece needs a .model file") }
            t = try fromModel(bytes, path: file)
        case .char, .bytes:
            throw .badOption("--tokenizer-file applies to --tokenizer bpe or sentencepiece only")
        }
        guard t.section.tokens.count <= 65_536 else {
            throw .badData(path: file, reason: "\(t.section.tokens.count) tokens, more than 65536 (token ids are stored as uint16)")
        }
        return t
    }

    /// The tokenizer file a run folder holds for `kind` (what `--resume` reads), or nil.
    public static func file(inRun dir: String, kind: TokenizerChoice) -> String? {
        let names = kind == .sentencepiece ? ["tokenizer.model"] : kind == .bpe ? ["tokenizer.json", "tokenizer.tiktoken"] : []
        return names.map { dir + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Writes the file into `dir` (atomically).
    public func write(into dir: String) throws(TrainError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io(path: dir, reason: "cannot create the folder")
        }
        try FileIO.writeAtomically(dir + "/" + fileName, fileBytes)
    }

    /// What the checkpoint records about the tokenizer beside kind and vocabulary.
    var checkpointRecord: [String: Any] { ["file": fileName, "file_xxh64": String(fileHash)] }

    /// The SentencePiece tokenizer of a serialized model proto (a `.model` file's bytes, or a
    /// `.bgpt`'s `tokenizer.sentencepiece.model`), kept as `tokenizer.model` with exactly these bytes.
    /// - Throws: ``TrainError/badData(path:reason:)`` naming `path` when the proto does not load.
    static func fromModel(_ proto: [UInt8], path: String) throws(TrainError) -> SubwordTokenizer {
        let spm: SentencePieceTokenizer
        do { spm = try SentencePieceTokenizer(modelProto: proto) } catch { throw .badData(path: path, reason: "\(error)") }
        return SubwordTokenizer(kind: .sentencepiece, section: spm.section, fileName: "tokenizer.model", fileBytes: proto)
    }
}

extension TokenData {
    /// Prepares the ids of a text for a sub-word tokenizer, with a cache folder next to the text:
    /// `NAME.bpeN/` or `NAME.sentencepieceN/` for a tokenizer trained with vocabulary N, and
    /// `NAME.bpe-HASH/` or `NAME.sentencepiece-HASH/` for an existing file (HASH: its xxHash64 in
    /// hex). The folder holds the tokenizer file, `train.bin`, `val.bin` and `meta.json` (source
    /// size and hash, tokenizer file name and hash); a mismatch re-tokenizes.
    static func loadSubword(path: String, bytes: [UInt8], hash: UInt64, kind: TokenizerChoice, vocabSize: Int?,
                            file: String?) throws(TrainError) -> TokenData {
        let given: SubwordTokenizer?
        let cache: String
        if let file {
            let t = try SubwordTokenizer.load(kind: kind, file: file)
            given = t
            cache = path + "." + kind.rawValue + "-" + String(t.fileHash, radix: 16)
        } else {
            guard let vocabSize else { throw .badOption("--tokenizer \(kind.rawValue) needs --vocab-size N (to train one) or --tokenizer-file") }
            guard vocabSize >= 1 && vocabSize <= 65_536 else { throw .badOption("--vocab-size must be in 1...65536, got \(vocabSize)") }
            given = nil
            cache = path + "." + kind.rawValue + String(vocabSize)
        }
        if let cached = readSubwordCache(cache, size: bytes.count, hash: hash, kind: kind, expected: given) { return cached }

        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .badData(path: path, reason: "not valid UTF-8 (use --tokenizer bytes)")
        }
        var tok: SubwordTokenizer
        if let given {
            tok = given
        } else {
            tok = try SubwordTokenizer.train(kind: kind, text: text, vocabSize: vocabSize ?? 0, path: path)
            // Use the tokenizer as its file reads back, so a cached run and this one agree exactly.
            try tok.write(into: cache)
            tok = try SubwordTokenizer.load(kind: kind, file: cache + "/" + tok.fileName)
        }
        let ids: [Int]
        do { ids = try tok.makeTokenizer().encode(text) } catch { throw .badData(path: path, reason: "cannot tokenize: \(error)") }
        guard let maxId = ids.max(), maxId < 65_536 else { throw .badData(path: path, reason: "no tokens, or ids past 65535") }
        let n = ids.count * 9 / 10
        var data = TokenData(tokenizer: kind, itos: tok.itos, train: ids[..<n].map { UInt16($0) }, val: ids[n...].map { UInt16($0) })
        data.subword = tok
        // Best effort, as for char and bytes.
        do {
            try tok.write(into: cache)
            try FileIO.writeAtomically(cache + "/train.bin", littleEndian(data.train))
            try FileIO.writeAtomically(cache + "/val.bin", littleEndian(data.val))
            let meta: [String: Any] = ["tokenizer": kind.rawValue, "vocab_size": data.vocabSize, "tokenizer_file": tok.fileName,
                                       "tokenizer_xxh64": String(tok.fileHash), "source_bytes": bytes.count, "source_xxh64": String(hash)]
            if let json = try? JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys]) {
                try FileIO.writeAtomically(cache + "/meta.json", [UInt8](json))
            }
        } catch {}
        return data
    }

    private static func readSubwordCache(_ dir: String, size: Int, hash: UInt64, kind: TokenizerChoice, expected: SubwordTokenizer?) -> TokenData? {
        guard let m = FileManager.default.contents(atPath: dir + "/meta.json"),
              let j = try? JSONSerialization.jsonObject(with: m) as? [String: Any],
              j["source_bytes"] as? Int == size, j["source_xxh64"] as? String == String(hash),
              j["tokenizer"] as? String == kind.rawValue, let name = j["tokenizer_file"] as? String,
              ["tokenizer.json", "tokenizer.tiktoken", "tokenizer.model"].contains(name),
              let fileHash = j["tokenizer_xxh64"] as? String,
              let tr = FileManager.default.contents(atPath: dir + "/train.bin"),
              let va = FileManager.default.contents(atPath: dir + "/val.bin"),
              tr.count % 2 == 0, va.count % 2 == 0 else { return nil }
        let tok: SubwordTokenizer
        if let expected {
            guard String(expected.fileHash) == fileHash else { return nil }
            tok = expected
        } else {
            guard let t = try? SubwordTokenizer.load(kind: kind, file: dir + "/" + name), String(t.fileHash) == fileHash else { return nil }
            tok = t
        }
        func ids(_ d: Data) -> [UInt16] { d.withUnsafeBytes { b in (0..<(d.count / 2)).map { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } } }
        let train = ids(tr), val = ids(va)
        let n = tok.itos.count
        guard train.allSatisfy({ Int($0) < n }), val.allSatisfy({ Int($0) < n }) else { return nil }
        var data = TokenData(tokenizer: kind, itos: tok.itos, train: train, val: val)
        data.subword = tok
        return data
    }

    private static func littleEndian(_ ids: [UInt16]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ids.count * 2)
        for (i, v) in ids.enumerated() { out[2 * i] = UInt8(v & 0xFF); out[2 * i + 1] = UInt8(v >> 8) }
        return out
    }
}
