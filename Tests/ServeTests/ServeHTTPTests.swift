import Foundation
import TestSupport
import Testing

/// Runs `tools/serve_test.py` against the built `lm-serve` and `lm-run`: the openai client
/// (completion, chat, both streamed) against lm-run's text, every HTTP error, the API key, the
/// queue limit, a 64-client load test, a mid-stream disconnect, SIGTERM and `/metrics`.
@Suite("lm-serve over HTTP", .serialized)
struct ServeHTTPTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Whether python3 with the openai package can run; in CI a missing one is a failure.
    static func pythonReady() -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import openai"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static let ready = pythonReady() || ProcessInfo.processInfo.environment["CI"] == "true"

    @Test("tools/serve_test.py passes", .enabled(if: ready, "python3 with the openai package is missing (tools/setup.sh installs it)"),
          .timeLimit(.minutes(20)))
    func serveTests() throws {
        #expect(Self.pythonReady(), "python3 with the openai package is required (tools/setup.sh installs it)")
        let serve = try #require(ToolRunner.executable("lm-serve"), "lm-serve is not built")
        let run = try #require(ToolRunner.executable("lm-run"), "lm-run is not built")
        let dir = try TemporaryDirectory()
        let models = Self.root.appendingPathComponent("models")
        let r = try ToolRunner.run("/usr/bin/env", [
            "python3", Self.root.appendingPathComponent("tools/serve_test.py").path,
            "--serve", serve, "--run", run,
            "--model", models.appendingPathComponent("shakespeare-char-t2.bgpt").path,
            "--bpe-model", models.appendingPathComponent("shakespeare-bpe-llama-t2.bgpt").path,
            "--tmp", dir.path,
        ])
        print(r.stdout)
        #expect(r.status == 0, "serve_test.py failed:\n\(r.stdout)\n\(r.stderr.suffix(4000))")
        #expect(r.lines.last?.hasSuffix(" 0 failed") == true)
    }
}
