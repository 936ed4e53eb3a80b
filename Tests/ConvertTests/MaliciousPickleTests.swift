import Foundation
import Testing
import BitGPT
@testable import BitGPTConvert

/// Hostile pickles and archives: each must be refused with a clear error, and nothing may run.
@Suite("Malicious checkpoints")
struct MaliciousPickleTests {
    /// Runs the machine over a bare pickle.
    func run(_ bytes: [UInt8], storages: [String: Int] = ["0": 16]) throws(ConvertError) -> PickleValue {
        let b = bytes
        return try b.withUnsafeBytes { p in Result { () throws(ConvertError) in try PickleMachine(bytes: p, storages: storages).run() } }.get()
    }

    /// Opens bytes as a .pt checkpoint.
    func open(_ bytes: [UInt8]) throws(ConvertError) -> TorchCheckpoint {
        try TorchCheckpoint(file: SourceFile(copying: bytes, path: "evil.pt"))
    }

    /// The error thrown by `body`, or nil.
    func error<T>(_ body: () throws -> T) -> ConvertError? {
        do { _ = try body(); return nil } catch let e as ConvertError { return e } catch { return .checkpoint("unexpected error type: \(error)") }
    }

    @Test("a well-formed hand-built checkpoint opens (the harness itself is right)")
    func baseline() throws {
        let ck = try open(P.checkpoint(pickle: P.modelPickle()))
        #expect(ck.tensors.count == 1)
        #expect(ck.tensors[0].floats() == [1, 2, 3, 4])
    }

    @Test("os.system through GLOBAL + REDUCE is refused, naming the global, and nothing runs")
    func osSystem() {
        let marker = TestFiles.tempDir() + "/pwned"
        let evil = P.proto2 + P.global("os", "system") + P.str("touch \(marker)") + [0x85] + P.reduce + P.stop
        let e = error { try run(evil) }
        #expect(e == .forbiddenGlobal(offset: 2, global: "os.system"))
        #expect(e?.description.contains("os.system") == true)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("globals outside the allowlist are refused even inside a real checkpoint", arguments: [
        ("builtins", "eval"), ("subprocess", "Popen"), ("posix", "system"), ("torch", "load"), ("__main__", "Exploit"), ("numpy", "load"),
    ])
    func otherGlobals(module: String, name: String) {
        let evil = P.proto2 + P.emptyDict + P.str("model") + P.global(module, name) + P.emptyTuple + P.reduce + P.setitem + P.stop
        let e = error { try open(P.checkpoint(pickle: evil)) }
        #expect(e == .forbiddenGlobal(offset: 13, global: "\(module).\(name)"))
    }

    @Test("STACK_GLOBAL is checked against the same allowlist")
    func stackGlobal() {
        let evil = P.proto2 + [0x8C, 2] + Array("os".utf8) + [0x8C, 6] + Array("system".utf8) + [0x93] + P.stop
        #expect(error { try run(evil) } == .forbiddenGlobal(offset: 14, global: "os.system"))
    }

    @Test("blocked modules stay blocked even when the caller allowlists them")
    func blockedEvenIfAllowed() {
        let evil = P.proto2 + P.global("os", "system") + P.stop
        let e = error {
            try evil.withUnsafeBytes { p in Result { () throws(ConvertError) in try PickleMachine(bytes: p, opaqueClasses: ["os.system"]).run() } }.get()
        }
        #expect(e == .forbiddenGlobal(offset: 2, global: "os.system"))
    }

    @Test("INST, OBJ, EXT1, PERSID, NEWOBJ_EX and text opcodes are refused by name", arguments: [
        (UInt8(0x69), "INST"), (0x6F, "OBJ"), (0x82, "EXT1"), (0x50, "PERSID"), (0x92, "NEWOBJ_EX"), (0x49, "INT"), (0x97, "NEXT_BUFFER"),
    ])
    func refusedOpcodes(op: UInt8, name: String) {
        let evil: [UInt8] = op == 0x69 ? P.proto2 + P.mark + [0x69] + Array("os\nsystem\n".utf8) + P.stop : P.proto2 + P.mark + [op] + P.stop
        #expect(error { try run(evil) } == .forbiddenOpcode(offset: 3, opcode: op, name: name))
    }

    @Test("BUILD on a type that is not allowlisted is refused")
    func buildOnUnexpected() {
        // BUILD on a tensor (torch would call __setstate__ / setattr on it).
        let evil = P.proto2 + P.tensor("0", numel: 4) + P.emptyDict + P.build + P.stop
        let e = error { try run(evil) }
        guard case .forbiddenCall(_, let reason)? = e else { Issue.record("expected forbiddenCall, got \(String(describing: e))"); return }
        #expect(reason.contains("BUILD"))
        // BUILD on a plain int.
        #expect(error { try run(P.proto2 + P.int(3) + P.emptyDict + P.build + P.stop) } != nil)
    }

    @Test("REDUCE on a storage type or a non-callable is refused")
    func reduceOnStorage() {
        let e = error { try run(P.proto2 + P.global("torch", "FloatStorage") + P.emptyTuple + P.reduce + P.stop) }
        guard case .forbiddenCall? = e else { Issue.record("expected forbiddenCall, got \(String(describing: e))"); return }
        #expect(error { try run(P.proto2 + P.str("x") + P.emptyTuple + P.reduce + P.stop) } != nil)
    }

    @Test("deep nesting is refused before it can exhaust the stack", arguments: [300, 100_000])
    func deepNesting(depth: Int) {
        // ((((( ... : MARKs nested too deep.
        let marks = P.proto2 + [UInt8](repeating: 0x28, count: depth) + P.stop
        #expect(error { try run(marks) } != nil)
        // [[[[ ... ]]]] : EMPTY_LIST then LIST-wrapping without MARK nesting (append into fresh lists).
        var lists = P.proto2 + [0x5D]
        for _ in 0..<depth { lists += [0x5D, 0x32] + [0x30] } // keep stack shallow: noise that must not crash
        lists += P.stop
        _ = error { try run(lists) }
        var nested = P.proto2 + [0x5D]
        for _ in 0..<depth { nested += [0x28] + [0x6C] + [0x30] } // builds nothing deep, must not crash
        _ = error { try run(nested + P.stop) }
        // tuple1 of tuple1 of ...: depth grows by one per opcode.
        let tuples = P.proto2 + P.emptyTuple + [UInt8](repeating: 0x85, count: depth) + P.stop
        let e = error { try run(tuples) }
        guard case .pickle(_, let reason)? = e else { Issue.record("expected a nesting error, got \(String(describing: e))"); return }
        #expect(reason.contains("nested deeper"))
    }

    @Test("huge memo indices and unknown memo gets are refused")
    func hugeMemo() {
        let put = P.proto2 + P.emptyDict + [0x72, 0xFF, 0xFF, 0xFF, 0xFF] + P.stop
        #expect(error { try run(put) } == .pickle(offset: 3, reason: "memo index 4294967295 is out of range"))
        let get = P.proto2 + [0x6A, 0x00, 0x00, 0x00, 0x10] + P.stop
        #expect(error { try run(get) } == .pickle(offset: 2, reason: "memo index 268435456 was never stored"))
    }

    @Test("a string length larger than the input is refused without allocating it")
    func hugeString() {
        let evil = P.proto2 + [0x58, 0xFF, 0xFF, 0xFF, 0x7F] + P.stop
        guard case .pickle(let at, let reason)? = error({ try run(evil) }) else { Issue.record("expected a pickle error"); return }
        #expect(at == 2)
        #expect(reason.contains("larger than"))
        let evil8 = P.proto2 + [0x8D] + [UInt8](repeating: 0xFF, count: 8) + P.stop
        #expect(error { try run(evil8) } != nil)
    }

    @Test("storage keys that name no archive entry are refused", arguments: ["../../etc/passwd", "1", "", "0/../0"])
    func storageOutsideZip(key: String) {
        let e = error { try open(P.checkpoint(pickle: P.modelPickle(key: key))) }
        guard case .pickle(_, let reason)? = e else { Issue.record("expected a pickle error, got \(String(describing: e))"); return }
        #expect(reason == "storage key \"\(key)\" has no data/\(key) entry in the archive")
    }

    @Test("a storage claiming more elements than its entry holds, or a tensor past its storage, is refused")
    func storageTooSmall() {
        guard case .pickle(_, let r1)? = error({ try open(P.checkpoint(pickle: P.modelPickle(numel: 5))) }) else { Issue.record("expected error"); return }
        #expect(r1.contains("claims 5 elements"))
        guard case .pickle(_, let r2)? = error({ try open(P.checkpoint(pickle: P.modelPickle(numel: 4, size: 3, offset: 2))) }) else {
            Issue.record("expected error"); return
        }
        #expect(r2.contains("runs past its storage"))
    }

    @Test("a compressed (deflated) entry is refused")
    func compressed() {
        let e = error { try open(P.checkpoint(pickle: P.modelPickle(), method: 8)) }
        guard case .zip(_, let reason)? = e else { Issue.record("expected a zip error, got \(String(describing: e))"); return }
        #expect(reason.contains("compressed (method 8)"))
    }

    @Test("every truncation of a valid checkpoint is refused cleanly")
    func truncated() {
        let good = P.checkpoint(pickle: P.modelPickle())
        for n in 0..<good.count {
            #expect(error { try open(Array(good[..<n])) } != nil, "prefix of \(n) bytes was accepted")
        }
    }

    /// The seed of ``byteFlips()``; `BITGPT_FLIP_SEED` replays another one.
    static let flipSeed = ProcessInfo.processInfo.environment["BITGPT_FLIP_SEED"].flatMap { UInt64($0) } ?? 0x9C_F11B

    @Test("byte flips anywhere in a checkpoint never trap")
    func byteFlips() {
        let good = P.checkpoint(pickle: P.modelPickle())
        // A trap ends the process before any report, so the seed is printed first.
        print("byte flips: seed \(Self.flipSeed) (replay with BITGPT_FLIP_SEED=\(Self.flipSeed))")
        var rng = SeededRandom(seed: Self.flipSeed)
        for _ in 0..<2000 {
            var b = good
            for _ in 0..<3 { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = error { try open(b) }
        }
    }

    @Test("byte flips in a real checkpoint's pickle (past the CRC) never trap")
    func pickleFlips() throws {
        let file = try SourceFile(path: TestFiles.fixtures + "/bitgpt_tiny.pt")
        let zip = try ZipArchive(file)
        let pkl = try #require(zip.entry("bitgpt/data.pkl"))
        let good = [UInt8](zip.data(pkl, in: file))
        var storages: [String: Int] = [:]
        for e in zip.entries where e.name.hasPrefix("bitgpt/data/") { storages[String(e.name.dropFirst("bitgpt/data/".count))] = e.size }
        var state: UInt64 = 42
        for i in 0..<1500 {
            var b = good
            for _ in 0..<(1 + i % 4) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                b[Int(state >> 33) % b.count] = UInt8(truncatingIfNeeded: state >> 13)
            }
            _ = try? b.withUnsafeBytes { p in Result { () throws(ConvertError) in try PickleMachine(bytes: p, storages: storages).run() } }.get()
        }
    }

    @Test("overlapping ZIP entries (the overlap zip bomb) are refused")
    func overlapping() {
        var z = ZipBuilder()
        z.add("ckpt/data.pkl", P.modelPickle())
        z.add("ckpt/data/0", [UInt8](repeating: 0, count: 16))
        var b = z.bytes()
        // Point the second central entry's local header offset at the first entry.
        let cd = Int(b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: b.count - 6, as: UInt32.self) })
        let nameLen = Int(b[cd + 28]) | Int(b[cd + 29]) << 8
        let second = cd + 46 + nameLen
        for i in 0..<4 { b[second + 42 + i] = 0 }
        let e = error { try open(b) }
        guard case .zip? = e else { Issue.record("expected a zip error, got \(String(describing: e))"); return }
    }

    @Test("a legacy (pre-1.6) torch.save stream is refused with a hint")
    func legacy() {
        let e = error { try open([0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 60)) }
        #expect(e?.description.contains("legacy") == true)
    }
}
