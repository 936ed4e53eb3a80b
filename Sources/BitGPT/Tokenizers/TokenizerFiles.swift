import Foundation
#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Musl)
import Musl
private let systemRead = Musl.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// Readers of external tokenizer files, each giving a ``TokenizerSection`` (which
/// ``TokenizerFactory/make(section:vocabSize:)`` builds and ``TokenizerSection/write(into:)``
/// stores in a .bgpt).
///
/// Files are treated as hostile: sizes are capped, every id and merge is checked, and anything
/// malformed is a ``TokenizerError/invalid(_:)`` naming the file and the entry.
public enum TokenizerFiles {
    /// Largest tokenizer file read (512 MiB).
    public static let maxFileSize = 512 << 20
    /// Largest id accepted from a vocabulary file.
    public static let maxVocabulary = 4_000_000
    /// Ids past the ones a file defines that may be left unused: a vocabulary of `n` entries may
    /// reach id `2 n + maxUnusedIds - 1` at most, so a few bytes cannot claim millions of tokens.
    public static let maxUnusedIds = 1024

    /// Refuses a vocabulary whose largest id leaves most ids unused.
    /// - Throws: ``TokenizerError/invalid(_:)`` naming the file.
    static func checkDensity(size: Int, entries: Int, _ path: String, _ what: String) throws(TokenizerError) {
        guard size <= 2 * entries + maxUnusedIds else {
            throw .invalid("\(path): \(what) ids reach \(size - 1) with only \(entries) entries (at most \(entries + maxUnusedIds) ids may be unused)")
        }
    }

    /// Loads any supported tokenizer file, chosen by name:
    /// `.bgpt` (its tokenizer section), `.model` (SentencePiece), `.tiktoken`, `encoder.json`
    /// with `vocab.bpe` (two paths, or one path holding a comma), or HF `tokenizer.json` (any
    /// other `.json`).
    /// - Parameter paths: one path, or two for GPT-2's files (in either order).
    /// - Throws: ``TokenizerError`` naming the file.
    public static func load(_ paths: [String]) throws(TokenizerError) -> TokenizerSection {
        var list = paths
        if list.count == 1 && list[0].contains(",") { list = list[0].split(separator: ",").map(String.init) }
        if list.count == 2 {
            let vocab = list.first { $0.hasSuffix(".bpe") || $0.hasSuffix(".txt") } ?? list[1]
            let encoder = list.first { $0 != vocab } ?? list[0]
            return try gpt2(encoderJSON: encoder, vocabBPE: vocab)
        }
        guard list.count == 1 else { throw .invalid("expected one tokenizer file, or encoder.json and vocab.bpe") }
        let path = list[0]
        if path.hasSuffix(".bgpt") {
            let file: BGPTFile
            do { file = try BGPTFile(path: path) } catch { throw .invalid("\(path): \(error)") }
            let v = file.metadata["model.vocab_size"]?.integer
            do { return try TokenizerSection(metadata: file.metadata, vocabSize: v) } catch { throw prefixed(path, error) }
        }
        if path.hasSuffix(".model") { return try SentencePieceTokenizer(path: path).section }
        if path.hasSuffix(".tiktoken") { return try tiktoken(path: path) }
        if path.hasSuffix(".json") { return try huggingFace(path: path) }
        throw .unsupported("\(path): unknown tokenizer file type (expected .bgpt, .model, .tiktoken, tokenizer.json or encoder.json+vocab.bpe)")
    }

    /// A `char` section from nanoGPT's `itos` (id → character).
    public static func char(itos: [String], unknownPolicy: TokenizerSection.UnknownPolicy = .error, unkId: Int? = nil) throws(TokenizerError) -> TokenizerSection {
        let s = TokenizerSection(kind: .char, tokens: itos, unkId: unkId, unknownPolicy: unknownPolicy)
        _ = try CharTokenizer(section: s)
        return s
    }

    /// Reads a whole file, capped at ``maxFileSize``; only regular files are read.
    ///
    /// Plain POSIX calls: Foundation's `FileManager.contents(atPath:)` leaks a buffer on empty
    /// files (found by tools/fuzz), and opening with `O_NONBLOCK` keeps a FIFO from hanging.
    static func read(_ path: String) throws(TokenizerError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .invalid("\(path): cannot read the file") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw .invalid("\(path): cannot read the file") }
        let size = Int(st.st_size)
        guard size <= maxFileSize else { throw .invalid("\(path): \(size) bytes, larger than the \(maxFileSize)-byte limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { b in systemRead(fd, b.baseAddress! + done, size - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        guard done == size else { throw .invalid("\(path): cannot read the file") }
        return Data(bytes)
    }

    static func prefixed(_ path: String, _ e: TokenizerError) -> TokenizerError {
        switch e {
        case let .invalid(m): return .invalid("\(path): \(m)")
        case let .unsupported(m): return .unsupported("\(path): \(m)")
        default: return e
        }
    }

    static func json(_ path: String) throws(TokenizerError) -> Any {
        let data = try read(path)
        do { return try JSONSerialization.jsonObject(with: data, options: []) } catch {
            throw .invalid("\(path): not valid JSON (\(error.localizedDescription))")
        }
    }

    /// Tokens by id from a {token: id} map; gaps become empty unused tokens.
    static func tokensById(_ map: [String: Any], _ path: String, _ what: String) throws(TokenizerError) -> (tokens: [String], types: [UInt8]) {
        var maxId = -1
        var pairs: [(String, Int)] = []
        pairs.reserveCapacity(map.count)
        for (k, v) in map {
            guard let n = v as? NSNumber, let id = Int(exactly: n.doubleValue), id >= 0, id < maxVocabulary else {
                throw .invalid("\(path): \(what) entry \(quoted(k, limit: 24)) has no valid id")
            }
            pairs.append((k, id))
            maxId = max(maxId, id)
        }
        guard maxId >= 0 else { throw .invalid("\(path): \(what) is empty") }
        try checkDensity(size: maxId + 1, entries: pairs.count, path, what)
        var tokens = [String](repeating: "", count: maxId + 1)
        var types = [UInt8](repeating: TokenizerSection.TokenType.unused.rawValue, count: maxId + 1)
        for (k, id) in pairs {
            guard types[id] == TokenizerSection.TokenType.unused.rawValue else { throw .invalid("\(path): id \(id) is given to two tokens") }
            tokens[id] = k
            types[id] = TokenizerSection.TokenType.normal.rawValue
        }
        return (tokens, types)
    }

    /// Names of special tokens recognised as bos/eos/unk/pad.
    static func assignSpecial(_ s: inout TokenizerSection, content: String, id: Int) {
        switch content {
        case "<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>": if s.bosId == nil { s.bosId = id }
        case "</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>": if s.eosId == nil { s.eosId = id }
        case "<unk>", "<|unk|>": if s.unkId == nil { s.unkId = id }
        case "<pad>", "<|pad|>": if s.padId == nil { s.padId = id }
        default: break
        }
    }

    // MARK: - GPT-2 encoder.json + vocab.bpe

    /// GPT-2's `encoder.json` ({token: id}, byte-to-unicode form) and `vocab.bpe` (a
    /// `#version` line, then one merge `a b` per line, in rank order), with GPT-2's pattern.
    /// `<|endoftext|>` becomes a control token and the eos id.
    public static func gpt2(encoderJSON: String, vocabBPE: String) throws(TokenizerError) -> TokenizerSection {
        guard let map = try json(encoderJSON) as? [String: Any] else { throw .invalid("\(encoderJSON): expected a JSON object of token → id") }
        var (tokens, types) = try tokensById(map, encoderJSON, "encoder.json")
        let text = String(decoding: try read(vocabBPE), as: UTF8.self)
        var merges: [String] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if line.hasPrefix("#version") { continue }
            merges.append(String(line))
        }
        var s = TokenizerSection(kind: .bpe, prePattern: PreTokenizer.gpt2Pattern)
        for (id, t) in tokens.enumerated() where t.hasPrefix("<|") && t.hasSuffix("|>") && t.count > 4 {
            types[id] = TokenizerSection.TokenType.control.rawValue
            assignSpecial(&s, content: t, id: id)
        }
        s.tokens = tokens
        s.tokenTypes = types
        s.merges = merges
        do { _ = try ByteLevelBPE(section: s) } catch { throw prefixed(vocabBPE, error) }
        return s
    }

    // MARK: - tiktoken

    /// A `.tiktoken` rank file (`base64(token bytes) rank` per line). Ranks are ids and merges
    /// are ranked by token (``TokenizerSection/RankBy/tokenId``).
    /// - Parameters:
    ///   - path: the file.
    ///   - pattern: the pre-tokenizer regex (default GPT-2's).
    ///   - specialTokens: special tokens and their ids; nil gives `<|endoftext|>` the id after
    ///     the last rank.
    public static func tiktoken(path: String, pattern: String = PreTokenizer.gpt2Pattern,
                                specialTokens: [String: Int]? = nil) throws(TokenizerError) -> TokenizerSection {
        let data = try read(path)
        var ranks: [(Data, Int)] = []
        var lineNo = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            lineNo += 1
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2, let bytes = Data(base64Encoded: Data(fields[0])),
                  let rank = Int(String(decoding: fields[1], as: UTF8.self).trimmingCharacters(in: .whitespaces)),
                  rank >= 0, rank < maxVocabulary, !bytes.isEmpty else {
                throw .invalid("\(path): line \(lineNo) is not `base64 rank`")
            }
            ranks.append((bytes, rank))
        }
        guard let maxRank = ranks.map({ $0.1 }).max() else { throw .invalid("\(path): no ranks") }
        let specials = specialTokens ?? ["<|endoftext|>": maxRank + 1]
        let size = max(maxRank, specials.values.max() ?? 0) + 1
        guard size <= maxVocabulary else { throw .invalid("\(path): special token id too large") }
        try checkDensity(size: size, entries: ranks.count + specials.count, path, "rank")
        var tokens = [String](repeating: "", count: size)
        var types = [UInt8](repeating: TokenizerSection.TokenType.unused.rawValue, count: size)
        for (bytes, rank) in ranks {
            guard types[rank] == TokenizerSection.TokenType.unused.rawValue else { throw .invalid("\(path): rank \(rank) appears twice") }
            tokens[rank] = ByteLevelAlphabet.encode([UInt8](bytes))
            types[rank] = TokenizerSection.TokenType.normal.rawValue
        }
        var s = TokenizerSection(kind: .bpe, rankBy: .tokenId, prePattern: pattern)
        for (name, id) in specials.sorted(by: { $0.value < $1.value }) {
            guard id >= 0, types[id] == TokenizerSection.TokenType.unused.rawValue else { throw .invalid("\(path): special token \(name) id \(id) is taken") }
            tokens[id] = name
            types[id] = TokenizerSection.TokenType.control.rawValue
            assignSpecial(&s, content: name, id: id)
        }
        s.tokens = tokens
        s.tokenTypes = types
        do { _ = try ByteLevelBPE(section: s) } catch { throw prefixed(path, error) }
        return s
    }

    // MARK: - Hugging Face tokenizer.json

    /// A Hugging Face `tokenizer.json` with a byte-level BPE model: `model.vocab`, `model.merges`
    /// (`["a b"]` or `[["a","b"]]`), `added_tokens` (special → control, others → user-defined)
    /// and a `ByteLevel` pre-tokenizer (GPT-2's pattern) or a `Sequence` of a regex `Split` and a
    /// `ByteLevel` without regex. A normalizer, `add_prefix_space`, byte fallback or subword
    /// prefixes are reported as unsupported. The `lstrip`, `rstrip`, `single_word` and
    /// `normalized` flags of added tokens are ignored (added tokens match their exact text), and
    /// the post-processor is ignored (encode adds no bos/eos). bos/eos/unk/pad ids are taken from
    /// added tokens with the usual names (`<s>`, `</s>`, `<|endoftext|>`, `<unk>`, `<pad>`, …)
    /// and `model.unk_token`.
    public static func huggingFace(path: String) throws(TokenizerError) -> TokenizerSection {
        guard let root = try json(path) as? [String: Any] else { throw .invalid("\(path): expected a JSON object") }
        guard let model = root["model"] as? [String: Any] else {
            if path.hasSuffix("encoder.json") { throw .invalid("\(path): GPT-2's encoder.json needs its vocab.bpe too (give both paths)") }
            throw .invalid("\(path): no \"model\" object (not a Hugging Face tokenizer.json)")
        }
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw .unsupported("\(path): model type \(type) (only byte-level BPE; use the .model file for SentencePiece)") }
        if let n = root["normalizer"], !(n is NSNull) { throw .unsupported("\(path): a normalizer is not supported") }
        if let b = model["byte_fallback"] as? Bool, b { throw .unsupported("\(path): byte_fallback is not supported") }
        if let p = model["continuing_subword_prefix"] as? String, !p.isEmpty { throw .unsupported("\(path): continuing_subword_prefix is not supported") }
        if let p = model["end_of_word_suffix"] as? String, !p.isEmpty { throw .unsupported("\(path): end_of_word_suffix is not supported") }
        guard let vocab = model["vocab"] as? [String: Any] else { throw .invalid("\(path): model.vocab is not an object") }
        var (tokens, types) = try tokensById(vocab, path, "model.vocab")

        var merges: [String] = []
        if let list = model["merges"] as? [Any] {
            merges.reserveCapacity(list.count)
            for (i, m) in list.enumerated() {
                if let s = m as? String {
                    merges.append(s)
                } else if let pair = m as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                    merges.append(a + " " + b)
                } else {
                    throw .invalid("\(path): model.merges[\(i)] is neither \"a b\" nor [\"a\", \"b\"]")
                }
            }
        } else if model["merges"] != nil {
            throw .invalid("\(path): model.merges is not an array")
        }

        let pattern = try hfPattern(root["pre_tokenizer"], path)
        var s = TokenizerSection(kind: .bpe, prePattern: pattern)
        if let added = root["added_tokens"] as? [Any] {
            for (i, a) in added.enumerated() {
                guard let t = a as? [String: Any], let content = t["content"] as? String, let n = t["id"] as? NSNumber,
                      let id = Int(exactly: n.doubleValue), id >= 0, id < maxVocabulary else {
                    throw .invalid("\(path): added_tokens[\(i)] has no content or id")
                }
                try checkDensity(size: id + 1, entries: vocab.count + added.count, path, "model.vocab and added_tokens")
                if id >= tokens.count {
                    tokens += [String](repeating: "", count: id + 1 - tokens.count)
                    types += [UInt8](repeating: TokenizerSection.TokenType.unused.rawValue, count: id + 1 - types.count)
                }
                tokens[id] = content
                let isSpecial = t["special"] as? Bool ?? false
                types[id] = isSpecial ? TokenizerSection.TokenType.control.rawValue : TokenizerSection.TokenType.userDefined.rawValue
                assignSpecial(&s, content: content, id: id)
            }
        }
        if let unk = model["unk_token"] as? String, let id = tokens.firstIndex(of: unk) { s.unkId = id }
        s.tokens = tokens
        s.tokenTypes = types
        s.merges = merges
        do { _ = try ByteLevelBPE(section: s) } catch { throw prefixed(path, error) }
        return s
    }

    /// The pre-tokenizer regex of an HF `pre_tokenizer` object.
    static func hfPattern(_ value: Any?, _ path: String) throws(TokenizerError) -> String {
        guard let pre = value as? [String: Any], let type = pre["type"] as? String else {
            throw .unsupported("\(path): no pre_tokenizer (byte-level BPE needs ByteLevel)")
        }
        switch type {
        case "ByteLevel":
            if let a = pre["add_prefix_space"] as? Bool, a { throw .unsupported("\(path): ByteLevel add_prefix_space is not supported") }
            if let r = pre["use_regex"] as? Bool, !r { throw .unsupported("\(path): ByteLevel without a regex is not supported") }
            return PreTokenizer.gpt2Pattern
        case "Sequence":
            guard let list = pre["pretokenizers"] as? [[String: Any]], list.count == 2,
                  list[0]["type"] as? String == "Split", list[1]["type"] as? String == "ByteLevel",
                  let p = list[0]["pattern"] as? [String: Any], let regex = p["Regex"] as? String else {
                throw .unsupported("\(path): only a Sequence of a regex Split and ByteLevel is supported")
            }
            if let behavior = list[0]["behavior"] as? String, behavior != "Isolated" { throw .unsupported("\(path): Split behavior \(behavior)") }
            if let inv = list[0]["invert"] as? Bool, inv { throw .unsupported("\(path): an inverted Split is not supported") }
            if let a = list[1]["add_prefix_space"] as? Bool, a { throw .unsupported("\(path): ByteLevel add_prefix_space is not supported") }
            if let r = list[1]["use_regex"] as? Bool, r { throw .unsupported("\(path): a Split followed by a ByteLevel with its own regex is not supported") }
            return regex
        default:
            throw .unsupported("\(path): pre_tokenizer \(type)")
        }
    }
}
