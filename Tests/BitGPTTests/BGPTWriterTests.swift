import BitGPT
import Foundation
import TestSupport
import Testing

/// Writer → reader round trips, and the writer's atomicity and misuse rules.
@Suite("BGPTWriter")
struct BGPTWriterTests {
    static func small() -> (metadata: Metadata, tensors: [(info: TensorInfo, bytes: [UInt8])]) {
        var m = Metadata()
        m.set("general.architecture", .string("llama"))
        let a = try! TensorEncoder.encode([1, 2, 3, 4, 5, 6], shape: [2, 3], as: .f32, name: "a")
        let b = try! TensorEncoder.encode([1, -1, 0, 0.5, -2], shape: [5], as: .t1, name: "b")
        return (m, [(TensorInfo(name: "a", dtype: .f32, shape: [2, 3]), a), (TensorInfo(name: "b", dtype: .t1, shape: [5]), b)])
    }

    @Test("a model written by the writer reads back equal: metadata, table and every tensor's bytes")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("rich.bgpt")
        try SampleFiles.writeRich(to: path)
        #expect(dir.contents() == ["rich.bgpt"], "no temporary file is left")
        let f = try BGPTFile(path: path)
        #expect(f.metadata == SampleFiles.richMetadata)
        #expect(f.version == (1, 0) as (UInt16, UInt16))
        #expect(f.alignment == 64)
        try f.verify()
        let expected = SampleFiles.richTensors()
        #expect(f.tensors.map(\.name) == expected.map(\.info.name))
        for (t, e) in zip(f.tensors, expected) {
            #expect(t.dtype == e.info.dtype && t.shape == e.info.shape, "\(t.name)")
            #expect(t.offset % 64 == 0)
            #expect(t.checksum == XXHash64.hash(e.bytes))
            let v = try f.tensor(t.name)
            #expect(Array(v.bytes) == e.bytes, "\(t.name)")
            try v.validateCodes()
            let decoded = withTensorView(e.bytes, dtype: e.info.dtype, shape: e.info.shape) { $0.dequantized() }
            #expect(v.dequantized() == decoded)
        }
        // The writer and the raw encoder lay out the same bytes.
        #expect(try dir.read("rich.bgpt") == SampleFiles.richFileBytes())
        #expect(throws: FormatError.tensorNotFound("nope")) { _ = try f.tensor("nope") }
        #expect(f.info("blk.0.attn_q")?.dtype == .t2)
    }

    @Test("any valid alignment is honoured", arguments: [8, 16, 64, 4096, 65536])
    func alignments(alignment: Int) throws {
        let dir = try TemporaryDirectory()
        let (m, t) = Self.small()
        try BGPTWriter.write(path: dir.file("m.bgpt"), metadata: m, tensors: t, alignment: alignment)
        let f = try BGPTFile(path: dir.file("m.bgpt"))
        #expect(f.alignment == alignment)
        #expect(f.dataOffset % alignment == 0)
        #expect(f.tensors.allSatisfy { $0.offset % UInt64(alignment) == 0 })
        try f.verify()
        #expect(try f.tensor("a").f32.map(Array.init) == [1, 2, 3, 4, 5, 6])
    }

    @Test("the same model writes the same bytes")
    func deterministic() throws {
        let dir = try TemporaryDirectory()
        try SampleFiles.writeRich(to: dir.file("1.bgpt"))
        try SampleFiles.writeRich(to: dir.file("2.bgpt"))
        #expect(try dir.read("1.bgpt") == dir.read("2.bgpt"))
    }

    @Test("a writer dropped before finish() leaves no temporary file and the old destination intact")
    func abandonedByDeinit() throws {
        let dir = try TemporaryDirectory()
        let old: [UInt8] = Array("old contents".utf8)
        try dir.write("m.bgpt", old)
        let (m, t) = Self.small()
        do {
            let w = try BGPTWriter(path: dir.file("m.bgpt"), metadata: m, tensors: t.map(\.info))
            try w.write("a", bytes: t[0].bytes)
            // Mid-way the temporary file sits beside the destination.
            let names = dir.contents()
            #expect(names.count == 2)
            #expect(names.contains { $0.hasPrefix(".m.bgpt.tmp-\(getpid())-") })
            #expect(try dir.read("m.bgpt") == old)
        }
        #expect(dir.contents() == ["m.bgpt"])
        #expect(try dir.read("m.bgpt") == old)
    }

    @Test("a new destination stays absent when the writer is dropped")
    func abandonedNew() throws {
        let dir = try TemporaryDirectory()
        let (m, t) = Self.small()
        do { _ = try BGPTWriter(path: dir.file("m.bgpt"), metadata: m, tensors: t.map(\.info)) }
        #expect(dir.contents().isEmpty)
    }

    @Test("wrong order, wrong size, missing and extra tensors are writer misuse; the old file survives")
    func misuse() throws {
        let dir = try TemporaryDirectory()
        let old: [UInt8] = [1, 2, 3]
        try dir.write("m.bgpt", old)
        let (m, t) = Self.small()
        let w = try BGPTWriter(path: dir.file("m.bgpt"), metadata: m, tensors: t.map(\.info))
        #expect(w.nextTensorName == "a")
        #expect(throws: FormatError.writerMisuse("writer expected tensor \"a\", got \"b\"")) { try w.write("b", bytes: t[1].bytes) }
        #expect(throws: FormatError.writerMisuse("tensor \"a\" needs 24 bytes, got 23")) { try w.write("a", bytes: Array(t[0].bytes.dropLast())) }
        #expect(throws: FormatError.writerMisuse("tensor \"a\" needs 24 bytes, got 25")) { try w.write("a", bytes: t[0].bytes + [0]) }
        try w.write("a", bytes: t[0].bytes)
        #expect(w.nextTensorName == "b")
        #expect(throws: FormatError.writerMisuse("tensor \"b\" was declared but never written")) { try w.finish() }
        #expect(dir.contents() == ["m.bgpt"], "finish() with a missing tensor abandons")
        #expect(try dir.read("m.bgpt") == old)
        #expect(throws: FormatError.self) { try w.write("b", bytes: t[1].bytes) }

        let w2 = try BGPTWriter(path: dir.file("m.bgpt"), metadata: m, tensors: t.map(\.info))
        for x in t { try w2.write(x.info.name, bytes: x.bytes) }
        #expect(w2.nextTensorName == nil)
        #expect(throws: FormatError.writerMisuse("writer expected tensor \"(none)\", got \"c\"")) { try w2.write("c", bytes: []) }
        try w2.finish()
        #expect(throws: FormatError.writerMisuse("writer already finished")) { try w2.finish() }
        #expect(dir.contents() == ["m.bgpt"])
        #expect(try BGPTFile(path: dir.file("m.bgpt")).tensors.count == 2)
    }

    @Test("an explicit abandon() removes the temporary file")
    func explicitAbandon() throws {
        let dir = try TemporaryDirectory()
        let (m, t) = Self.small()
        let w = try BGPTWriter(path: dir.file("m.bgpt"), metadata: m, tensors: t.map(\.info))
        try w.write("a", bytes: t[0].bytes)
        w.abandon()
        #expect(dir.contents().isEmpty)
        #expect(throws: FormatError.self) { try w.finish() }
        #expect(dir.contents().isEmpty)
    }

    @Test("invalid declarations are refused before any file is created")
    func badDeclarations() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("m.bgpt")
        let (m, t) = Self.small()
        let infos = t.map(\.info)
        #expect(throws: FormatError.writerMisuse("alignment 48 is not a power of two in 8...65536")) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: infos, alignment: 48)
        }
        #expect(throws: FormatError.writerMisuse("alignment 4 is not a power of two in 8...65536")) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: infos, alignment: 4)
        }
        #expect(throws: FormatError.duplicateTensor("a")) { _ = try BGPTWriter(path: path, metadata: m, tensors: [infos[0], infos[0]]) }
        #expect(throws: FormatError.writerMisuse("tensor name \"\" must be 1 to 255 bytes")) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: [TensorInfo(name: "", dtype: .f32, shape: [1])])
        }
        #expect(throws: FormatError.zeroDim(tensor: "z", axis: 1)) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: [TensorInfo(name: "z", dtype: .f32, shape: [2, 0])])
        }
        #expect(throws: FormatError.badDimCount(tensor: "d", count: 5)) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: [TensorInfo(name: "d", dtype: .f32, shape: [1, 1, 1, 1, 1])])
        }
        #expect(throws: FormatError.badDimCount(tensor: "d", count: 0)) {
            _ = try BGPTWriter(path: path, metadata: m, tensors: [TensorInfo(name: "d", dtype: .f32, shape: [])])
        }
        var badKey = m
        badKey.set("Model.Dim", .uint32(1))
        #expect(throws: FormatError.badKey(index: 1, offset: 0, reason: "\"Model.Dim\" is not lower-case dotted ASCII of at most 255 bytes")) {
            _ = try BGPTWriter(path: path, metadata: badKey, tensors: infos)
        }
        var longArray = m
        longArray.set("x", .array(.uint8([UInt8](repeating: 0, count: (16 << 20) + 1))))
        #expect(throws: FormatError.writerMisuse("metadata \"x\" has \((16 << 20) + 1) elements, over the limit of \(16 << 20)")) {
            _ = try BGPTWriter(path: path, metadata: longArray, tensors: infos)
        }
        #expect(dir.contents().isEmpty)
    }

    @Test("I/O failures name the call and the path, and leave nothing behind")
    func ioErrors() throws {
        let dir = try TemporaryDirectory()
        let (m, t) = Self.small()
        let missing = dir.file("no/such/dir/m.bgpt")
        do throws(FormatError) {
            _ = try BGPTWriter(path: missing, metadata: m, tensors: t.map(\.info))
            Issue.record("opened a file in a missing directory")
        } catch let .io(call, path, message) {
            #expect(call == "open" && path.hasPrefix(dir.file("no/such/dir/.m.bgpt.tmp-")) && message == "No such file or directory")
        } catch { Issue.record("unexpected \(error)") }

        // A directory is refused at open, and at finish() when it appeared meanwhile (rename would
        // fail, or for other kinds of file replace them): the temporary file is removed.
        let d = dir.file("d.bgpt")
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
        #expect(throws: FormatError.badDestination(path: d, kind: "a directory")) {
            _ = try BGPTWriter(path: d, metadata: m, tensors: t.map(\.info))
        }
        try FileManager.default.removeItem(atPath: d)
        let w = try BGPTWriter(path: d, metadata: m, tensors: t.map(\.info))
        for x in t { try w.write(x.info.name, bytes: x.bytes) }
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
        #expect(throws: FormatError.badDestination(path: d, kind: "a directory")) { try w.finish() }
        #expect(dir.contents() == ["d.bgpt"])
    }

    @Test("writers on several threads at once each produce a valid file")
    func concurrentWriters() throws {
        let dir = try TemporaryDirectory()
        let (m, t) = Self.small()
        let failures = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            do throws(FormatError) {
                try BGPTWriter.write(path: dir.file("m\(i % 4).bgpt"), metadata: m, tensors: t)
            } catch { failures.add("\(i): \(error)") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(dir.contents() == ["m0.bgpt", "m1.bgpt", "m2.bgpt", "m3.bgpt"])
        for i in 0..<4 { try BGPTFile(path: dir.file("m\(i).bgpt")).verify() }
    }
}

/// Collects messages from several threads.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
