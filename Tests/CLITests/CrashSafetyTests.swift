import BitGPT
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Kills the built `lm-convert`, `lm-quantize` and `lm-train` with SIGKILL at seeded random
/// moments spread over their run time (reading, writing, renaming) and checks what is left:
///
/// - the output path holds the old file byte for byte, or the complete new file (it passes
///   `verify()` and equals the bytes of an uninterrupted run), never anything else;
/// - temporary files of killed writers are removed by the next writer of the same output;
/// - `lm-train`, killed again and again and resumed with `--resume`, ends with the same
///   `loss.csv`, checkpoint pair and curve bytes as an uninterrupted run, and the same `.bgpt`
///   export but for its `general.created` timestamp.
///
/// Set `BITGPT_SKIP_KILL_TEST=reason` to skip (the sanitizer builds do: the test is about file
/// states, not memory, and costs minutes there). `BITGPT_KILL_SEED` replays a seed.
@Suite("Crash safety under SIGKILL", .serialized)
struct CrashSafetyTests {
    static let skipReason = ProcessInfo.processInfo.environment["BITGPT_SKIP_KILL_TEST"]
    static let seed = ProcessInfo.processInfo.environment["BITGPT_KILL_SEED"].flatMap { UInt64($0) } ?? 20261122

    static func tool(_ name: String) throws -> String { try Tools.path(name) }

    /// How a killed run ended.
    struct Outcome {
        /// True when the process exited by itself before the kill landed.
        var finished: Bool
        var seconds: Double
    }

    /// Starts `tool args`, sends SIGKILL after `delay` seconds (unless it already exited), waits.
    static func runAndKill(_ tool: String, _ args: [String], after delay: Double) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let t0 = Date()
        try p.run()
        let deadline = t0.addingTimeInterval(delay)
        while p.isRunning && Date() < deadline { usleep(2000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let finished = p.terminationReason == .exit
        if finished { #expect(p.terminationStatus == 0, "\(tool) \(args) failed with status \(p.terminationStatus)") }
        return Outcome(finished: finished, seconds: Date().timeIntervalSince(t0))
    }

    /// Runs `tool args` to completion and returns its run time.
    static func runToEnd(_ tool: String, _ args: [String]) throws -> Double {
        let t0 = Date()
        let r = try ToolRunner.run(tool, args)
        #expect(r.status == 0, "\(tool) \(args): \(r.stderr)")
        return Date().timeIntervalSince(t0)
    }

    /// Temporary files of writers (`.NAME.tmp-…`) in `dir`.
    static func temporaries(_ dir: TemporaryDirectory) -> [String] { dir.contents().filter { $0.hasPrefix(".") && $0.contains(".tmp-") } }

    /// Whether the .bgpt files at `a` and `b` hold the same model: both pass `verify()`, and they
    /// have the same size, tensor table (checksums included) and metadata but for
    /// `general.created`, the one field that differs between two runs on the same input.
    static func sameModel(_ a: String, _ b: String) throws -> Bool {
        let fa = try BGPTFile(path: a), fb = try BGPTFile(path: b)
        try fa.verify()
        try fb.verify()
        var ma = fa.metadata, mb = fb.metadata
        ma.remove("general.created")
        mb.remove("general.created")
        return fa.fileSize == fb.fileSize && fa.tensors == fb.tensors && ma == mb
    }

    /// A llama2.c v0 checkpoint of about 2.8 M parameters with seeded values: big enough that
    /// converting it takes about half a second.
    static func llama2cCheckpoint(seed: UInt64) -> [UInt8] {
        Tools.llama2cCheckpoint(seed: seed, d: 192, f: 512, l: 6, h: 6, v: 512, t: 64)
    }

    /// Kill rounds of one tool that writes `out` until `kills` runs were killed: each round starts
    /// with `old` at `out`, kills the tool at a random moment in `0 ..< 1.2 × duration`, and
    /// classifies what `out` holds.
    static func killRounds(tool: String, args: [String], out: String, dir: TemporaryDirectory, old: [UInt8], new: String,
                           duration: Double, kills target: Int, rng: inout SeededRandom, label: String) throws -> Int {
        var keptOld = 0, complete = 0, finished = 0, strays = 0, kills = 0, rounds = 0
        var thirds = [0, 0, 0]
        // Up to 6 rounds per wanted kill: runs get faster than the measured duration when the load drops.
        while kills < target && rounds < 6 * target {
            rounds += 1
            try Data(old).write(to: URL(fileURLWithPath: out))
            let delay = Double(rng.next() % 1_000_000) / 1_000_000 * 1.2 * duration
            let o = try runAndKill(tool, args, after: delay)
            if o.finished { finished += 1 } else { kills += 1; thirds[min(Int(3 * delay / duration), 2)] += 1 }
            let now = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
            if now == old {
                keptOld += 1
                #expect(!o.finished, "\(label) exited with success but left the old file")
            } else {
                let same = (try? sameModel(out, new)) ?? false
                #expect(same, "\(label): after a kill at \(delay) s the output is neither the old file nor the complete new one")
                complete += 1
            }
            let t = temporaries(dir)
            // The writer of this round removed the strays of the rounds before (their PIDs are dead).
            #expect(t.count <= 1, "\(label): stray temporary files pile up: \(t)")
            strays += t.count
        }
        print("\(label): \(rounds) rounds over \(String(format: "%.2f", duration)) s runs: \(kills) killed (in the first, second, last third of the run time: \(thirds.map(String.init).joined(separator: ", "))), \(finished) finished; output old \(keptOld), complete new \(complete); \(strays) rounds left a temporary file")
        return kills
    }

    @Test("lm-convert and lm-quantize killed at random moments leave the old output or the complete new one",
          .enabled(if: skipReason == nil, "BITGPT_SKIP_KILL_TEST is set: \(skipReason ?? "")"))
    func convertAndQuantize() throws {
        var rng = SeededRandom(seed: Self.seed)
        print("crash-safety seed \(Self.seed) (BITGPT_KILL_SEED replays it)")
        let dir = try TemporaryDirectory()
        try Data(Self.llama2cCheckpoint(seed: Self.seed)).write(to: URL(fileURLWithPath: dir.file("in.bin")))
        try Data(Self.llama2cCheckpoint(seed: Self.seed + 1)).write(to: URL(fileURLWithPath: dir.file("other.bin")))
        let convert = try Self.tool("lm-convert"), quantize = try Self.tool("lm-quantize")
        let out = dir.file("out.bgpt")
        let args = [dir.file("in.bin"), out, "--dtype", "ternary"]

        // References: the uninterrupted outputs, and an "old" file that differs from them.
        _ = try Self.runToEnd(convert, [dir.file("other.bin"), out, "--dtype", "ternary"])
        let old = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        try FileManager.default.copyItem(atPath: out, toPath: dir.file("old.bgpt"))
        let convertSeconds = try Self.runToEnd(convert, args)
        let converted = dir.file("t2.bgpt"), quantized = dir.file("i8.bgpt")
        try FileManager.default.copyItem(atPath: out, toPath: converted)
        #expect(try !Self.sameModel(dir.file("old.bgpt"), converted))
        _ = try Self.runToEnd(convert, [dir.file("in.bin"), dir.file("f32.bgpt"), "--dtype", "f32"])
        let qargs = [dir.file("f32.bgpt"), out, "--to", "int8"]
        let quantizeSeconds = try Self.runToEnd(quantize, qargs)
        try FileManager.default.copyItem(atPath: out, toPath: quantized)

        var kills = try Self.killRounds(tool: convert, args: args, out: out, dir: dir, old: old, new: converted,
                                        duration: convertSeconds, kills: 40, rng: &rng, label: "lm-convert")
        kills += try Self.killRounds(tool: quantize, args: qargs, out: out, dir: dir, old: old, new: quantized,
                                     duration: quantizeSeconds, kills: 40, rng: &rng, label: "lm-quantize")
        #expect(kills >= 80, "only \(kills) runs were killed: the runs are too short for the kill delays")

        // A last clean run removes what the last killed one left; a live PID's file is kept.
        let live = dir.file(".out.bgpt.tmp-\(getpid())-99")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: live))
        _ = try Self.runToEnd(quantize, qargs)
        #expect(Self.temporaries(dir) == [".out.bgpt.tmp-\(getpid())-99"])
        #expect(dir.contents().filter { !$0.hasPrefix(".") } == ["f32.bgpt", "i8.bgpt", "in.bin", "old.bgpt", "other.bin", "out.bgpt", "t2.bgpt"])
    }

    /// Deterministic pseudo-text for training: words drawn from a small vocabulary.
    static func text(seed: UInt64, bytes: Int) -> String {
        let words = ["the", "king", "shall", "not", "be", "crowned", "and", "yet", "we", "speak", "of", "love", "to", "thee", "night"]
        var r = SeededRandom(seed: seed), s = ""
        while s.utf8.count < bytes {
            s += words[Int(r.next() % UInt64(words.count))]
            s += r.next() % 9 == 0 ? ".\n" : " "
        }
        return s
    }

    static let trainFiles = ["ckpt.optim.safetensors", "ckpt.safetensors", "loss.csv", "loss.svg", "model.bgpt"]

    @Test("lm-train killed at random moments and resumed ends exactly as an uninterrupted run",
          .enabled(if: skipReason == nil, "BITGPT_SKIP_KILL_TEST is set: \(skipReason ?? "")"))
    func trainResume() throws {
        var rng = SeededRandom(seed: Self.seed ^ 0x5EED)
        print("crash-safety seed \(Self.seed) (BITGPT_KILL_SEED replays it)")
        let data = try TemporaryDirectory()
        let text = data.file("input.txt")
        try Self.text(seed: Self.seed, bytes: 20_000).write(toFile: text, atomically: true, encoding: .utf8)
        let train = try Self.tool("lm-train")
        func args(_ out: String) -> [String] {
            ["--data", text, "--out", out, "--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "4",
             "--max-iters", "40", "--eval-interval", "20", "--eval-iters", "2", "--warmup-iters", "5", "--checkpoint-interval", "4", "--bitlinear"]
        }
        let reference = try TemporaryDirectory()
        let seconds = try Self.runToEnd(train, args(reference.path))
        #expect(reference.contents() == Self.trainFiles)

        var kills = 0, sequences = 0, resumed = 0, fresh = 0, finishedEarly = 0
        // Kill delays are drawn over the reference run's duration; when the machine's load drops, runs
        // get faster and more of them finish before their kill, so up to 60 sequences make the 30 kills.
        while kills < 30 && sequences < 60 {
            sequences += 1
            let out = try TemporaryDirectory()
            var attempts = 0
            while true {
                attempts += 1
                let canResume = FileManager.default.fileExists(atPath: out.file("ckpt.safetensors"))
                if canResume { resumed += 1 } else { fresh += 1 }
                let a = args(out.path) + (canResume ? ["--resume"] : [])
                // After a few kills, let it finish so every sequence ends.
                let delay = attempts > 8 ? 600 : Double(rng.next() % 1_000_000) / 1_000_000 * 0.8 * seconds
                let o = try Self.runAndKill(train, a, after: delay)
                if o.finished { if attempts <= 8 { finishedEarly += 1 }; break }
                kills += 1
            }
            for f in Self.trainFiles where f != "model.bgpt" {
                let got = FileManager.default.contents(atPath: out.file(f)), want = FileManager.default.contents(atPath: reference.file(f))
                #expect(got != nil && got == want, "sequence \(sequences): \(f) differs from the uninterrupted run's")
            }
            #expect((try? Self.sameModel(out.file("model.bgpt"), reference.file("model.bgpt"))) == true,
                    "sequence \(sequences): model.bgpt differs from the uninterrupted run's")
            #expect(out.contents() == Self.trainFiles, "sequence \(sequences) left \(out.contents())")
        }
        print("lm-train: \(sequences) kill-and-resume sequences over \(String(format: "%.2f", seconds)) s runs: \(kills) kills, \(resumed) resumed and \(fresh) fresh starts, \(finishedEarly) runs finished before their kill")
        #expect(kills >= 30)
    }
}
