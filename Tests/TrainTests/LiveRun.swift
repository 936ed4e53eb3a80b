import Foundation
import TestSupport

/// A running `lm-train` (alone or under `mpirun`) that a test signals mid-run.
struct LiveRun {
    let process: Process
    let stdoutPath: String, stderrPath: String

    /// The built `lm-train` (a missing tool fails the test: ``ToolRunner/Missing``).
    static func lmTrain() throws -> String { try ToolRunner.path("lm-train") }

    /// Starts `executable arguments` with stdout and stderr in files of `dir`.
    init(_ executable: String, _ arguments: [String], in dir: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if URL(fileURLWithPath: executable).lastPathComponent.hasPrefix("mpirun") {
            // As in DataParallelTests: under tools/test-sanitizers.sh, Open MPI's own libraries
            // leak at MPI_Finalize; ASan's other checks stay on.
            var environment = ProcessInfo.processInfo.environment
            if let asan = environment["ASAN_OPTIONS"] { environment["ASAN_OPTIONS"] = asan + ":detect_leaks=0" }
            p.environment = environment
        }
        stdoutPath = dir.appendingPathComponent("stdout-\(UUID().uuidString)").path
        stderrPath = dir.appendingPathComponent("stderr-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
    }

    /// Waits until `loss.csv` in `out` has at least `steps` training rows (false after `limit` seconds or an early exit).
    func waitForSteps(_ steps: Int, out: String, limit: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline && process.isRunning {
            if trainRows(out) >= steps { return true }
            usleep(10_000)
        }
        return false
    }

    /// Waits for the end (killing the process after `limit` seconds); returns (status, timed out).
    /// A process ended by a signal reports 128 + signal, as a shell does.
    func finish(limit: Double = 120) -> (status: Int32, timedOut: Bool) {
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = process.isRunning
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let s = process.terminationStatus
        return (process.terminationReason == .uncaughtSignal ? 128 + s : s, timedOut)
    }

    var stdout: String { String(decoding: contents(stdoutPath), as: UTF8.self) }
    var stderr: String { String(decoding: contents(stderrPath), as: UTF8.self) }
}

/// The number of `train` rows in `OUT/loss.csv`: the steps completed and logged.
func trainRows(_ out: String) -> Int {
    String(decoding: contents(out + "/loss.csv"), as: UTF8.self).split(separator: "\n").filter { $0.split(separator: ",").dropFirst().first == "train" }.count
}

/// Flags of a tiny seeded run into `out` whose LR schedule does not depend on `--max-iters`, so a
/// stopped-and-resumed run can be compared with a straight one.
func tinyRunFlags(_ w: Workspace, _ out: String, iters: Int, checkpointInterval: Int = 1_000_000) -> [String] {
    ["--data", w.text, "--out", out, "--arch", "llama", "--bitlinear", "--n-layer", "2", "--n-head", "2", "--n-kv-head", "1",
     "--n-embd", "16", "--block-size", "8", "--batch-size", "4", "--grad-accum", "1", "--max-iters", "\(iters)",
     "--lr-decay-iters", "8", "--warmup-iters", "2", "--eval-interval", "4", "--eval-iters", "2",
     "--checkpoint-interval", "\(checkpointInterval)", "--seed", "1337"]
}
