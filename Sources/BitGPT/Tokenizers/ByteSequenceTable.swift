/// An open-addressing hash table from byte strings to 64-bit values, looked up straight from a
/// pointer range (no `Array` per lookup). Keys are copied into one arena.
///
/// Used for the BPE vocabulary (token bytes → id) and for the encoder's piece cache.
struct ByteSequenceTable {
    /// Per slot: key start in `arena` (or -1 when empty), key length, value, hash.
    private var starts: [Int32]
    private var lengths: [Int32]
    private var values: [UInt64]
    private var hashes: [UInt64]
    private var arena: [UInt8] = []
    private(set) var count = 0
    private var mask: Int

    /// An empty table with room for about `capacity` keys before it grows.
    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        starts = [Int32](repeating: -1, count: size)
        lengths = [Int32](repeating: 0, count: size)
        values = [UInt64](repeating: 0, count: size)
        hashes = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    /// FNV-1a over the bytes, then a final mix.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i &+ 8 <= n {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i &+= 8
        }
        while i < n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3
            i &+= 1
        }
        h ^= h >> 32
        h = h &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 29)
    }

    /// The value stored for the `n` bytes at `p`, or nil.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64? {
        let h = ByteSequenceTable.hash(p, n)
        var slot = Int(truncatingIfNeeded: h) & mask
        return starts.withUnsafeBufferPointer { st in
            lengths.withUnsafeBufferPointer { ln in
                hashes.withUnsafeBufferPointer { hs in
                    arena.withUnsafeBufferPointer { ar in
                        while true {
                            let s = Int(st[slot])
                            if s < 0 { return nil }
                            if hs[slot] == h && Int(ln[slot]) == n {
                                var same = true
                                var k = 0
                                while k < n {
                                    if ar[s &+ k] != p[k] { same = false; break }
                                    k &+= 1
                                }
                                if same { return values[slot] }
                            }
                            slot = (slot &+ 1) & mask
                        }
                    }
                }
            }
        }
    }

    /// The value stored for `key`, or nil.
    func find(_ key: [UInt8]) -> UInt64? {
        key.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else {
                var z: UInt8 = 0
                return find(&z, 0)
            }
            return find(base, b.count)
        }
    }

    /// Stores `value` for the `n` bytes at `p` unless the key is present; returns whether it was new.
    @discardableResult
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, _ value: UInt64) -> Bool {
        if find(p, n) != nil { return false }
        if (count + 1) * 2 > starts.count { grow() }
        let h = ByteSequenceTable.hash(p, n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while starts[slot] >= 0 { slot = (slot + 1) & mask }
        starts[slot] = Int32(arena.count)
        lengths[slot] = Int32(n)
        values[slot] = value
        hashes[slot] = h
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        count += 1
        return true
    }

    /// Stores `value` for `key` unless present; returns whether it was new.
    @discardableResult
    mutating func insert(_ key: [UInt8], _ value: UInt64) -> Bool {
        key.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else {
                var z: UInt8 = 0
                return insert(&z, 0, value)
            }
            return insert(base, b.count, value)
        }
    }

    private mutating func grow() {
        let size = starts.count * 2
        var ns = [Int32](repeating: -1, count: size)
        var nl = [Int32](repeating: 0, count: size)
        var nv = [UInt64](repeating: 0, count: size)
        var nh = [UInt64](repeating: 0, count: size)
        let m = size - 1
        for i in 0..<starts.count where starts[i] >= 0 {
            var slot = Int(truncatingIfNeeded: hashes[i]) & m
            while ns[slot] >= 0 { slot = (slot + 1) & m }
            ns[slot] = starts[i]
            nl[slot] = lengths[i]
            nv[slot] = values[i]
            nh[slot] = hashes[i]
        }
        starts = ns
        lengths = nl
        values = nv
        hashes = nh
        mask = m
    }
}

/// An open-addressing hash table from a pair of token ids to (rank, merged id).
struct PairTable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private(set) var count = 0
    private var mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: PairTable.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    private static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// (rank << 32 | merged id) of the pair, or nil.
    @inline(__always)
    func find(_ a: Int32, _ b: Int32) -> UInt64? {
        let k = PairTable.key(a, b)
        var s = PairTable.slot(k, mask)
        return keys.withUnsafeBufferPointer { ks in
            while true {
                let x = ks[s]
                if x == k { return values[s] }
                if x == PairTable.empty { return nil }
                s = (s &+ 1) & mask
            }
        }
    }

    /// Stores the pair unless present; returns whether it was new.
    @discardableResult
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int, merged: Int32) -> Bool {
        if find(a, b) != nil { return false }
        if (count + 1) * 2 > keys.count { grow() }
        let k = PairTable.key(a, b)
        var s = PairTable.slot(k, mask)
        while keys[s] != PairTable.empty { s = (s + 1) & mask }
        keys[s] = k
        values[s] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
        return true
    }

    private mutating func grow() {
        let oldK = keys, oldV = values
        keys = [UInt64](repeating: PairTable.empty, count: oldK.count * 2)
        values = [UInt64](repeating: 0, count: oldK.count * 2)
        mask = keys.count - 1
        for i in 0..<oldK.count where oldK[i] != PairTable.empty {
            var s = PairTable.slot(oldK[i], mask)
            while keys[s] != PairTable.empty { s = (s + 1) & mask }
            keys[s] = oldK[i]
            values[s] = oldV[i]
        }
    }
}
