import BitGPT
import BitGPTCAPI
import CBitGPT
import Foundation
import TestSupport
import Testing

/// The built tools, and small models written with them, for the CLI tests.
enum Tools {
    /// The path of the built tool `name`; a missing tool fails the test (``ToolRunner/Missing``).
    static func path(_ name: String) throws -> String { try ToolRunner.path(name) }

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

extension Tools {
    /// Writes the tiny model, loads it through the C API for `body` (with its path), then frees it.
    static func withCAPIModel(_ body: (OpaquePointer?, String) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try tinyModel(m)
        var model: OpaquePointer?
        #expect(capiModelLoad(m, nil, &model) == BG_OK.rawValue)
        defer { capiModelFree(model) }
        try body(model, m)
    }
}

extension Tools {
    /// A llama2.c v0 checkpoint (seven int32, then float32 tensors) with seeded values; tiny by
    /// default: dim d, FFN width f, l layers, h heads, vocabulary v, context t.
    static func llama2cCheckpoint(seed: UInt64 = 3, d: Int = 16, f: Int = 32, l: Int = 1, h: Int = 2, v: Int = 32,
                                  t: Int = 8) -> [UInt8] {
        let hd = d / h
        let floats = v * d + l * d + l * 4 * d * d + l * d + l * 3 * f * d + d + t * hd
        var header: [UInt8] = []
        for x in [d, f, l, h, h, v, t] { withUnsafeBytes(of: Int32(x).littleEndian) { header += $0 } }
        var r = SeededRandom(seed: seed)
        let values = (0..<floats).map { _ in Float(Int(r.next() % 2001) - 1000) / 20_000 }
        return header + values.withUnsafeBytes { [UInt8]($0) }
    }
}
