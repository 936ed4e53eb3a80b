import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT

/// The checkpoint pair under a kill between its writes: `Checkpoint.save` writes
/// `ckpt.optim.next.safetensors`, then `ckpt.safetensors` (the commit), then renames the
/// optimizer file into place. Every state a kill can leave must resume to the uninterrupted result.
@Suite("Checkpoint commit")
struct CheckpointCommitTests {
    @Test("a kill before or after the commit rename resumes from a matching pair and ends as an uninterrupted run")
    func interruptedCommit() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        func path(_ run: String, _ file: String) -> String { w.dir.appendingPathComponent(run).appendingPathComponent(file).path }
        // The reference run checkpoints every iteration; snapshot the pairs of iterations 2 and 3.
        var ref = w.options("ref", iters: 6)
        ref.checkpointInterval = 1
        let snaps = w.dir.appendingPathComponent("snaps").path
        try FileManager.default.createDirectory(atPath: snaps, withIntermediateDirectories: true)
        _ = try Trainer(options: ref).run(onStep: { r in
            // Called before the checkpoint of r.iteration is saved: the folder holds r.iteration − 1.
            guard r.iteration == 3 || r.iteration == 4 else { return }
            for f in ["ckpt.safetensors", "ckpt.optim.safetensors"] {
                try? FileManager.default.copyItem(atPath: path("ref", f), toPath: snaps + "/\(r.iteration - 1).\(f)")
            }
        })
        // (folder, model from, optimizer from, pending optimizer from, resumes at)
        let cases = [("killed-after-commit", 3, 2, 3, 3), ("killed-before-commit", 2, 2, 3, 2), ("killed-after-all", 3, 3, 3, 3)]
        for (name, m, o, n, start) in cases {
            let dir = w.dir.appendingPathComponent(name).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: snaps + "/\(m).ckpt.safetensors", toPath: Checkpoint.modelPath(dir))
            try FileManager.default.copyItem(atPath: snaps + "/\(o).ckpt.optim.safetensors", toPath: Checkpoint.optimPath(dir))
            if name != "killed-after-all" {
                try FileManager.default.copyItem(atPath: snaps + "/\(n).ckpt.optim.safetensors", toPath: Checkpoint.nextOptimPath(dir))
            }
            try FileManager.default.copyItem(atPath: path("ref", "loss.csv"), toPath: dir + "/loss.csv")
            var opts = w.options(name, iters: 6)
            opts.checkpointInterval = 1
            opts.resume = true
            let t = try Trainer(options: opts)
            #expect(t.startIteration == start, "\(name)")
            _ = try t.run()
            for f in ["loss.csv", "ckpt.safetensors", "ckpt.optim.safetensors"] {
                #expect(contents(path(name, f)) == contents(path("ref", f)), "\(name): \(f) differs from the uninterrupted run's")
            }
            // The export equals but for its general.created timestamp.
            let got = try BGPTFile(path: path(name, "model.bgpt")), want = try BGPTFile(path: path("ref", "model.bgpt"))
            var gm = got.metadata, wm = want.metadata
            gm.remove("general.created")
            wm.remove("general.created")
            #expect(got.tensors == want.tensors && gm == wm, "\(name): model.bgpt differs from the uninterrupted run's")
            #expect(!FileManager.default.fileExists(atPath: Checkpoint.nextOptimPath(dir)), "\(name): the pending optimizer file is left")
        }
        // Neither optimizer file matches the model: refused, naming both iterations.
        let bad = w.dir.appendingPathComponent("mismatch").path
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: snaps + "/3.ckpt.safetensors", toPath: Checkpoint.modelPath(bad))
        try FileManager.default.copyItem(atPath: snaps + "/2.ckpt.optim.safetensors", toPath: Checkpoint.optimPath(bad))
        try FileManager.default.copyItem(atPath: snaps + "/2.ckpt.optim.safetensors", toPath: Checkpoint.nextOptimPath(bad))
        var o = w.options("mismatch", iters: 6)
        o.resume = true
        let e = startError(o).map { "\($0)" } ?? "none"
        #expect(e.contains("optimizer state is from iteration 2 but the model from 3"), "\(e)")
    }

    @Test("stale temporary files of dead writers are removed by the next writer; live ones are kept")
    func staleTemporaries() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        // A PID that is certainly dead: a child that has exited and been reaped.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = p.processIdentifier, me = getpid()
        let dir = w.dir.path
        let names = [".x.bin.tmp-\(dead)", ".x.bin.tmp-\(dead)-3", ".x.bin.tmp-\(me)-1", ".x.bin.tmp-1", ".x.bin.tmp-\(dead)-z", ".y.bin.tmp-\(dead)"]
        for n in names { try Data([1]).write(to: URL(fileURLWithPath: dir + "/" + n)) }
        try FileIO.writeAtomically(dir + "/x.bin", [1, 2, 3])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") })
        // Ours (a live PID), PID 1 (init, alive), a malformed suffix, another file's: kept.
        #expect(left == [".x.bin.tmp-\(me)-1", ".x.bin.tmp-1", ".x.bin.tmp-\(dead)-z", ".y.bin.tmp-\(dead)"])
        #expect(contents(dir + "/x.bin") == Data([1, 2, 3]))
    }
}
