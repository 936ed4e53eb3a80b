import BitGPT
import Foundation

/// How text becomes token ids.
public enum TokenizerChoice: String, CaseIterable, Sendable {
    /// One token per Unicode scalar of the text; the vocabulary is the sorted set of scalars
    /// that occur (nanoGPT `shakespeare_char/prepare.py`).
    case char
    /// One token per UTF-8 byte; vocabulary 256.
    case bytes
    /// GPT-2 style byte-level BPE, trained on the text (``BPETrainer``) or read from a
    /// `tokenizer.json` / `.tiktoken` file.
    case bpe
    /// SentencePiece, trained on the text (``SentencePieceTrainer``) or read from a `.model` file.
    case sentencepiece

    /// Whether the vocabulary is a sub-word tokenizer kept in its own file (bpe, sentencepiece).
    public var isSubword: Bool { self == .bpe || self == .sentencepiece }
}

/// The training text as token ids, split 90/10 into train and val, with its vocabulary.
///
/// Ids are cached next to the text, as nanoGPT's `prepare.py` does, in a folder `NAME.TOKENIZER/`
/// holding `train.bin` and `val.bin` (uint16 little-endian) and `meta.json` (vocabulary, and
/// the size and xxHash64 of the source, so an edited text is re-tokenized).
public struct TokenData {
    public let tokenizer: TokenizerChoice
    /// Token text by id (`tokenizer.tokens` of the exported .bgpt).
    public let itos: [String]
    public let train: [UInt16], val: [UInt16]
    public var vocabSize: Int { itos.count }
    /// The sub-word tokenizer (bpe, sentencepiece): its section and its file; nil otherwise.
    public var subword: SubwordTokenizer? = nil

    public init(tokenizer: TokenizerChoice, itos: [String], train: [UInt16], val: [UInt16]) {
        self.tokenizer = tokenizer; self.itos = itos; self.train = train; self.val = val
    }

    /// Loads (or prepares and caches) the ids of `path`.
    ///
    /// - Throws: ``TrainError/badData(path:reason:)`` for an empty file, text that is not UTF-8
    ///   (char tokenizer), more than 65,536 distinct characters; ``TrainError/io(path:reason:)``.
    /// - Parameters:
    ///   - path: the training text.
    ///   - tokenizer: the tokenizer kind.
    ///   - vocabSize: bpe / sentencepiece: the vocabulary to train (when there is no `tokenizerFile`).
    ///   - tokenizerFile: bpe / sentencepiece: an existing tokenizer file to use instead of training
    ///     (see ``SubwordTokenizer/load(kind:file:)``).
    public static func load(path: String, tokenizer: TokenizerChoice, vocabSize: Int? = nil,
                            tokenizerFile: String? = nil) throws(TrainError) -> TokenData {
        let bytes = try FileIO.read(path)
        guard !bytes.isEmpty else { throw .badData(path: path, reason: "the file is empty") }
        let hash = XXHash64.hash(bytes)
        if tokenizer.isSubword {
            return try loadSubword(path: path, bytes: bytes, hash: hash, kind: tokenizer, vocabSize: vocabSize, file: tokenizerFile)
        }
        let cache = path + "." + tokenizer.rawValue
        if let cached = readCache(cache, size: bytes.count, hash: hash, tokenizer: tokenizer) { return cached }

        var ids: [UInt16]
        var itos: [String]
        switch tokenizer {
        case .bytes:
            ids = bytes.map { UInt16($0) }
            itos = byteVocabulary
        case .bpe, .sentencepiece:
            throw .badOption("unreachable: sub-word tokenizers are prepared by loadSubword")
        case .char:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .badData(path: path, reason: "not valid UTF-8 (use --tokenizer bytes)")
            }
            let scalars = Array(text.unicodeScalars)
            let vocab = Array(Set(scalars.map { $0.value })).sorted()
            guard vocab.count <= 65_536 else { throw .badData(path: path, reason: "\(vocab.count) distinct characters, more than 65536") }
            var stoi: [UInt32: UInt16] = [:]
            for (i, v) in vocab.enumerated() { stoi[v] = UInt16(i) }
            ids = scalars.map { stoi[$0.value]! }
            itos = vocab.map { String(Character(UnicodeScalar($0)!)) }
        }
        let n = ids.count * 9 / 10
        let data = TokenData(tokenizer: tokenizer, itos: itos, train: Array(ids[..<n]), val: Array(ids[n...]))
        writeCache(cache, data, size: bytes.count, hash: hash)
        return data
    }

    /// The `bytes` tokenizer's vocabulary by id: printable ASCII as itself, other bytes as `<0xHH>`.
    public static let byteVocabulary = (0..<256).map { b in (0x21..<0x7f).contains(b) ? String(UnicodeScalar(UInt8(b))) : String(format: "<0x%02X>", b) }

    /// Checks that both splits hold at least one window of `blockSize + 1` tokens.
    public func check(blockSize: Int, path: String) throws(TrainError) {
        for (name, split) in [("train", train), ("val", val)] where split.count < blockSize + 1 {
            throw .badData(path: path, reason: "the \(name) split has \(split.count) tokens; --block-size \(blockSize) needs at least \(blockSize + 1) (use a longer text or a smaller block)")
        }
    }

    private static func readCache(_ dir: String, size: Int, hash: UInt64, tokenizer: TokenizerChoice) -> TokenData? {
        guard let m = FileManager.default.contents(atPath: dir + "/meta.json"),
              let j = try? JSONSerialization.jsonObject(with: m) as? [String: Any],
              j["source_bytes"] as? Int == size, j["source_xxh64"] as? String == String(hash),
              j["tokenizer"] as? String == tokenizer.rawValue, let itos = j["itos"] as? [String],
              let tr = FileManager.default.contents(atPath: dir + "/train.bin"),
              let va = FileManager.default.contents(atPath: dir + "/val.bin"),
              tr.count % 2 == 0, va.count % 2 == 0 else { return nil }
        func ids(_ d: Data) -> [UInt16] { d.withUnsafeBytes { b in (0..<(d.count / 2)).map { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } } }
        let train = ids(tr), val = ids(va)
        // A cache is a file like any other: ids past the vocabulary mean it is stale or damaged.
        guard train.allSatisfy({ Int($0) < itos.count }), val.allSatisfy({ Int($0) < itos.count }) else { return nil }
        return TokenData(tokenizer: tokenizer, itos: itos, train: train, val: val)
    }

    private static func writeCache(_ dir: String, _ d: TokenData, size: Int, hash: UInt64) {
        // Best effort: a read-only data folder only costs re-tokenizing next time.
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            func bin(_ ids: [UInt16]) -> [UInt8] { ids.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
            try FileIO.writeAtomically(dir + "/train.bin", bin(d.train))
            try FileIO.writeAtomically(dir + "/val.bin", bin(d.val))
            let meta: [String: Any] = ["tokenizer": d.tokenizer.rawValue, "vocab_size": d.vocabSize, "itos": d.itos,
                                       "source_bytes": size, "source_xxh64": String(hash)]
            let json = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
            try FileIO.writeAtomically(dir + "/meta.json", [UInt8](json))
        } catch {}
    }
}

/// The trainer's random stream: SplitMix64 (``SeededRandom``) whose whole state is one `UInt64`,
/// saved in checkpoints so a resumed run draws the same batches.
public struct TrainRandom: Equatable {
    public private(set) var state: UInt64
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits (SplitMix64: the state advances by the golden-ratio increment).
    public mutating func next() -> UInt64 {
        var r = SeededRandom(seed: state)
        state &+= 0x9E37_79B9_7F4A_7C15
        return r.next()
    }

    /// Fills the model's inputs and targets with `batch` random windows of `split`:
    /// `x = data[i ..< i+T]`, `y = data[i+1 ..< i+T+1]`, `i` uniform in `0 ..< count − T`
    /// (nanoGPT `get_batch`).
    public mutating func fillBatch(_ model: TrainModel, from split: [UInt16]) {
        let T = model.blockSize
        let range = UInt64(split.count - T)
        split.withUnsafeBufferPointer { d in
            for b in 0..<model.batch {
                let i = Int(next() % range)
                for t in 0..<T {
                    model.inputs[b * T + t] = Int32(d[i + t])
                    model.targets[b * T + t] = Int32(d[i + t + 1])
                }
            }
        }
    }
}
