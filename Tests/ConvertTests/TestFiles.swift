import Foundation
@testable import BitGPTConvert

/// Paths and builders shared by the converter tests.
enum TestFiles {
    /// `Tests/ConvertTests/Fixtures` (committed; made by `tools/make_convert_fixtures.py`).
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    /// `../shared/fixtures` next to the repository, present only on the development machine.
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures").path

    /// One directory per test process for everything the tests write; removed when the process exits.
    static let scratch: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("bitgpt-convert-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestFiles.scratch) }
        return d
    }()

    /// A fresh empty directory inside ``scratch``.
    static func tempDir() -> String {
        let d = scratch + "/" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Writes `bytes` to `path`.
    static func write(_ bytes: [UInt8], to path: String) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}

/// Builds a minimal ZIP archive byte by byte (stored entries, optional method/size lies), for
/// malformed-archive tests. Payloads are not aligned; the reader does not require it.
struct ZipBuilder {
    struct Item { var name: String; var data: [UInt8]; var method: UInt16 = 0 }
    var items: [Item] = []

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) { items.append(Item(name: name, data: data, method: method)) }

    func bytes(zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * i)) & 0xFF)) } }
        func u64(_ v: Int, _ a: inout [UInt8]) { for i in 0..<8 { a.append(UInt8((v >> (8 * i)) & 0xFF)) } }
        for it in items {
            let at = out.count
            let name = Array(it.name.utf8)
            let crc = it.data.withUnsafeBytes { Int(ZipArchive.crc32($0)) }
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(Int(it.method), &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(it.data.count, &out); u32(it.data.count, &out); u16(name.count, &out); u16(0, &out)
            out += name
            out += it.data
            u32(0x0201_4b50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(Int(it.method), &central)
            u16(0, &central); u16(0, &central); u32(crc, &central); u32(it.data.count, &central); u32(it.data.count, &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central); u32(0, &central)
            u32(at, &central)
            central += name
        }
        let cdAt = out.count
        out += central
        if zip64 {
            let recAt = out.count
            u32(0x0606_4b50, &out); u64(44, &out); u16(45, &out); u16(45, &out); u32(0, &out); u32(0, &out)
            u64(items.count, &out); u64(items.count, &out); u64(central.count, &out); u64(cdAt, &out)
            u32(0x0706_4b50, &out); u32(0, &out); u64(recAt, &out); u32(1, &out)
            u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(0xFFFF, &out); u16(0xFFFF, &out)
            u32(0xFFFF_FFFF, &out); u32(0xFFFF_FFFF, &out); u16(0, &out)
        } else {
            u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(items.count, &out); u16(items.count, &out)
            u32(central.count, &out); u32(cdAt, &out); u16(0, &out)
        }
        return out
    }
}

/// Pickle opcodes as bytes, to write hostile pickles by hand.
enum P {
    static let proto2: [UInt8] = [0x80, 2]
    static let stop: [UInt8] = [0x2E]
    static let mark: [UInt8] = [0x28]
    static let emptyDict: [UInt8] = [0x7D]
    static let emptyTuple: [UInt8] = [0x29]
    static let reduce: [UInt8] = [0x52]
    static let build: [UInt8] = [0x62]
    static let setitem: [UInt8] = [0x73]
    static let tuple: [UInt8] = [0x74]
    static let binpersid: [UInt8] = [0x51]
    static let newFalse: [UInt8] = [0x89]

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func str(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0x58, UInt8(b.count & 0xFF), UInt8((b.count >> 8) & 0xFF), UInt8((b.count >> 16) & 0xFF), UInt8(b.count >> 24)] + b
    }
    static func int(_ v: Int) -> [UInt8] { [0x4A] + (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func tuple2(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { a + b + [0x86] }

    /// `('storage', torch.FloatStorage, key, 'cpu', numel)` then BINPERSID.
    static func storage(_ key: String, numel: Int, type: String = "FloatStorage") -> [UInt8] {
        mark + str("storage") + global("torch", type) + str(key) + str("cpu") + int(numel) + tuple + binpersid
    }

    /// `_rebuild_tensor_v2(storage, 0, (n,), (1,), False, OrderedDict())`.
    static func tensor(_ key: String, numel: Int, size: Int? = nil, offset: Int = 0) -> [UInt8] {
        let n = size ?? numel
        return global("torch._utils", "_rebuild_tensor_v2") + mark + storage(key, numel: numel) + int(offset) + int(n) + [0x85] + int(1) + [0x85]
            + newFalse + global("collections", "OrderedDict") + emptyTuple + reduce + tuple + reduce
    }

    /// A checkpoint `{'model': {name: tensor}}` in a torch.save-shaped ZIP with storage `0` of `floats`.
    static func checkpoint(pickle: [UInt8], storage: [Float]? = [1, 2, 3, 4], method: UInt16 = 0) -> [UInt8] {
        var z = ZipBuilder()
        z.add("ckpt/data.pkl", pickle)
        z.add("ckpt/byteorder", Array("little".utf8))
        if let s = storage {
            var b: [UInt8] = []
            for f in s { withUnsafeBytes(of: f.bitPattern.littleEndian) { b += $0 } }
            z.add("ckpt/data/0", b, method: method)
        }
        z.add("ckpt/version", Array("3\n".utf8))
        return z.bytes(zip64: true)
    }

    /// `{'model': {'w': tensor(storage 0, numel)}}`.
    static func modelPickle(numel: Int = 4, size: Int? = nil, key: String = "0", offset: Int = 0) -> [UInt8] {
        proto2 + emptyDict + str("model") + emptyDict + str("w") + tensor(key, numel: numel, size: size, offset: offset) + setitem + setitem + stop
    }
}
