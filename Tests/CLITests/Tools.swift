import Foundation
import TestSupport
import Testing

/// The built tools, and small models written with them, for the CLI tests.
enum Tools {
    /// The path of the built tool `name`, or a recorded failure saying where it was looked for.
    static func path(_ name: String) throws -> String {
        guard let p = ToolRunner.executable(name) else {
            Issue.record("\(name) was not found next to the test bundle or in .build (set BITGPT_BIN_DIR)")
            throw CancellationError()
        }
        return p
    }

    /// Runs the built tool `name` with `args`.
    static func run(_ name: String, _ args: [String], standardOutput: FileHandle? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run(try path(name), args, standardOutput: standardOutput)
    }

    /// Writes a tiny random llama model (byte tokenizer, ternary linears, seed 7) to `path` with `lm-init`.
    static func tinyModel(_ path: String) throws {
        let r = try run("lm-init", [path, "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--context", "32", "--seed", "7"])
        #expect(r.status == 0, "lm-init: \(r.stderr)")
    }
}
