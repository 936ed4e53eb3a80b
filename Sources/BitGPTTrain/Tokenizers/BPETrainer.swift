import BitGPT

/// Trains a GPT-2 style byte-level BPE vocabulary on a text.
///
/// The text is cut into pieces by the same ``PreTokenizer`` that encodes (GPT-2's pattern), so
/// training and encoding split text identically. Each distinct piece ("word") is counted once
/// with its frequency. The vocabulary starts with the 256 single bytes, ordered by their
/// byte-to-unicode scalar (GPT-2's `encoder.json` order: `!` is id 0, `Ā` = byte 0 is id 188).
/// Then, until the vocabulary has `vocabSize` tokens or no pair is left, the most frequent
/// adjacent pair of tokens, summed over all words and weighted by word frequency, is merged
/// into a new token; ties go to the pair with the smallest (left id, right id). Occurrences are
/// merged left to right without overlap. A merge whose bytes already form a token reuses that
/// id (the merge is still recorded, the vocabulary does not grow).
///
/// These are the rules of Hugging Face `tokenizers`' `BpeTrainer` with a `ByteLevel`
/// pre-tokenizer and the full byte alphabet, so both produce the same merges from the same text
/// (checked by `tools/bpe_train_check.py`).
///
/// Pair counts are kept up to date incrementally: a merge visits only the words that hold the
/// pair and adjusts the counts of the pairs around each occurrence. The most frequent pair comes
/// from a max-heap whose stale entries are re-pushed with their current count when popped.
public enum BPETrainer {
    /// The smallest vocabulary: the 256 single bytes.
    public static let minVocabSize = 256

    /// Trains a vocabulary of at most `vocabSize` tokens on `text`.
    /// - Parameters:
    ///   - text: the training text.
    ///   - vocabSize: tokens wanted (≥ 256): 256 bytes, then one per merge.
    ///   - pattern: the pre-tokenizer regex (GPT-2's by default).
    /// - Returns: a `bpe` section (tokens in byte-to-unicode form, merges in rank order, all
    ///   tokens normal) that ``ByteLevelBPE`` encodes with.
    /// - Throws: ``TokenizerError/invalid(_:)`` for a vocabulary below 256 or a bad pattern.
    public static func train(text: String, vocabSize: Int, pattern: String = PreTokenizer.gpt2Pattern) throws(TokenizerError) -> TokenizerSection {
        guard vocabSize >= minVocabSize else { throw .invalid("a byte-level BPE vocabulary needs at least 256 tokens, got \(vocabSize)") }
        let pre = try PreTokenizer(pattern: pattern)

        // Base ids: bytes in the order of their byte-to-unicode scalar.
        let order = (0..<256).sorted { ByteLevelAlphabet.scalarOfByte[$0] < ByteLevelAlphabet.scalarOfByte[$1] }
        var idOfByte = [Int32](repeating: 0, count: 256)
        for (id, b) in order.enumerated() { idOfByte[b] = Int32(id) }
        var tokenBytes: [[UInt8]] = order.map { [UInt8($0)] }
        var tokenId: [[UInt8]: Int32] = [:]
        for (id, b) in tokenBytes.enumerated() { tokenId[b] = Int32(id) }

        // Distinct words and their counts, in order of first appearance.
        var wordIndex: [ArraySlice<UInt8>: Int] = [:]
        var words: [[Int32]] = []
        var counts: [Int] = []
        var copy = text
        copy.withUTF8 { p in
            pre.forEachPiece(p) { s, e in
                let key = ArraySlice(UnsafeBufferPointer(rebasing: p[s..<e]))
                if let w = wordIndex[key] {
                    counts[w] += 1
                } else {
                    wordIndex[key] = words.count
                    words.append(key.map { idOfByte[Int($0)] })
                    counts.append(1)
                }
            }
        }
        wordIndex = [:]

        // Initial pair counts and the words each pair occurs in.
        var pairCount: [UInt64: Int] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        for (w, word) in words.enumerated() where word.count >= 2 {
            for k in 0..<(word.count - 1) {
                let key = pairKey(word[k], word[k + 1])
                pairCount[key, default: 0] += counts[w]
                if pairWords[key]?.last != Int32(w) { pairWords[key, default: []].append(Int32(w)) }
            }
        }
        var heap = BinaryHeap<PairCount>()
        for (key, c) in pairCount where c > 0 { heap.push(PairCount(count: c, pair: key)) }

        var merges: [String] = []
        var seen = [Int](repeating: -1, count: words.count)
        var newPairs: [UInt64: [Int32]] = [:]
        var step = 0
        while tokenBytes.count < vocabSize, let top = heap.pop() {
            let current = pairCount[top.pair] ?? 0
            if current <= 0 { continue }
            if current != top.count {
                heap.push(PairCount(count: current, pair: top.pair))
                continue
            }
            let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let merged = tokenBytes[Int(a)] + tokenBytes[Int(b)]
            let c: Int32
            if let existing = tokenId[merged] {
                c = existing
            } else {
                c = Int32(tokenBytes.count)
                tokenBytes.append(merged)
                tokenId[merged] = c
            }
            merges.append(ByteLevelAlphabet.encode(tokenBytes[Int(a)]) + " " + ByteLevelAlphabet.encode(tokenBytes[Int(b)]))
            pairCount[top.pair] = 0

            // Merge in every word that holds the pair, adjusting the neighbouring pairs.
            newPairs.removeAll(keepingCapacity: true)
            for w32 in pairWords[top.pair] ?? [] {
                let w = Int(w32)
                if seen[w] == step { continue }
                seen[w] = step
                let n = counts[w]
                var word = words[w]
                var i = 0
                while i < word.count - 1 {
                    if word[i] == a && word[i + 1] == b {
                        if i > 0 {
                            pairCount[pairKey(word[i - 1], a), default: 0] -= n
                            add(pairKey(word[i - 1], c), n, w32, &pairCount, &newPairs)
                        }
                        word[i] = c
                        word.remove(at: i + 1)
                        if i < word.count - 1 {
                            pairCount[pairKey(b, word[i + 1]), default: 0] -= n
                            add(pairKey(c, word[i + 1]), n, w32, &pairCount, &newPairs)
                        }
                    }
                    i += 1
                }
                words[w] = word
            }
            pairWords[top.pair] = nil
            for (key, ws) in newPairs.sorted(by: { $0.key < $1.key }) {
                pairWords[key, default: []].append(contentsOf: ws)
                if let cnt = pairCount[key], cnt > 0 { heap.push(PairCount(count: cnt, pair: key)) }
            }
            step += 1
        }

        let tokens = tokenBytes.map(ByteLevelAlphabet.encode)
        return TokenizerSection(kind: .bpe, tokens: tokens, tokenTypes: [UInt8](repeating: TokenizerSection.TokenType.normal.rawValue, count: tokens.count),
                                merges: merges, prePattern: pattern)
    }

    /// Adds `n` to a pair formed by a merge and records the word it formed in.
    @inline(__always)
    private static func add(_ key: UInt64, _ n: Int, _ w: Int32, _ pairCount: inout [UInt64: Int], _ newPairs: inout [UInt64: [Int32]]) {
        pairCount[key, default: 0] += n
        if newPairs[key]?.last != w { newPairs[key, default: []].append(w) }
    }

    @inline(__always)
    static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    /// A Hugging Face `tokenizer.json` for a byte-level `bpe` section whose tokens are all
    /// normal: a BPE model with `vocab` and `merges`, GPT-2's `ByteLevel` pre-tokenizer and
    /// decoder, no normalizer, no added tokens. ``TokenizerFiles/huggingFace(path:)`` and
    /// HF `tokenizers` load it back to the same ids.
    /// - Parameter section: a `bpe` section ranked by merges with GPT-2's pattern.
    /// - Returns: the file's UTF-8 bytes.
    public static func huggingFaceJSON(_ section: TokenizerSection) -> [UInt8] {
        var s = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [],\n  \"normalizer\": null,\n"
        s += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        s += "  \"post_processor\": null,\n"
        s += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        s += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n    \"continuing_subword_prefix\": null,\n"
        s += "    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"vocab\": {"
        for (id, t) in section.tokens.enumerated() { s += (id == 0 ? "\n      " : ",\n      ") + jsonString(t) + ": \(id)" }
        s += "\n    },\n    \"merges\": ["
        for (i, m) in section.merges.enumerated() { s += (i == 0 ? "\n      " : ",\n      ") + jsonString(m) }
        s += "\n    ]\n  }\n}\n"
        return Array(s.utf8)
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var s = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case _ where u.value < 0x20: s += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: s.unicodeScalars.append(u)
            }
        }
        return s + "\""
    }
}

/// A pair and its count as the trainer's heap holds them: the highest count first, then the
/// smallest pair key.
struct PairCount: HeapOrdered {
    var count: Int
    var pair: UInt64
    @inline(__always)
    func comesBefore(_ other: PairCount) -> Bool { count != other.count ? count > other.count : pair < other.pair }
}
