import BitGPT
import Foundation
import Testing
@testable import BitGPTConvert

/// safetensors validation, with the malformed files that huggingface/safetensors 0.8.0 rejects
/// (`safetensors/src/tensor.rs`).
@Suite("safetensors reader")
struct SafetensorsTests {
    func file(_ header: String, data: Int, length: UInt64? = nil) -> SourceFile {
        var b = withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { Array($0) } + Array(header.utf8)
        b += [UInt8](repeating: 0, count: data)
        return SourceFile(copying: b, path: "t.safetensors")
    }

    func reason(_ f: SourceFile) -> String? {
        do { _ = try SafetensorsFile(file: f); return nil } catch {
            if case let .safetensors(_, r) = error { return r }
            return "\(error)"
        }
    }

    @Test("the writer example of A.4 loads: F16 ones and I8 0...3, metadata kept")
    func writerExample() throws {
        let h = "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[6,10]}}      "
        var b = withUnsafeBytes(of: UInt64(144).littleEndian) { Array($0) } + Array(h.utf8)
        b += [0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c, 0x00, 0x01, 0x02, 0x03]
        #expect(b.count == 162)
        let st = try SafetensorsFile(file: SourceFile(copying: b))
        #expect(st.metadata == ["format": "pt"])
        #expect(st.tensors.first { $0.name == "b" }?.floats() == [1, 1, 1])
        #expect(st.tensors.first { $0.name == "a" }?.floats() == [0, 1, 2, 3])
    }

    @Test("malformed files of A.4 are rejected", arguments: [
        ("overlap", "{\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]},\"y\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "gap or overlap"),
        ("gap at start", "{\"x\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, "gap or overlap"),
        ("trailing bytes", "{\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5, "trailing"),
        ("truncated data", "{\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 3, "truncated"),
        ("shape/size mismatch", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "do not hold"),
        ("shape overflow", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,4]}}", 4, "overflow"),
        ("non-string metadata", "{\"__metadata__\":{\"k\":1},\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "not a string"),
        ("unknown dtype", "{\"x\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "dtype Q4"),
        ("duplicate key", "{\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "duplicate key"),
        ("deep JSON", String(repeating: "[", count: 200), 0, "does not start"),
        ("deep JSON in an object", "{\"x\":" + String(repeating: "[", count: 200) + "}", 0, "nested deeper"),
    ])
    func malformed(_ name: String, _ header: String, _ data: Int, _ expected: String) {
        let r = reason(file(header, data: data))
        #expect(r?.contains(expected) == true, "\(name): \(r ?? "accepted")")
    }

    @Test("header lengths over the cap or past the file are rejected; leading whitespace is accepted")
    func headerLength() throws {
        #expect(reason(file("{}", data: 0, length: 1 << 40))?.contains("over the limit") == true)
        #expect(reason(file("{}", data: 0, length: 1000))?.contains("larger than the file") == true)
        let st = try SafetensorsFile(file: file("  {\"x\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", data: 4))
        #expect(st.tensors.first?.floats() == [0, 0, 0, 0])
    }
}

/// llama2.c `.bin` validation.
@Suite("llama2.c reader")
struct Llama2cTests {
    @Test("every truncation and a trailing byte of a v0 and a v2 export are rejected")
    func truncation() throws {
        for name in ["llama2c_v0.bin", "llama2c_v2.bin"] {
            let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestFiles.fixtures + "/" + name)))
            #expect(throws: Never.self) { try Llama2cFile(file: SourceFile(copying: good)) }
            for n in stride(from: 0, to: good.count, by: 97) {
                #expect(throws: ConvertError.self) { try Llama2cFile(file: SourceFile(copying: Array(good[..<n]))) }
            }
            #expect(throws: ConvertError.self) { try Llama2cFile(file: SourceFile(copying: good + [0])) }
        }
    }

    @Test("the shared-classifier sign trick: a negative vocab means an own classifier")
    func sharedFlag() throws {
        var h: [Int32] = [8, 16, 1, 2, 2, -4, 2]
        var b = h.withUnsafeBytes { Array($0) }
        let floats = 4 * 8 + 8 + 3 * 64 + 8 * 8 + 8 + 3 * 128 + 8 + 2 * 2 * 2 + 4 * 8
        b += [UInt8](repeating: 0, count: 4 * floats)
        let f = try Llama2cFile(file: SourceFile(copying: b))
        #expect(f.tensors.contains { $0.name == "output.weight" && $0.storageID != f.tensors[0].storageID })
        h[5] = 4
        b = h.withUnsafeBytes { Array($0) } + [UInt8](repeating: 0, count: 4 * (floats - 32))
        let shared = try Llama2cFile(file: SourceFile(copying: b))
        #expect(shared.tensors.last?.storageID == shared.tensors[0].storageID)
    }

    @Test("out-of-range header values are rejected before any size is computed")
    func badHeader() {
        for h: [Int32] in [[0, 1, 1, 1, 1, 1, 1], [8, 16, 1, 3, 3, 4, 2], [8, 16, 1, 4, 3, 4, 2], [Int32.max, 1, 1, 1, 1, 1, 1], [8, 16, 1, 2, 2, Int32.min, 2]] {
            #expect(throws: ConvertError.self) { try Llama2cFile(file: SourceFile(copying: h.withUnsafeBytes { Array($0) } + [UInt8](repeating: 0, count: 64))) }
        }
    }
}

/// ZIP container edge cases beyond the malicious suite.
@Suite("ZIP reader")
struct ZipArchiveTests {
    @Test("a plain (non-ZIP64) archive and a ZIP64 one read the same entries")
    func zip64() throws {
        var z = ZipBuilder()
        z.add("a/data.pkl", [1, 2, 3])
        z.add("a/data/0", [4, 5])
        for bytes in [z.bytes(), z.bytes(zip64: true)] {
            let f = SourceFile(copying: bytes)
            let zip = try ZipArchive(f)
            #expect(zip.entries.map { $0.name } == ["a/data.pkl", "a/data/0"])
            #expect(Array(zip.data(try #require(zip.entry("a/data/0")), in: f)) == [4, 5])
        }
    }

    @Test("CRC-32 matches the standard check value")
    func crc() {
        let v = Array("123456789".utf8).withUnsafeBytes { ZipArchive.crc32($0) }
        #expect(v == 0xCBF4_3926)
    }
}

/// Random corruption of every reader's committed fixture must end in an error or a valid parse, never a trap.
@Suite("Reader corruption")
struct ReaderCorruptionTests {
    @Test("seeded byte flips and truncations never trap", arguments: ["llama2c_st.safetensors", "llama2c_v0.bin", "llama2c_v2.bin", "nanogpt_tiny.meta.pkl", "bitgpt_tiny.pt"])
    func flips(_ name: String) throws {
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestFiles.fixtures + "/" + name)))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for i in 0..<400 {
            var b = good
            // Headers are where the structure lives: most flips land in the first 512 bytes.
            for _ in 0..<(1 + i % 3) {
                let at = i % 2 == 0 ? next() % min(512, b.count) : next() % b.count
                b[at] = UInt8(truncatingIfNeeded: next())
            }
            if i % 10 == 0 { b = Array(b[..<(next() % b.count)]) }
            let file = SourceFile(copying: b, path: name)
            if name.hasSuffix(".pkl") {
                _ = try? TokenizerImport.charTokenizer(file, vocabSize: 100)
            } else if name.hasSuffix(".pt") {
                if let ck = try? TorchCheckpoint(file: file) {
                    _ = try? CheckpointMapper.plan(ck)
                    _ = ck.tensors.map { $0.floats().count }
                }
            } else if name.hasSuffix(".safetensors") {
                if let st = try? SafetensorsFile(file: file) {
                    _ = try? CheckpointMapper.plan(st)
                    _ = st.tensors.map { $0.floats().count }
                }
            } else if let l = try? Llama2cFile(file: file) {
                _ = try? CheckpointMapper.plan(l)
                _ = l.tensors.map { $0.floats().count }
            }
        }
    }
}
