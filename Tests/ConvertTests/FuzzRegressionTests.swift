import Testing
@testable import BitGPTConvert

/// Inputs found by the libFuzzer harnesses of tools/fuzz (and the shapes they generalise to),
/// each refused with its exact error. The fuzzer's finding is named in each test.
@Suite("Fuzz regressions: pickle graphs")
struct PickleGraphRegressionTests {
    func run(_ bytes: [UInt8]) throws(ConvertError) -> PickleValue {
        try bytes.withUnsafeBytes { p in Result { () throws(ConvertError) in try PickleMachine(bytes: p, storages: [:]).run() } }.get()
    }

    /// Opcodes used below.
    static let proto2: [UInt8] = [0x80, 0x02]
    static let emptyList: UInt8 = 0x5D, emptyDict: UInt8 = 0x7D, append: UInt8 = 0x61, setItem: UInt8 = 0x73
    static let pop: UInt8 = 0x30, stop: UInt8 = 0x2E
    static func longPut(_ i: UInt32) -> [UInt8] { [0x72] + withUnsafeBytes(of: i.littleEndian) { Array($0) } }
    static func longGet(_ i: UInt32) -> [UInt8] { [0x6A] + withUnsafeBytes(of: i.littleEndian) { Array($0) } }

    @Test("a list appended to itself through the memo is refused (fuzz-pickle: cycle, leaked and unbounded)")
    func listContainsItself() {
        // ] BINPUT 0  BINGET 0  APPEND  STOP
        let bytes = Self.proto2 + [Self.emptyList, 0x71, 0x00, 0x68, 0x00, Self.append, Self.stop]
        #expect(throws: ConvertError.pickle(offset: bytes.count, reason: "a list, dict or object contains itself")) { try run(bytes) }
    }

    @Test("a meta.pkl whose itos dict holds itself is refused (fuzz-metapkl: leak-6af163c9)")
    func metaPklContainsItself() {
        // {  BINPUT 0  'itos'  BINGET 0  SETITEM  STOP
        let bytes = Self.proto2 + [Self.emptyDict, 0x71, 0x00, 0x8C, 0x04] + Array("itos".utf8) + [0x68, 0x00, Self.setItem, Self.stop]
        let file = SourceFile(copying: bytes, path: "meta.pkl")
        #expect(throws: ConvertError.pickle(offset: bytes.count, reason: "a list, dict or object contains itself")) {
            try TokenizerImport.charTokenizer(file, vocabSize: 100)
        }
    }

    @Test("nesting built through memoised lists, one link at a time, is counted on the finished graph", arguments: [257, 300, 20_000])
    func staleDepth(links: Int) {
        // Memoise `links` empty lists, then append list i+1 to list i: each append sees an empty
        // child (depth 1), but the result is `links` deep.
        var bytes = Self.proto2
        for i in 0..<links { bytes += [Self.emptyList] + Self.longPut(UInt32(i)) + [Self.pop] }
        for i in 0..<(links - 1) { bytes += Self.longGet(UInt32(i)) + Self.longGet(UInt32(i + 1)) + [Self.append, Self.pop] }
        bytes += Self.longGet(0) + [Self.stop]
        #expect(throws: ConvertError.pickle(offset: bytes.count, reason: "values nested deeper than \(PickleMachine.maxDepth)")) { try run(bytes) }
    }

    @Test("the same chain 256 deep is accepted and its depth is what it claims")
    func chainAtTheLimit() throws {
        var bytes = Self.proto2
        let links = PickleMachine.maxDepth
        for i in 0..<links { bytes += [Self.emptyList] + Self.longPut(UInt32(i)) + [Self.pop] }
        for i in 0..<(links - 1) { bytes += Self.longGet(UInt32(i)) + Self.longGet(UInt32(i + 1)) + [Self.append, Self.pop] }
        bytes += Self.longGet(0) + [Self.stop]
        var v = try run(bytes)
        var depth = 1
        while case let .list(l) = v, let first = l.items.first { v = first; depth += 1 }
        #expect(depth == links)
    }

    @Test("a shared (not cyclic) sub-list is accepted: the graph check allows a DAG")
    func sharedIsFine() throws {
        // inner = [] (memoised, popped); outer = [inner, inner].
        let bytes = Self.proto2 + [Self.emptyList, 0x71, 0x00, Self.pop, Self.emptyList, 0x68, 0x00, Self.append, 0x68, 0x00, Self.append, Self.stop]
        let v = try run(bytes)
        #expect(v.items?.count == 2)
    }

    @Test("an object whose BUILD state is itself is refused before the hyper-parameter walk can loop")
    func objectStateIsItself() {
        // GLOBAL model GPTConfig, EMPTY_TUPLE, NEWOBJ, BINPUT 0, BINGET 0, BUILD, STOP
        let bytes = Self.proto2 + [0x63] + Array("model\nGPTConfig\n".utf8) + [0x29, 0x81, 0x71, 0x00, 0x68, 0x00, 0x62, Self.stop]
        #expect(throws: ConvertError.pickle(offset: bytes.count, reason: "a list, dict or object contains itself")) { try run(bytes) }
    }
}

/// Small files that claim huge counts or nest deeply (issue 9, "Resource bounds";
/// `formats/limits.md`): each is refused before anything sized by the claim is allocated.
@Suite("Resource bounds: huge claims in small checkpoints")
struct CheckpointClaimTests {
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test("a safetensors header claiming 2^60 bytes is refused by its length alone")
    func hugeSafetensorsHeader() {
        let file = SourceFile(copying: Self.le(UInt64(1) << 60) + Array("{}".utf8))
        #expect(throws: ConvertError.safetensors(offset: 0, reason: "header length 1152921504606846976 is over the limit of 100000000")) {
            try SafetensorsFile(file: file)
        }
    }

    @Test("a safetensors tensor claiming 2^60 elements is refused without allocating them")
    func hugeSafetensorsShape() {
        let header = Array(#"{"w":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,4]}}"#.utf8)
        let file = SourceFile(copying: Self.le(UInt64(header.count)) + header + [0, 0, 0, 0])
        #expect(throws: ConvertError.safetensors(offset: 8, reason: "tensor \"w\": data_offsets [0, 4) do not hold [1073741824, 1073741824] × F32 (4611686018427387904 bytes)")) {
            try SafetensorsFile(file: file)
        }
    }

    @Test("a safetensors header nested 100,000 deep is refused at depth 64")
    func deepSafetensorsHeader() throws {
        let header = Array(#"{"a":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000) + [UInt8(ascii: "}")]
        let file = SourceFile(copying: Self.le(UInt64(header.count)) + header)
        do {
            _ = try SafetensorsFile(file: file)
            Issue.record("accepted")
        } catch {
            guard case let .safetensors(_, reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason == "invalid JSON header: nested deeper than \(JSONValue.maxDepth)")
        }
    }

    @Test("a 22-byte ZIP claiming 65,534 entries is refused before reserving them")
    func zipClaimingEntries() {
        // End of central directory: signature, disks 0/0, 65534 entries (this disk and total),
        // a 0-byte directory at offset 0, no comment.
        let eocd = Self.le(UInt32(0x0605_4b50)) + Self.le(UInt16(0)) + Self.le(UInt16(0)) + Self.le(UInt16(65_534)) + Self.le(UInt16(65_534))
            + Self.le(UInt32(0)) + Self.le(UInt32(0)) + Self.le(UInt16(0))
        #expect(throws: ConvertError.zip(offset: 0, reason: "65534 entries cannot fit in a 0-byte central directory")) {
            try ZipArchive(SourceFile(copying: eocd))
        }
    }

    @Test("a ZIP64 end record claiming 2^31 entries is refused before reserving them")
    func zip64ClaimingEntries() {
        // ZIP64 end record (56 bytes) at 0, its locator at 56, then the classic end record with markers.
        var rec = Self.le(UInt32(0x0606_4b50)) + Self.le(UInt64(44)) + Self.le(UInt16(45)) + Self.le(UInt16(45))
        rec += Self.le(UInt32(0)) + Self.le(UInt32(0)) + Self.le(UInt64(1) << 31) + Self.le(UInt64(1) << 31)
        rec += Self.le(UInt64(0)) + Self.le(UInt64(0))
        let locator = Self.le(UInt32(0x0706_4b50)) + Self.le(UInt32(0)) + Self.le(UInt64(0)) + Self.le(UInt32(1))
        let eocd = Self.le(UInt32(0x0605_4b50)) + Self.le(UInt16(0)) + Self.le(UInt16(0)) + Self.le(UInt16(0xFFFF)) + Self.le(UInt16(0xFFFF))
            + Self.le(UInt32(0xFFFF_FFFF)) + Self.le(UInt32(0xFFFF_FFFF)) + Self.le(UInt16(0))
        let bytes = rec + locator + eocd
        #expect(throws: ConvertError.zip(offset: rec.count + locator.count, reason: "2147483648 entries cannot fit in a 0-byte central directory")) {
            try ZipArchive(SourceFile(copying: bytes))
        }
    }

    @Test("a llama2.c header claiming 2^31 - 1 layers is refused by its ranges")
    func llama2cClaimingLayers() {
        var header: [UInt8] = []
        for v: Int32 in [8, 16, .max, 2, 2, 32, 8] { header += Self.le(v) }
        #expect(throws: ConvertError.llama2c("header values dim 8, hidden 16, layers 2147483647, heads 2, kv_heads 2, vocab 32, seq_len 8 are out of range")) {
            try Llama2cFile(file: SourceFile(copying: header, path: "x.bin"))
        }
    }

    @Test("a pickle claiming a 2 GiB string, or opening 1,000,000 MARKs, is refused without allocating", arguments: [0, 1])
    func pickleClaims(which: Int) {
        let bytes: [UInt8] = which == 0
            ? [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F] + Array("abc".utf8) + [0x2E]
            : [0x80, 0x02] + Array(repeating: 0x28, count: 1_000_000) + [0x2E]
        let e: ConvertError? = bytes.withUnsafeBytes { p in
            do throws(ConvertError) { _ = try PickleMachine(bytes: p).run(); return nil } catch { return error }
        }
        guard case let .pickle(_, reason)? = e else { Issue.record("expected a pickle error, got \(String(describing: e))"); return }
        #expect(which == 0 ? reason.contains("2147483647") : reason == "MARKs nested deeper than \(PickleMachine.maxDepth)")
    }
}
