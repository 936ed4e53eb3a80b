/// An incremental xxHash64: feed bytes in any pieces, get the digest of their concatenation.
///
/// Same algorithm as ``XXHash64/hash(_:seed:)-(UnsafeRawBufferPointer,_)`` (Yann Collet's XXH64
/// spec, `doc/xxhash_spec.md`): whole 32-byte stripes go through the four accumulators as they
/// arrive; the last partial stripe is kept and hashed as the tail by ``finalize()``. Used where the
/// input is too large to hold at once (the LoRA base fingerprint, ``LoRABase``).
public struct XXHash64Stream {
    private let seed: UInt64
    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private var total = 0
    /// The bytes of the current, incomplete stripe (fewer than 32).
    private var pending: [UInt8] = []

    /// A hasher with no input yet.
    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ XXHash64.p1 &+ XXHash64.p2; v2 = seed &+ XXHash64.p2; v3 = seed; v4 = seed &- XXHash64.p1
        pending.reserveCapacity(32)
    }

    private mutating func stripe(_ p: UnsafeRawPointer) {
        v1 = XXHash64.round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        v2 = XXHash64.round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        v3 = XXHash64.round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        v4 = XXHash64.round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// Appends `bytes` to the input.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        total += bytes.count
        var i = 0
        if !pending.isEmpty {
            let take = min(32 - pending.count, bytes.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            i = take
            guard pending.count == 32 else { return }
            pending.withUnsafeBytes { stripe($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while i + 32 <= bytes.count {
            stripe(base + i)
            i += 32
        }
        if i < bytes.count { pending.append(contentsOf: UnsafeRawBufferPointer(start: base + i, count: bytes.count - i)) }
    }

    /// Appends a byte array to the input.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far (the hasher can keep going afterwards).
    public func finalize() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = XXHash64.rotl(v1, 1) &+ XXHash64.rotl(v2, 7) &+ XXHash64.rotl(v3, 12) &+ XXHash64.rotl(v4, 18)
            h = XXHash64.merge(h, v1); h = XXHash64.merge(h, v2); h = XXHash64.merge(h, v3); h = XXHash64.merge(h, v4)
        } else {
            h = seed &+ XXHash64.p5
        }
        h &+= UInt64(total)
        let n = pending.count
        pending.withUnsafeBytes { b in
            var i = 0
            while i + 8 <= n {
                h ^= XXHash64.round(0, UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = XXHash64.rotl(h, 27) &* XXHash64.p1 &+ XXHash64.p4
                i += 8
            }
            if i + 4 <= n {
                h ^= UInt64(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* XXHash64.p1
                h = XXHash64.rotl(h, 23) &* XXHash64.p2 &+ XXHash64.p3
                i += 4
            }
            while i < n {
                h ^= UInt64(b[i]) &* XXHash64.p5
                h = XXHash64.rotl(h, 11) &* XXHash64.p1
                i += 1
            }
        }
        return XXHash64.avalanche(h)
    }
}
