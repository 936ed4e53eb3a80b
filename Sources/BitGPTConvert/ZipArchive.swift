/// The stored (uncompressed) entries of a ZIP archive, parsed by hand with every field bounds-checked.
///
/// `torch.save` (PyTorch ≥ 1.6) writes an uncompressed ZIP64 archive whose entry payloads are
/// 64-byte aligned so storages can be used in place (pytorch
/// `docs/source/notes/serialization.rst`, "Serialized file format for torch.save"). This reader accepts exactly that: one disk, stored entries
/// (method 0), no encryption, and it refuses anything that could expand or alias data:
/// - compressed entries (method ≠ 0) are refused, so there is nothing to decompress and no zip bomb;
/// - entry payloads must lie before the central directory and must not overlap one another
///   (the "overlapping files" zip bomb), and each local header must agree with the central one;
/// - the entry count is bounded by the central directory's size before anything is allocated;
/// - ZIP64 records are honoured only where the 32-bit field holds its 0xFFFF… marker, and must
///   themselves lie inside the file.
public struct ZipArchive {
    /// One entry: its name and where its bytes lie in the file.
    public struct Entry: Equatable, Sendable {
        /// The entry's path inside the archive, e.g. `ckpt/data/3`.
        public var name: String
        /// Offset of the first payload byte in the file.
        public var dataOffset: Int
        /// Payload size in bytes (stored, so compressed = uncompressed).
        public var size: Int
        /// CRC-32 from the central directory.
        public var crc32: UInt32
    }

    /// Entries in central-directory order.
    public let entries: [Entry]
    private let byName: [String: Int]

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// Parses the archive in `file`.
    ///
    /// - Throws: ``ConvertError/zip(offset:reason:)`` naming the first problem.
    public init(_ file: SourceFile) throws(ConvertError) {
        let size = file.count
        guard size >= 22 else { throw .zip(offset: 0, reason: "file is \(size) bytes, too short for a ZIP archive") }

        // 1. End of central directory record: the last 22 bytes, plus a comment of at most 65535 bytes.
        var eocd = -1
        var at = size - 22
        let lowest = max(0, size - 22 - 65_535)
        while at >= lowest {
            if file.le(at, UInt32.self) == 0x0605_4b50, at + 22 + Int(file.le(at + 20, UInt16.self)) == size { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw .zip(offset: size, reason: "no end-of-central-directory record (truncated or not a ZIP file)") }
        let disk = file.le(eocd + 4, UInt16.self), cdDisk = file.le(eocd + 6, UInt16.self)
        guard disk == 0 || disk == 0xFFFF, cdDisk == 0 || cdDisk == 0xFFFF else {
            throw .zip(offset: eocd, reason: "multi-disk archives are not supported")
        }
        var count = UInt64(file.le(eocd + 10, UInt16.self))
        var cdSize = UInt64(file.le(eocd + 12, UInt32.self))
        var cdOffset = UInt64(file.le(eocd + 16, UInt32.self))
        var cdLimit = eocd

        // 2. ZIP64 end of central directory, when a field holds its marker.
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            let loc = eocd - 20
            guard loc >= 0, file.le(loc, UInt32.self) == 0x0706_4b50 else {
                throw .zip(offset: eocd, reason: "ZIP64 markers without a ZIP64 locator")
            }
            let recAt64 = file.le(loc + 8, UInt64.self)
            guard recAt64 <= UInt64(loc), let recAt = Int(exactly: recAt64), file.contains(recAt, 56), recAt + 56 <= loc,
                  file.le(recAt, UInt32.self) == 0x0606_4b50 else {
                throw .zip(offset: loc, reason: "ZIP64 end-of-central-directory record offset \(recAt64) is invalid")
            }
            count = file.le(recAt + 32, UInt64.self)
            cdSize = file.le(recAt + 40, UInt64.self)
            cdOffset = file.le(recAt + 48, UInt64.self)
            cdLimit = recAt
        }
        guard cdOffset <= UInt64(cdLimit), cdSize <= UInt64(cdLimit) - cdOffset else {
            throw .zip(offset: eocd, reason: "central directory [\(cdOffset), +\(cdSize)) runs past its end record")
        }
        // Each central entry takes at least 46 bytes: bound the count before allocating.
        guard count <= cdSize / 46 else {
            throw .zip(offset: eocd, reason: "\(count) entries cannot fit in a \(cdSize)-byte central directory")
        }

        // 3. Central directory entries.
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var byName: [String: Int] = [:]
        var p = Int(cdOffset)
        let cdEnd = Int(cdOffset + cdSize)
        for i in 0..<Int(count) {
            guard p + 46 <= cdEnd, file.le(p, UInt32.self) == 0x0201_4b50 else {
                throw .zip(offset: p, reason: "central directory entry #\(i) has no valid signature")
            }
            let flags = file.le(p + 8, UInt16.self)
            let method = file.le(p + 10, UInt16.self)
            let crc = file.le(p + 16, UInt32.self)
            var compSize = UInt64(file.le(p + 20, UInt32.self))
            var rawSize = UInt64(file.le(p + 24, UInt32.self))
            let nameLen = Int(file.le(p + 28, UInt16.self))
            let extraLen = Int(file.le(p + 30, UInt16.self))
            let commentLen = Int(file.le(p + 32, UInt16.self))
            var localAt = UInt64(file.le(p + 42, UInt32.self))
            let next = p + 46 + nameLen + extraLen + commentLen
            guard next <= cdEnd else { throw .zip(offset: p, reason: "central directory entry #\(i) runs past the directory") }
            let nameBytes = UnsafeRawBufferPointer(rebasing: file.bytes[(p + 46)..<(p + 46 + nameLen)])
            guard nameLen > 0, let name = String(validating: nameBytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw .zip(offset: p + 46, reason: "entry #\(i) has an empty or non-UTF-8 name")
            }
            // ZIP64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = file.le(e, UInt16.self), len = Int(file.le(e + 2, UInt16.self))
                guard e + 4 + len <= extraEnd else { throw .zip(offset: e, reason: "extra field of \"\(name)\" runs past its entry") }
                if id == 0x0001 {
                    var q = e + 4
                    func take() throws(ConvertError) -> UInt64 {
                        guard q + 8 <= e + 4 + len else { throw .zip(offset: q, reason: "ZIP64 field of \"\(name)\" is too short") }
                        defer { q += 8 }
                        return file.le(q, UInt64.self)
                    }
                    if rawSize == 0xFFFF_FFFF { rawSize = try take() }
                    if compSize == 0xFFFF_FFFF { compSize = try take() }
                    if localAt == 0xFFFF_FFFF { localAt = try take() }
                }
                e += 4 + len
            }
            guard flags & 1 == 0 else { throw .zip(offset: p, reason: "entry \"\(name)\" is encrypted") }
            guard method == 0 else {
                throw .zip(offset: p, reason: "entry \"\(name)\" is compressed (method \(method)); only stored entries are read, as torch.save writes them")
            }
            guard compSize == rawSize else {
                throw .zip(offset: p, reason: "stored entry \"\(name)\" has compressed size \(compSize) ≠ size \(rawSize)")
            }
            // Local header: must lie before the central directory and name the same entry.
            guard localAt <= cdOffset, cdOffset - localAt >= 30 else {
                throw .zip(offset: p, reason: "entry \"\(name)\" local header offset \(localAt) is outside the data area")
            }
            let l = Int(localAt)
            guard file.le(l, UInt32.self) == 0x0403_4b50 else { throw .zip(offset: l, reason: "entry \"\(name)\" has no local header signature") }
            let lNameLen = Int(file.le(l + 26, UInt16.self)), lExtraLen = Int(file.le(l + 28, UInt16.self))
            let dataAt = l + 30 + lNameLen + lExtraLen
            guard UInt64(dataAt) <= cdOffset, rawSize <= cdOffset - UInt64(dataAt) else {
                throw .zip(offset: l, reason: "entry \"\(name)\" data [\(dataAt), +\(rawSize)) runs into the central directory or past the file")
            }
            guard lNameLen == nameLen, memcmpEqual(file, l + 30, p + 46, nameLen) else {
                throw .zip(offset: l, reason: "local header of \"\(name)\" names another entry")
            }
            guard byName[name] == nil else { throw .zip(offset: p, reason: "entry \"\(name)\" appears twice") }
            byName[name] = entries.count
            entries.append(Entry(name: name, dataOffset: dataAt, size: Int(rawSize), crc32: crc))
            p = next
        }

        // 4. No two entries may share bytes (local header + payload ranges are disjoint).
        let sorted = entries.sorted { $0.dataOffset < $1.dataOffset }
        var prevEnd = 0
        for s in sorted {
            guard s.dataOffset >= prevEnd + 30 else { throw .zip(offset: s.dataOffset, reason: "entry \"\(s.name)\" overlaps the previous entry") }
            prevEnd = s.dataOffset + s.size
        }
        self.entries = entries
        self.byName = byName
    }

    /// The bytes of `entry` inside `file` (no copy).
    public func data(_ entry: Entry, in file: SourceFile) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataOffset..<(entry.dataOffset + entry.size)])
    }

    /// CRC-32 (IEEE, reflected, as ZIP uses) of `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

/// Whether `n` bytes at `a` and at `b` in `file` are equal (both ranges already checked).
private func memcmpEqual(_ file: SourceFile, _ a: Int, _ b: Int, _ n: Int) -> Bool {
    for i in 0..<n where file.bytes[a + i] != file.bytes[b + i] { return false }
    return true
}
