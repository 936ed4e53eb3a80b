/// GPT-2 style byte-level BPE (`tokenizer.kind = "bpe"`), in pure Swift.
///
/// Encoding: split the text on added tokens (control and user-defined types, e.g.
/// `<|endoftext|>`, longest match first) when special tokens are allowed; cut each stretch into
/// pieces with the ``PreTokenizer``; turn each piece's UTF-8 bytes into single-byte tokens; then
/// repeatedly merge the adjacent pair of lowest rank (the leftmost one on ties) until no ranked
/// pair is left. This is the rule of HF `tokenizers` and of tiktoken, and gives GPT-2's ids.
/// Pieces are looked up in a cache for the duration of one call.
///
/// Thread safety: immutable after init; `encode` keeps its cache local to the call.
public final class ByteLevelBPE: Tokenizer {
    /// Number of ids (≥ the number of tokens; ids past them are padding that decodes to nothing).
    public let vocabSize: Int
    /// Special ids; `control` holds every added token.
    public let special: SpecialTokens
    /// The section this tokenizer was built from.
    public let section: TokenizerSection
    /// The pre-tokenizer.
    public let preTokenizer: PreTokenizer

    /// Raw bytes of each id (added tokens: their UTF-8 text).
    private let bytesById: [[UInt8]]
    /// Normal token bytes → id.
    private let vocab: ByteSequenceTable
    /// (left id, right id) → (rank, merged id).
    let pairs: PairTable
    /// Id of each single byte, or -1 when the vocabulary lacks it.
    let byteIds: [Int32]
    /// Added tokens as (bytes, id), longest first.
    private let added: [([UInt8], Int)]
    /// Whether some added token starts with byte b.
    private let addedFirstByte: [Bool]
    /// Whether a piece that is itself a token is taken whole (true for `token_id` ranking,
    /// where it is exactly tiktoken's rule).
    private let wholePieceShortcut: Bool

    /// Builds the tokenizer of a `bpe` section.
    /// - Parameters:
    ///   - section: tokens (byte-to-unicode form for normal tokens), types, merges, pattern.
    ///   - vocabSize: the model's vocabulary size when larger than the token count.
    /// - Throws: ``TokenizerError/invalid(_:)`` naming the bad token, merge or pattern.
    public init(section: TokenizerSection, vocabSize: Int? = nil) throws(TokenizerError) {
        guard section.kind == .bpe else { throw .invalid("expected a bpe section, got \(section.kind.rawValue)") }
        let n = section.tokens.count
        guard n > 0 else { throw .invalid("the BPE vocabulary is empty") }
        guard n < Int(Int32.max) else { throw .invalid("the BPE vocabulary has \(n) tokens, too many") }
        let v = vocabSize ?? n
        guard v >= n else { throw .invalid("the BPE vocabulary has \(n) tokens, more than the model's \(v)") }
        guard let pattern = section.prePattern else { throw .invalid("the BPE section has no pre-tokenizer pattern") }
        preTokenizer = try PreTokenizer(pattern: pattern)

        var bytesById: [[UInt8]] = []
        bytesById.reserveCapacity(n)
        var vocab = ByteSequenceTable(capacity: n)
        var added: [([UInt8], Int)] = []
        var special = section.specialTokens
        for (id, text) in section.tokens.enumerated() {
            switch section.type(of: id) {
            case .control, .userDefined:
                let b = Array(text.utf8)
                bytesById.append(b)
                if !b.isEmpty { added.append((b, id)) }
                special.control.insert(id)
            case .unused:
                bytesById.append(ByteLevelAlphabet.decode(text) ?? Array(text.utf8))
            case .normal, .byte, .unknown:
                guard let b = ByteLevelAlphabet.decode(text) else {
                    throw .invalid("token \(id) (\(quoted(text, limit: 24))) is not in GPT-2's byte-to-unicode form")
                }
                bytesById.append(b)
                if b.isEmpty { throw .invalid("token \(id) is empty") }
                if section.type(of: id) != .unknown && !vocab.insert(b, UInt64(id)) {
                    throw .invalid("token \(id) (\(quoted(text, limit: 24))) appears twice in the vocabulary")
                }
            }
        }
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = vocab.find([UInt8(b)]) { byteIds[b] = Int32(id) }
        }

        var pairs: PairTable
        switch section.rankBy {
        case .merges:
            pairs = PairTable(capacity: section.merges.count)
            for (rank, merge) in section.merges.enumerated() {
                let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, let a = ByteLevelAlphabet.decode(String(parts[0])), let b = ByteLevelAlphabet.decode(String(parts[1])) else {
                    throw .invalid("merge \(rank) (\(quoted(merge, limit: 40))) is not two byte-level tokens separated by a space")
                }
                guard let ia = vocab.find(a), let ib = vocab.find(b) else {
                    throw .invalid("merge \(rank) (\(quoted(merge, limit: 40))) names a token that is not in the vocabulary")
                }
                guard let im = vocab.find(a + b) else {
                    throw .invalid("merge \(rank) (\(quoted(merge, limit: 40))) makes a token that is not in the vocabulary")
                }
                pairs.insert(Int32(ia), Int32(ib), rank: rank, merged: Int32(im))
            }
        case .tokenId:
            pairs = PairTable(capacity: n * 2)
            for (id, b) in bytesById.enumerated() where b.count >= 2 && section.type(of: id) == .normal {
                for k in 1..<b.count {
                    if let ia = vocab.find(Array(b[..<k])), let ib = vocab.find(Array(b[k...])) {
                        pairs.insert(Int32(ia), Int32(ib), rank: id, merged: Int32(id))
                    }
                }
            }
        }

        added.sort { $0.0.count > $1.0.count }
        var first = [Bool](repeating: false, count: 256)
        for (b, _) in added { first[Int(b[0])] = true }

        self.vocabSize = v
        self.special = special
        self.section = section
        self.bytesById = bytesById
        self.vocab = vocab
        self.pairs = pairs
        self.byteIds = byteIds
        self.added = added
        self.addedFirstByte = first
        self.wholePieceShortcut = section.rankBy == .tokenId
    }

    /// Encodes `text`, recognising added tokens (e.g. `<|endoftext|>`) as single ids.
    public func encode(_ text: String) throws(TokenizerError) -> [Int] {
        try encode(text, allowSpecial: true)
    }

    /// Encodes `text`.
    /// - Parameters:
    ///   - text: the text.
    ///   - allowSpecial: whether the text of an added token becomes that token (true), or is
    ///     encoded as plain text (false, tiktoken's `encode_ordinary`).
    /// - Returns: the ids, without bos/eos.
    /// - Throws: ``TokenizerError/cannotEncode(_:)`` when a byte has no token and there is no unk.
    public func encode(_ text: String, allowSpecial: Bool) throws(TokenizerError) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 1)
        var copy = text
        var cache = ByteSequenceTable(capacity: 64)
        var cacheIds: [Int32] = []
        var failure: TokenizerError?
        let first = addedFirstByte
        let scan = allowSpecial && !added.isEmpty
        copy.withUTF8 { p in
            let n = p.count
            var start = 0
            var i = 0
            while scan && i < n {
                if first[Int(p[i])], let (len, id) = addedMatch(p, i) {
                    if i > start, let e = encodeOrdinary(p, start, i, &ids, &cache, &cacheIds) { failure = e; return }
                    ids.append(id)
                    i += len
                    start = i
                } else {
                    i += 1
                }
            }
            if n > start, let e = encodeOrdinary(p, start, n, &ids, &cache, &cacheIds) { failure = e }
        }
        if let failure { throw failure }
        return ids
    }

    /// The longest added token at byte `i`, as (length, id).
    private func addedMatch(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Int, Int)? {
        let n = p.count
        for (b, id) in added where b.count <= n - i && b[0] == p[i] {
            var same = true
            for k in 1..<b.count where p[i + k] != b[k] {
                same = false
                break
            }
            if same { return (b.count, id) }
        }
        return nil
    }

    /// Encodes bytes [from, to) of `p` (no added tokens) and appends the ids; returns an error if any.
    private func encodeOrdinary(_ whole: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ ids: inout [Int],
                                _ cache: inout ByteSequenceTable, _ cacheIds: inout [Int32]) -> TokenizerError? {
        guard let base = whole.baseAddress else { return nil }
        let p = UnsafeBufferPointer(start: base + from, count: to - from)
        var failure: TokenizerError?
        var scratch: [Int32] = []
        preTokenizer.forEachPiece(p) { s, e in
            if failure != nil { return }
            let piece = base + from + s
            let len = e - s
            if wholePieceShortcut, let id = vocab.find(piece, len) {
                ids.append(Int(id))
                return
            }
            if let hit = cache.find(piece, len) {
                let off = Int(hit >> 32), cnt = Int(hit & 0xFFFF_FFFF)
                for k in off..<(off + cnt) { ids.append(Int(cacheIds[k])) }
                return
            }
            scratch.removeAll(keepingCapacity: true)
            if let err = mergePiece(UnsafeBufferPointer(start: piece, count: len), &scratch) {
                failure = err
                return
            }
            cache.insert(piece, len, UInt64(cacheIds.count) << 32 | UInt64(scratch.count))
            cacheIds.append(contentsOf: scratch)
            for id in scratch { ids.append(Int(id)) }
        }
        return failure
    }

    /// Byte-pair merges of one piece into `out`.
    func mergePiece(_ piece: UnsafeBufferPointer<UInt8>, _ out: inout [Int32]) -> TokenizerError? {
        for b in piece {
            let id = byteIds[Int(b)]
            if id >= 0 {
                out.append(id)
            } else if let u = special.unk {
                out.append(Int32(u))
            } else {
                return .cannotEncode("byte 0x\(String(b, radix: 16)) has no token and the tokenizer has no unk token")
            }
        }
        if out.count < 2 { return nil }
        if out.count <= 48 {
            ByteLevelBPE.mergeQuadratic(&out, pairs)
        } else {
            ByteLevelBPE.mergeHeap(&out, pairs)
        }
        return nil
    }

    /// Reference merge loop: find the lowest-rank adjacent pair (leftmost on ties), merge it,
    /// repeat. O(m²) for m parts; used for short pieces.
    static func mergeQuadratic(_ parts: inout [Int32], _ pairs: PairTable) {
        // ranks[k] = (rank << 32 | merged id) of the pair (parts[k], parts[k+1]), or UInt64.max.
        var ranks = [UInt64](repeating: UInt64.max, count: parts.count)
        for k in 0..<(parts.count - 1) { ranks[k] = pairs.find(parts[k], parts[k + 1]) ?? UInt64.max }
        while parts.count >= 2 {
            var best = UInt64.max
            var bestAt = -1
            for k in 0..<(parts.count - 1) where ranks[k] >> 32 < best >> 32 {
                best = ranks[k]
                bestAt = k
            }
            if bestAt < 0 { return }
            parts[bestAt] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            parts.remove(at: bestAt + 1)
            ranks.remove(at: bestAt + 1)
            ranks[bestAt] = bestAt + 1 < parts.count ? (pairs.find(parts[bestAt], parts[bestAt + 1]) ?? UInt64.max) : UInt64.max
            if bestAt > 0 { ranks[bestAt - 1] = pairs.find(parts[bestAt - 1], parts[bestAt]) ?? UInt64.max }
        }
    }

    /// The same merge order with a min-heap of (rank, position) over a linked list of parts;
    /// O(m log m). Stale heap entries are skipped by re-checking the pair at pop time.
    static func mergeHeap(_ parts: inout [Int32], _ pairs: PairTable) {
        let m = parts.count
        var next = [Int](0..<m).map { $0 + 1 }
        var prev = [Int](0..<m).map { $0 - 1 }
        var alive = [Bool](repeating: true, count: m)
        var heap = BinaryHeap<UInt64>()
        for k in 0..<(m - 1) {
            if let r = pairs.find(parts[k], parts[k + 1]) { heap.push((r >> 32) << 32 | UInt64(k)) }
        }
        while let top = heap.pop() {
            let rank = top >> 32
            let at = Int(top & 0xFFFF_FFFF)
            guard alive[at], next[at] < m else { continue }
            let right = next[at]
            guard let r = pairs.find(parts[at], parts[right]), r >> 32 == rank else { continue }
            parts[at] = Int32(truncatingIfNeeded: r & 0xFFFF_FFFF)
            alive[right] = false
            next[at] = next[right]
            if next[at] < m { prev[next[at]] = at }
            if prev[at] >= 0, let rl = pairs.find(parts[prev[at]], parts[at]) { heap.push((rl >> 32) << 32 | UInt64(prev[at])) }
            if next[at] < m, let rr = pairs.find(parts[at], parts[next[at]]) { heap.push((rr >> 32) << 32 | UInt64(at)) }
        }
        var out: [Int32] = []
        var k = 0
        while k < m {
            out.append(parts[k])
            k = next[k]
        }
        parts = out
    }

    /// The raw bytes of `id` (added tokens: their text; padding ids: nothing).
    /// - Throws: ``TokenizerError/unknownId(_:vocabSize:)``.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { throw .unknownId(id, vocabSize: vocabSize) }
        return id < bytesById.count ? bytesById[id] : []
    }

    /// The token of `id` as stored (byte-to-unicode form for normal tokens), for `--pieces`.
    public func piece(_ id: Int) -> String? {
        guard id >= 0 && id < section.tokens.count else { return nil }
        return section.tokens[id]
    }
}
