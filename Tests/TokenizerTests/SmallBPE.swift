import BitGPT

/// A tiny byte-level BPE trained in the test (no files, no network), and an independent
/// reference encoder written the way GPT-2's `encoder.py` does it (strings, "merge every
/// occurrence of the lowest-rank bigram"), to check ``ByteLevelBPE`` against.
enum SmallBPE {
    static let corpus = """
        The lazy fox packs five trits. The lazy dog sleeps; the fox doesn't. It's 2024 and we'll \
        train tiny models: naïve café, “quotes” — 日本語 日本 🤖🤖. the the the then there their \
        1234567 3.14 aaaaaaa bbbbbb ababab  spaces   and\ttabs\n\nnew lines
        """

    /// Trains `merges` merges on `corpus` with the GPT-2 pre-tokenizer. Ties in pair counts go to
    /// the smaller (left, right) ids. Tokens: the 256 bytes (id = byte), the merges, `<|endoftext|>`.
    static func section(merges count: Int = 120, pattern: String = PreTokenizer.gpt2Pattern) throws -> TokenizerSection {
        let pre = try PreTokenizer(pattern: pattern)
        let bytes = Array(corpus.utf8)
        var words: [[Int]] = pre.pieces(corpus).map { r in bytes[r].map { Int($0) } }
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var merges: [String] = []
        for _ in 0..<count {
            var counts: [Int: Int] = [:]
            for w in words where w.count >= 2 {
                for k in 0..<(w.count - 1) { counts[w[k] << 20 | w[k + 1], default: 0] += 1 }
            }
            guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }), best.value >= 2 else { break }
            let (a, b) = (best.key >> 20, best.key & 0xFFFFF)
            let id = tokens.count
            tokens.append(tokens[a] + tokens[b])
            merges.append(ByteLevelAlphabet.encode(tokens[a]) + " " + ByteLevelAlphabet.encode(tokens[b]))
            words = words.map { w in
                var out: [Int] = []
                var k = 0
                while k < w.count {
                    if k + 1 < w.count && w[k] == a && w[k + 1] == b { out.append(id); k += 2 } else { out.append(w[k]); k += 1 }
                }
                return out
            }
        }
        var names = tokens.map { ByteLevelAlphabet.encode($0) }
        names.append("<|endoftext|>")
        var types = [UInt8](repeating: 1, count: names.count)
        types[names.count - 1] = 3
        return TokenizerSection(kind: .bpe, tokens: names, tokenTypes: types, merges: merges, prePattern: pattern, eosId: names.count - 1)
    }

    /// GPT-2 `encoder.py`'s algorithm over byte-to-unicode strings, for one piece's bytes.
    static func referenceEncode(_ pieceBytes: [UInt8], section s: TokenizerSection) -> [Int] {
        var ranks: [String: Int] = [:]
        for (i, m) in s.merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        var ids: [String: Int] = [:]
        for (i, t) in s.tokens.enumerated() where s.type(of: i) == .normal { ids[t] = i }
        var word = pieceBytes.map { ByteLevelAlphabet.encode([$0]) }
        while word.count > 1 {
            var best: (rank: Int, a: String, b: String)?
            for k in 0..<(word.count - 1) {
                if let r = ranks[word[k] + " " + word[k + 1]], r < (best?.rank ?? Int.max) { best = (r, word[k], word[k + 1]) }
            }
            guard let (_, a, b) = best else { break }
            var out: [String] = []
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == a && word[k + 1] == b { out.append(a + b); k += 2 } else { out.append(word[k]); k += 1 }
            }
            word = out
        }
        return word.map { ids[$0] ?? -1 }
    }

    /// The reference encoding of a whole text (pre-tokenized with `pattern`, no special tokens).
    static func referenceEncode(_ text: String, section s: TokenizerSection) throws -> [Int] {
        let pre = try PreTokenizer(pattern: s.prePattern ?? "")
        let bytes = Array(text.utf8)
        return pre.pieces(text).flatMap { referenceEncode(Array(bytes[$0]), section: s) }
    }
}
