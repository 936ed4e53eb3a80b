import Foundation
import TestSupport
import Testing

/// Every tool detects a failed write of standard output: `/dev/full` (ENOSPC) gives one
/// `Error:` line and exit 1, never a trap or a silent exit 0; a closed pipe (EPIPE, as in
/// `| head`) ends the tool quietly by SIGPIPE, with nothing on stderr.
@Suite("Standard output failures")
struct StandardOutputTests {
    /// Each tool run that prints something, given the tiny model at `m` (and `m2`, a copy).
    static func commands(_ m: String, _ m2: String) -> [(String, [String])] {
        [
            ("lm-run", [m, "--max-new-tokens", "5", "--num-samples", "1"]),
            ("lm-run", [m, "--max-new-tokens", "2", "--beam-width", "2"]),
            ("lm-inspect", [m]),
            ("lm-inspect", [m, "--json"]),
            ("lm-inspect", [m, "--verify"]),
            ("lm-tokenize", ["--tokenizer", "bytes", "--text", "hello"]),
            ("lm-tokenize", ["--tokenizer", "bytes", "--text", "hello", "--pieces"]),
            ("lm-diff", [m, m2]),
            ("lm-quantize", [m, "--to", "int8", "--dry-run"]),
            ("lm-inspect", ["--help"]),
        ]
    }

    @Test("a full device: one Error line, exit 1, for every tool")
    func fullDevice() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt"), m2 = dir.file("m2.bgpt")
        try Tools.tinyModel(m)
        try FileManager.default.copyItem(atPath: m, toPath: m2)
        for (tool, args) in Self.commands(m, m2) {
            let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
            let r = try Tools.run(tool, args, standardOutput: full)
            try full.close()
            #expect(r.status == 1, "\(tool) \(args): status \(r.status), stderr \(r.stderr)")
            #expect(r.errorLines == ["Error: standard output: write failed: No space left on device"], "\(tool) \(args)")
        }
    }

    @Test("a closed pipe: killed by SIGPIPE, nothing on stderr")
    func closedPipe() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt"), m2 = dir.file("m2.bgpt")
        try Tools.tinyModel(m)
        try FileManager.default.copyItem(atPath: m, toPath: m2)
        for (tool, args) in Self.commands(m, m2) {
            let pipe = Pipe()
            try pipe.fileHandleForReading.close()
            let r = try Tools.run(tool, args, standardOutput: pipe.fileHandleForWriting)
            try pipe.fileHandleForWriting.close()
            #expect(r.status == 128 + SIGPIPE, "\(tool) \(args): status \(r.status), stderr \(r.stderr)")
            #expect(r.stderr == "", "\(tool) \(args)")
        }
    }
}
