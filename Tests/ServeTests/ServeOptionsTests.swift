import Foundation
import TestSupport
import Testing

/// lm-serve's flags: the shared `-t/--threads` group and the tools' one error type, checked
/// before any model is opened (issue 16).
@Suite("lm-serve options")
struct ServeOptionsTests {
    @Test("a bad --threads, --cache-type or key pair is one line, exit status 1, before the model is read")
    func badFlags() throws {
        let serve = try ToolRunner.path("lm-serve")
        let model = "/nonexistent/m.bgpt"
        let cases: [([String], String)] = [
            (["--threads", "0"], "Error: --threads: thread count 0 is out of range 1...1024"),
            (["-t", "1025"], "Error: --threads: thread count 1025 is out of range 1...1024"),
            (["--cache-type", "q8"], "Error: The value 'q8' is invalid for '--cache-type <cache-type>'. Please provide one of 'f32' and 'f16'."),
            (["--api-key", "k", "--api-key-file", "f"], "Error: give --api-key or --api-key-file, not both"),
        ]
        for (args, error) in cases {
            let r = try ToolRunner.run(serve, [model] + args)
            #expect(r.status == 1, "\(args): \(r.stderr)")
            #expect(r.errorLines.first == error, "\(args): \(r.stderr)")
            #expect(r.stdout == "", "\(args)")
        }
    }

    @Test("--threads has lm-run's names, help and default")
    func sameThreads() throws {
        func threads(_ tool: String) throws -> String {
            let r = try ToolRunner.run(try ToolRunner.path(tool), ["--help"])
            return try #require(r.stdout.components(separatedBy: "\n").first { $0.contains("--threads <threads>") }, "\(tool)")
                .trimmingCharacters(in: .whitespaces)
        }
        let serve = try threads("lm-serve")
        #expect(serve.hasPrefix("-t, --threads <threads>") && serve.contains("(default: all cores)"), "\(serve)")
        #expect(serve == (try threads("lm-run")))
    }
}
