import Foundation
import Testing
import TestSupport
@testable import BitGPTTrain
import BitGPT

/// SIGINT and SIGTERM stop lm-train after the current step with a checkpoint (issue 14, item 5).
@Suite("Stopping lm-train with a signal", .serialized)
struct InterruptTests {
    @Test("a stop request after step 3 saves iteration 3 without exporting, and the resumed run equals a straight one bit for bit")
    func stopInProcess() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Trainer(options: w.options("straight", iters: 8)).run()
        var o = w.options("stopped", iters: 8)
        o.checkpointInterval = 0
        let t = try Trainer(options: o)
        let s = try t.run(stop: { t.state.iteration >= 3 ? SIGINT : 0 })
        #expect(s.interruptedBy == SIGINT && s.iterations == 3)
        #expect(try Checkpoint.load(dir: o.out).state.iteration == 3)
        #expect(!FileManager.default.fileExists(atPath: o.out + "/model.bgpt"))
        o.resume = true
        o.checkpointInterval = 3
        let r = try Trainer(options: o)
        #expect(r.startIteration == 3)
        #expect(try r.run().interruptedBy == nil)
        for f in ["loss.csv", "ckpt.safetensors", "ckpt.optim.safetensors"] {
            let a = contents(w.dir.appendingPathComponent("straight/" + f).path)
            #expect(!a.isEmpty && a == contents(o.out + "/" + f), "\(f) differs from the straight run's")
        }
    }

    @Test("SIGINT and SIGTERM finish the step, save it, print how to --resume and exit 128 + signal; --resume continues",
          arguments: [SIGINT, SIGTERM])
    func signalStops(_ signal: Int32) throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let out = w.dir.appendingPathComponent("run").path
        let run = try LiveRun(lm, tinyRunFlags(w, out, iters: 10_000_000), in: w.dir)
        #expect(run.waitForSteps(3, out: out), "no progress: \(run.stderr)")
        kill(run.process.processIdentifier, signal)
        let (status, timedOut) = run.finish()
        #expect(!timedOut && status == 128 + signal, "status \(status): \(run.stderr)")
        let stopped = try Checkpoint.load(dir: out).state.iteration
        #expect(stopped >= 3 && stopped == trainRows(out), "the checkpoint is the last completed step")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.last.map(String.init) == "lm-train: stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") after iteration \(stopped); "
                + "saved \(out)/ckpt.safetensors; continue with the same command and --resume", "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/model.bgpt"))

        // Resumed to two more steps, the files equal a straight run's of as many steps.
        let resumed = try LiveRun(lm, tinyRunFlags(w, out, iters: stopped + 2) + ["--resume"], in: w.dir)
        let r = resumed.finish()
        #expect(r.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("at iteration \(stopped);") && resumed.stdout.contains("done: \(stopped + 2) iterations"), "\(resumed.stdout)")
        let straightOut = w.dir.appendingPathComponent("straight").path
        let straight = try LiveRun(lm, tinyRunFlags(w, straightOut, iters: stopped + 2), in: w.dir)
        #expect(straight.finish().status == 0)
        for f in ["loss.csv", "ckpt.safetensors", "ckpt.optim.safetensors"] {
            let a = contents(straightOut + "/" + f)
            #expect(!a.isEmpty && a == contents(out + "/" + f), "\(f) differs from the straight run's")
        }
    }

    @Test("a second SIGINT during the step exits at once with 130, saying so")
    func secondSignal() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace(textLength: 20_000)
        defer { w.cleanup() }
        let out = w.dir.appendingPathComponent("run").path
        // Steps of a few hundred milliseconds, so both signals land inside one step.
        let flags = ["--data", w.text, "--out", out, "--n-layer", "4", "--n-embd", "128", "--block-size", "128", "--batch-size", "16",
                     "--max-iters", "100000", "--eval-interval", "100000", "--eval-iters", "1", "--checkpoint-interval", "0"]
        let run = try LiveRun(lm, flags, in: w.dir)
        #expect(run.waitForSteps(1, out: out), "no progress: \(run.stderr)")
        kill(run.process.processIdentifier, SIGINT)
        usleep(30_000)
        kill(run.process.processIdentifier, SIGINT)
        let (status, timedOut) = run.finish()
        #expect(!timedOut && status == 130, "status \(status)")
        #expect(run.stderr.contains("second signal: exiting at once, without a checkpoint"), "\(run.stderr)")
    }

    @Test("under mpirun a SIGINT to rank 1 alone stops both ranks after the same step; rank 0 saves it and one process resumes it", .requires(MPIHarness.requirement))
    func mpiStop() throws {
        let h = try MPIHarness.make()
        defer { h.w.cleanup() }
        let out = h.w.dir.appendingPathComponent("two").path
        var flags = h.flags("two", iters: 10_000_000)
        flags[flags.firstIndex(of: "--checkpoint-interval")! + 1] = "1000000"
        let run = try LiveRun(h.mpirun, ["-np", "2"] + MPIHarness.mpiFlags + [h.lmTrain] + flags, in: h.w.dir)
        #expect(run.waitForSteps(3, out: out), "no progress: \(run.stderr)")
        let rank1 = try #require(Self.rank(1, of: run.process.processIdentifier), "rank 1 not found")
        kill(rank1, SIGINT)
        let (status, timedOut) = run.finish()
        #expect(!timedOut && status != 0, "status \(status): \(run.stderr)")
        let stopped = try Checkpoint.load(dir: out).state.iteration
        #expect(stopped >= 3 && stopped == trainRows(out), "rank 0 saved the last step both ranks completed")
        #expect(run.stderr.contains("lm-train: stopped by SIGINT after iteration \(stopped); saved \(out)/ckpt.safetensors; "
                                    + "continue with the same command and --resume"), "\(run.stderr)")
        let resumed = try h.run(ranks: 1, h.flags("two", iters: stopped + 1) + ["--resume"])
        #expect(resumed.status == 0 && resumed.stdout.contains("done: \(stopped + 1) iterations"), "\(resumed.stderr)")
    }

    /// The PID of rank `rank` among the children of `mpirun` (`OMPI_COMM_WORLD_RANK` in its environment).
    static func rank(_ rank: Int, of mpirun: Int32) -> Int32? {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(name) else { continue }
                // /proc files report size 0: read them to the end.
                func read(_ file: String) -> Data { FileHandle(forReadingAtPath: "/proc/\(name)/" + file)?.readDataToEndOfFile() ?? Data() }
                let stat = String(decoding: read("stat"), as: UTF8.self)
                guard let paren = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: paren)...].split(separator: " ")
                guard fields.count > 2, Int32(fields[1]) == mpirun else { continue }
                let env = read("environ").split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if env.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
            }
            usleep(50_000)
        }
        return nil
    }
}
