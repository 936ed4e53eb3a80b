import Foundation
import TestSupport
import Testing
@testable import BitGPTTrain
import BitGPT

/// One (batch, accum, ranks) layout and the share each rank should get.
struct ShardCase: CustomStringConvertible, Sendable {
    var batch: Int, accum: Int, ranks: Int
    var localBatch: Int, micro: Int
    var description: String { "B\(batch)×G\(accum) over \(ranks)" }
}

@Suite("Data parallel: batch shards")
struct BatchShardTests {
    @Test("each rank gets a contiguous, disjoint share of the step, in micro-batches no larger than --batch-size",
          arguments: [
              ShardCase(batch: 12, accum: 1, ranks: 1, localBatch: 12, micro: 1),
              ShardCase(batch: 4, accum: 3, ranks: 1, localBatch: 4, micro: 3),
              ShardCase(batch: 12, accum: 1, ranks: 2, localBatch: 6, micro: 1),
              ShardCase(batch: 4, accum: 3, ranks: 2, localBatch: 3, micro: 2),
              ShardCase(batch: 4, accum: 2, ranks: 2, localBatch: 4, micro: 1),
              ShardCase(batch: 3, accum: 2, ranks: 2, localBatch: 3, micro: 1),
              ShardCase(batch: 5, accum: 2, ranks: 5, localBatch: 2, micro: 1),
              ShardCase(batch: 7, accum: 4, ranks: 4, localBatch: 7, micro: 1),
              ShardCase(batch: 2, accum: 8, ranks: 2, localBatch: 2, micro: 4),
          ])
    func layout(_ c: ShardCase) throws {
        var covered: [Int] = []
        var evalCovered: [Int] = []
        for r in 0..<c.ranks {
            let s = try BatchShard(batchSize: c.batch, gradAccum: c.accum, rank: r, ranks: c.ranks)
            #expect(s.localBatch == c.localBatch && s.localMicroBatches == c.micro, "\(s)")
            #expect(s.localBatch * s.localMicroBatches == s.perRank)
            covered += Array(s.stepRange)
            evalCovered += Array(s.evalRange(count: 3 * c.batch))
        }
        #expect(covered == Array(0..<(c.batch * c.accum)))
        #expect(evalCovered == Array(0..<(3 * c.batch)))
    }

    @Test("a step that does not split over the ranks is refused with one line naming the flags")
    func indivisible() {
        #expect(throws: TrainError.badOption("--batch-size 3 × --grad-accum 1 = 3 sequences per step do not split over 2 ranks; make it a multiple of 2")) {
            try BatchShard(batchSize: 3, gradAccum: 1, rank: 0, ranks: 2)
        }
        #expect(throws: TrainError.self) { try BatchShard(batchSize: 4, gradAccum: 1, rank: 2, ranks: 2) }
    }

    /// A tiny model's options and random token ids.
    static func tiny() -> (TrainOptions, [UInt16]) {
        var o = TrainOptions(data: "")
        o.architecture = .llama; o.bitLinear = true
        o.nLayer = 2; o.nHead = 2; o.nKVHead = 1; o.nEmbd = 16; o.blockSize = 8
        var rng = SeededRandom(seed: 5)
        return (o, (0..<400).map { _ in UInt16(rng.next() % 20) })
    }

    @Test("the ranks' gradient shares add up to the one-process gradient of the step",
          arguments: [(4, 3, 2), (6, 1, 2), (4, 2, 4), (6, 1, 3)])
    func sharesSum(batch: Int, accum: Int, ranks: Int) throws {
        let (o, split) = Self.tiny()
        let config = o.modelConfig(vocabSize: 20)
        var rng = TrainRandom(state: 11)
        let starts = rng.windowStarts(batch * accum, in: split, blockSize: 8)
        let one = TrainModel(config: config, batch: batch, seed: 3)
        one.zeroGrads()
        let oneLoss = one.accumulateGradients(windows: starts[...], from: split, scale: 1 / Float(accum)) / Double(accum)
        var sum = [Float](repeating: 0, count: one.grads.count)
        var loss = 0.0
        for r in 0..<ranks {
            let s = try BatchShard(batchSize: batch, gradAccum: accum, rank: r, ranks: ranks)
            let m = TrainModel(config: config, batch: s.localBatch, seed: 3)
            m.zeroGrads()
            loss += m.accumulateGradients(windows: starts[s.stepRange], from: split, scale: 1 / Float(s.localMicroBatches * ranks))
                / Double(s.localMicroBatches)
            for i in 0..<sum.count { sum[i] += m.grads.base[i] }
        }
        loss /= Double(ranks)
        let reference = one.grads.array()
        let scale = reference.map(abs).max() ?? 0
        let diff = zip(sum, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(scale > 0 && diff <= 1e-5 * scale, "max |Δgrad| \(diff), max |grad| \(scale)")
        #expect(abs(loss - oneLoss) <= 1e-6 * oneLoss, "loss \(loss) vs \(oneLoss)")
    }

    @Test("with one process a step and an evaluation are bit for bit the micro-batch loop used before data parallelism")
    func singleProcessUnchanged() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let o = w.options("run")
        let trainer = try Trainer(options: o)
        // The step as the trainer computed it before BatchShard: gradAccum micro-batches, each filled by fillBatch.
        let old = TrainModel(config: trainer.model.config, batch: o.batchSize, seed: o.seed)
        var rng = trainer.rng
        old.zeroGrads()
        var sum = 0.0
        for _ in 0..<o.gradAccum {
            rng.fillBatch(old, from: trainer.data.train)
            sum += Double(old.forward())
            old.backward(scale: 1 / Float(o.gradAccum))
        }
        let loss = trainer.stepGradients()
        #expect(loss == Float(sum / Double(o.gradAccum)))
        #expect(trainer.rng == rng)
        #expect(trainer.model.grads.array() == old.grads.array())
        var e = TrainRandom(state: o.seed ^ (4 &* 0xD1B5_4A32_D192_ED03) ^ (2 &* 0x8CB9_2BA7_2F3D_8DD7))
        var es = 0.0
        for _ in 0..<o.evalIters {
            e.fillBatch(old, from: trainer.data.val)
            es += Double(old.forward())
        }
        #expect(trainer.evaluate(trainer.data.val, iteration: 4, salt: 2) == Float(es / Double(o.evalIters)))
    }
}

/// Runs `lm-train` under `mpirun` (2 ranks on this machine) and alone.
struct MPIHarness {
    let mpirun: String, lmTrain: String
    let w: Workspace

    /// Flags that let Open MPI start 2 ranks on a small container as root: no core binding,
    /// oversubscription allowed, waiting ranks yield the CPU, shared-memory transport without
    /// kernel single-copy (often blocked in containers) and with its segments in the temp folder
    /// (a container's /dev/shm is small), the ob1 PML (no UCX probing).
    static let mpiFlags = ["--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1",
                           "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
                           "--mca", "btl_vader_backing_directory", NSTemporaryDirectory(), "--mca", "pml", "ob1"]

    /// `mpirun` on PATH (lm-train itself is built by `swift test`; a missing one fails the test).
    static let requirement = Requirement("mpirun (apt-get install openmpi-bin libopenmpi-dev)", isMet: Requirement.which("mpirun") != nil)

    /// The harness.
    /// - Throws: ``Requirement/Missing`` without `mpirun`, ``ToolRunner/Missing`` without `lm-train`.
    static func make() throws -> MPIHarness {
        try requirement.check()
        guard let mpirun = Requirement.which("mpirun") else { throw Requirement.Missing(reason: requirement.reason) }
        return MPIHarness(mpirun: mpirun, lmTrain: try LiveRun.lmTrain(), w: try Workspace())
    }

    /// The flags of a tiny run into `DIR/out` (4 × 3 sequences per step: over 2 ranks, 2 micro-batches of 3 each).
    func flags(_ out: String, iters: Int = 8) -> [String] {
        ["--data", w.text, "--out", w.dir.appendingPathComponent(out).path, "--arch", "llama", "--bitlinear",
         "--n-layer", "2", "--n-head", "2", "--n-kv-head", "1", "--n-embd", "16", "--block-size", "8",
         "--batch-size", "4", "--grad-accum", "3", "--max-iters", "\(iters)", "--lr-decay-iters", "8", "--warmup-iters", "2",
         "--eval-interval", "4", "--eval-iters", "2", "--checkpoint-interval", "4"]
    }

    /// What a finished (or timed-out) run produced.
    struct Run { var status: Int32; var timedOut: Bool; var stdout: String; var stderr: String }

    /// Runs `lm-train` with `arguments` on `ranks` processes (1: without mpirun), killing it
    /// after `limit` seconds (a hang guard, not a timing assertion).
    func run(ranks: Int, _ arguments: [String], limit: Double = 120) throws -> Run {
        let p = Process()
        if ranks == 1 {
            p.executableURL = URL(fileURLWithPath: lmTrain)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: mpirun)
            p.arguments = ["-np", "\(ranks)"] + Self.mpiFlags + [lmTrain] + arguments
            // Under tools/test-sanitizers.sh, Open MPI's own libraries and the components it
            // dlopens (then unloads, so LeakSanitizer cannot name them) leak at MPI_Finalize.
            // Leak checking stays on for every other lm-train run; ASan's other checks stay on here.
            var environment = ProcessInfo.processInfo.environment
            if let asan = environment["ASAN_OPTIONS"] { environment["ASAN_OPTIONS"] = asan + ":detect_leaks=0" }
            p.environment = environment
        }
        let out = w.dir.appendingPathComponent("stdout-\(UUID().uuidString)"), err = w.dir.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let oh = try FileHandle(forWritingTo: out), eh = try FileHandle(forWritingTo: err)
        p.standardOutput = oh
        p.standardError = eh
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(limit)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        if timedOut { p.terminate() }
        p.waitUntilExit()
        try oh.close(); try eh.close()
        return Run(status: p.terminationStatus, timedOut: timedOut,
                   stdout: String(decoding: contents(out.path), as: UTF8.self), stderr: String(decoding: contents(err.path), as: UTF8.self))
    }

    /// The rows of `DIR/out/loss.csv` as (iter, split, lr) → loss.
    func curve(_ out: String) -> [String: Float] {
        let text = String(decoding: contents(w.dir.appendingPathComponent(out + "/loss.csv").path), as: UTF8.self)
        var rows: [String: Float] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",")
            if f.count == 4, let l = Float(f[2]) { rows["\(f[0]),\(f[1]),\(f[3])"] = l }
        }
        return rows
    }

    /// The largest |Δloss| between two curves with the same rows (nil when the rows differ).
    func maxDifference(_ a: String, _ b: String) -> Float? {
        let x = curve(a), y = curve(b)
        guard !x.isEmpty, Set(x.keys) == Set(y.keys) else { return nil }
        return x.keys.map { abs(x[$0]! - y[$0]!) }.max()
    }
}

/// The largest |Δloss| between a 2-rank run and one process that the tests accept. Measured
/// (float summation order in the split weight-gradient GEMMs and the all-reduce): 2.4e-7 on
/// this suite's 8-step runs, 4.0e-7 over 100 steps of the nanoGPT config (docs/training.md).
let dataParallelTolerance: Float = 5e-6

@Suite("Data parallel under mpirun", .serialized)
struct DataParallelRunTests {
    @Test("2 ranks give one process's loss curve within float noise; only rank 0 prints", .requires(MPIHarness.requirement))
    func twoRanksMatchOne() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        let one = try h.run(ranks: 1, h.flags("one"))
        let two = try h.run(ranks: 2, h.flags("two"))
        #expect(one.status == 0 && two.status == 0 && !two.timedOut, "\(two.stderr)")
        #expect(h.curve("two").count == 14)
        let d = try #require(h.maxDifference("one", "two"), "loss.csv rows differ")
        print("2 ranks vs 1 process: max |Δloss| \(d)")
        #expect(d <= dataParallelTolerance)
        #expect(two.stdout.components(separatedBy: "done: 8 iterations").count == 2, "one progress report, from rank 0:\n\(two.stdout)")
        let exported = try BGPTFile(path: h.w.dir.appendingPathComponent("two/model.bgpt").path)
        try exported.verify()
    }

    @Test("LoRA on 2 ranks gives one process's loss curve within float noise (the adapters' gradients are all-reduced)",
          .requires(MPIHarness.requirement))
    func loraTwoRanksMatchOne() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        // A float base: a BitLinear base's int8 activation rounding turns summation-order noise
        // into steps of 1/127 now and then, which would hide what this test checks.
        #expect(try h.run(ranks: 1, h.flags("base", iters: 4).filter { $0 != "--bitlinear" }).status == 0)
        let base = h.w.dir.appendingPathComponent("base/model.bgpt").path
        func lora(_ out: String) -> [String] {
            ["--data", h.w.text, "--out", h.w.dir.appendingPathComponent(out).path, "--init-from", base, "--lora-rank", "4",
             "--lora-targets", "q,v,up", "--batch-size", "4", "--grad-accum", "3", "--max-iters", "8", "--lr", "1e-2",
             "--warmup-iters", "2", "--eval-interval", "4", "--eval-iters", "2", "--checkpoint-interval", "4"]
        }
        let one = try h.run(ranks: 1, lora("one"))
        let two = try h.run(ranks: 2, lora("two"))
        #expect(one.status == 0 && two.status == 0 && !two.timedOut, "\(one.stderr)\(two.stderr)")
        let d = try #require(h.maxDifference("one", "two"), "loss.csv rows differ")
        print("LoRA, 2 ranks vs 1 process: max |Δloss| \(d)")
        #expect(d <= dataParallelTolerance)
        // The loss moved: the adapters trained (B starts at zero).
        let curve = h.curve("two")
        #expect(curve.count >= 8 && Set(curve.values).count > 1, "\(curve)")
        #expect(FileManager.default.fileExists(atPath: h.w.dir.appendingPathComponent("two/adapter.safetensors").path))
    }

    @Test("a killed rank ends mpirun with a failure, the last checkpoint survives, and one process resumes it", .requires(MPIHarness.requirement))
    func killedRankAndResume() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        let straight = try h.run(ranks: 2, h.flags("straight"))
        #expect(straight.status == 0)
        // Rank 1 SIGKILLs itself after step 5; rank 0 is then waiting in the step-6 all-reduce.
        let killed = try h.run(ranks: 2, h.flags("killed") + ["--debug-kill-after", "5"])
        #expect(!killed.timedOut, "mpirun did not end after a rank died")
        #expect(killed.status != 0)
        let ckpt = try Checkpoint.load(dir: h.w.dir.appendingPathComponent("killed").path)
        #expect(ckpt.state.iteration == 4)
        let resumed = try h.run(ranks: 1, h.flags("killed") + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let d = try #require(h.maxDifference("straight", "killed"), "loss.csv rows differ")
        #expect(d <= dataParallelTolerance, "max |Δloss| \(d)")
        let a = h.curve("straight"), b = h.curve("killed")
        for (k, v) in a where Int(k.split(separator: ",")[0]) ?? 99 < 4 { #expect(b[k] == v, "\(k): the 2-rank rows before the checkpoint are kept") }
    }

    @Test("a one-process checkpoint resumes on 2 ranks", .requires(MPIHarness.requirement))
    func resumeOnMoreRanks() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        #expect(try h.run(ranks: 1, h.flags("straight")).status == 0)
        #expect(try h.run(ranks: 1, h.flags("split", iters: 4)).status == 0)
        let resumed = try h.run(ranks: 2, h.flags("split") + ["--resume"])
        #expect(resumed.status == 0 && !resumed.timedOut, "\(resumed.stderr)")
        let d = try #require(h.maxDifference("straight", "split"), "loss.csv rows differ")
        #expect(d <= dataParallelTolerance, "max |Δloss| \(d)")
    }

    @Test("2 ranks resume a checkpoint whose optimizer rename a kill interrupted (both ranks finish it)", .requires(MPIHarness.requirement))
    func resumeInterruptedCommitOnTwoRanks() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        #expect(try h.run(ranks: 1, h.flags("straight")).status == 0)
        #expect(try h.run(ranks: 1, h.flags("split", iters: 4)).status == 0)
        #expect(try h.run(ranks: 1, h.flags("older", iters: 2)).status == 0)
        // The state a kill leaves after the model file's rename (the commit), before the
        // optimizer's: the iteration-4 moments are still pending, the installed ones are older.
        let split = h.w.dir.appendingPathComponent("split").path, fm = FileManager.default
        try fm.moveItem(atPath: Checkpoint.optimPath(split), toPath: Checkpoint.nextOptimPath(split))
        try fm.copyItem(atPath: Checkpoint.optimPath(h.w.dir.appendingPathComponent("older").path), toPath: Checkpoint.optimPath(split))
        let resumed = try h.run(ranks: 2, h.flags("split") + ["--resume"])
        #expect(resumed.status == 0 && !resumed.timedOut, "\(resumed.stderr)")
        let d = try #require(h.maxDifference("straight", "split"), "loss.csv rows differ")
        #expect(d <= dataParallelTolerance, "max |Δloss| \(d)")
        #expect(!fm.fileExists(atPath: Checkpoint.nextOptimPath(split)))
    }

    @Test("an error on a rank aborts the job with exit status 1 and a one-line error naming the rank", .requires(MPIHarness.requirement))
    func errorAborts() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        var f = h.flags("bad")
        f[f.firstIndex(of: "--grad-accum")! + 1] = "1"
        f[f.firstIndex(of: "--batch-size")! + 1] = "3"
        let r = try h.run(ranks: 2, f)
        #expect(!r.timedOut && r.status == 1)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: rank ") }
        // The first rank to abort may end the other before it prints.
        #expect((1...2).contains(lines.count))
        for l in lines {
            #expect(l.hasSuffix(" of 2: --batch-size 3 × --grad-accum 1 = 3 sequences per step do not split over 2 ranks; make it a multiple of 2"))
        }
    }
}
