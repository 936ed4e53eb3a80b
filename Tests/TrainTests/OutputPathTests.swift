import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT

/// lm-train checks every output path before any long work (issue 14, item 6).
@Suite("lm-train output paths")
struct OutputPathTests {
    @Test("an --export under a regular file fails before any training, with one line naming the path")
    func unwritableExport() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let out = w.dir.appendingPathComponent("run").path
        let export = w.text + "/model.bgpt"  // the parent is the training text, a regular file
        let run = try LiveRun(lm, tinyRunFlags(w, out, iters: 3) + ["--export", export], in: w.dir)
        let (status, timedOut) = run.finish()
        #expect(!timedOut && status == 1)
        #expect(run.stderr == "Error: \(export): cannot write --export: Not a directory\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty, "nothing was trained: \(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: out + "/loss.csv") && !FileManager.default.fileExists(atPath: Checkpoint.modelPath(out)))
    }

    @Test("an --out folder that cannot be created, or an output that is a folder, fails before any training")
    func unwritableOut() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        var o = w.options("unused")
        o.out = w.text + "/out"
        #expect(startError(o) == .io(path: o.out, reason: "cannot create the --out folder: Not a directory"))
        o = w.options("run")
        try FileManager.default.createDirectory(atPath: o.out + "/loss.svg", withIntermediateDirectories: true)
        #expect(startError(o) == .io(path: o.out + "/loss.svg", reason: "is a directory; the output must be a regular file or a new name"))
        #expect(!FileManager.default.fileExists(atPath: o.out + "/loss.csv"))
    }
}
