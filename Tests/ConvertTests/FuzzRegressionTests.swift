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
