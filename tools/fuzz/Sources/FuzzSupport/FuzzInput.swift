import BitGPT
import BitGPTConvert
import CLibFuzzer
import Foundation

/// Shared steps of the libFuzzer harnesses: each runs the whole path a tool takes on the bytes
/// libFuzzer gives it. Thrown errors are the expected outcome for bad input; a trap, a sanitizer
/// report, a time-out or an allocation past `-malloc_limit_mb` is a bug.
public enum FuzzInput {
    /// The input as a byte array.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// A private scratch directory on tmpfs when there is one (tokenizer readers take paths).
    /// The directory is `bitgpt-fuzz-PID`; run.sh removes it after the run.
    public static let scratch: String = {
        let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(root)/bitgpt-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `bytes` to `name` in ``scratch`` and returns the path.
    public static func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = "\(scratch)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// Splits the input at its first NUL byte (two files in one input); the second part is empty
    /// when there is none.
    public static func split(_ bytes: [UInt8]) -> ([UInt8], [UInt8]) {
        guard let i = bytes.firstIndex(of: 0) else { return (bytes, []) }
        return (Array(bytes[..<i]), Array(bytes[(i + 1)...]))
    }

    /// Short texts every tokenizer encodes and decodes.
    public static let texts = ["Hello, world! 123", " the  end\n\t<|endoftext|>x", "é✓\u{1F600} ab\u{0}c"]

    /// Builds a tokenizer, encodes and decodes ``texts`` and decodes every id once.
    public static func exercise(_ tok: any Tokenizer) {
        for t in texts {
            if let ids = try? tok.encode(t) { _ = try? tok.decode(ids) }
        }
        let n = min(tok.vocabSize, 4096)
        if n > 0 { _ = try? tok.decode(Array(0..<n)) }
        _ = try? tok.decode([-1, tok.vocabSize, Int.max])
    }

    /// The path lm-tokenize and the converter take with an external tokenizer section: build,
    /// exercise, store in metadata, read back and build again.
    public static func exercise(section: TokenizerSection) {
        guard let tok = try? TokenizerFactory.make(section: section) else { return }
        exercise(tok)
        let m = section.toMetadata()
        if let again = try? TokenizerFactory.make(metadata: m, vocabSize: section.definedCount) { exercise(again) }
    }

    /// The converter's path over an opened checkpoint: map it onto an architecture, then decode
    /// and encode every small planned tensor in one output dtype, chosen by `salt` (the input
    /// size), so that successive inputs cover every dtype at a sixth of the cost.
    public static func exercise(checkpoint source: CheckpointSource, salt: Int) {
        for t in source.tensors where t.elementCount <= 1 << 16 {
            _ = t.floats()
            _ = t.ternaryCodes()
        }
        guard let plan = try? CheckpointMapper.plan(source) else { return }
        let d = DType.allCases[salt % DType.allCases.count]
        for p in plan.tensors where p.spec.shape.reduce(1, *) <= 1 << 16 { _ = try? Converter.encode(p, as: d) }
    }
}

/// Runs libFuzzer's driver with the process's command line.
///
/// SwiftPM links debug executables with `main` renamed to `MODULE_main` (so tests can import
/// them), which hides libFuzzer's own `main`; each harness therefore defines `MODULE_main` and
/// calls this.
/// - Parameters:
///   - argc: the argument count given to main.
///   - argv: the argument vector given to main.
///   - callback: the harness's `LLVMFuzzerTestOneInput`.
/// - Returns: libFuzzer's exit status.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, callback)
}
