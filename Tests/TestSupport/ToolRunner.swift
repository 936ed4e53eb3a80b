import Foundation

/// Finds and runs the package's built command-line tools (`lm-inspect`, `lm-init`, ...).
///
/// The tools are built beside the test bundle (`swift test` builds every product), so they are
/// looked for, in order, in `$BITGPT_BIN_DIR`, the test executable's directory and its parents
/// (`.build/<triple>/debug/X.xctest` on Linux, `X.xctest/Contents/MacOS/X` on macOS), and
/// `.build/debug` and `.build/release` under the package root.
public enum ToolRunner {
    /// What a finished tool run produced.
    public struct Result {
        /// The exit status (or the signal number plus 128 for a killed process).
        public var status: Int32
        /// Everything written to standard output.
        public var stdout: String
        /// Everything written to standard error.
        public var stderr: String
        /// Standard output split into lines (without the final empty one).
        public var lines: [String] { ToolRunner.lines(stdout) }
        /// Standard error split into lines.
        public var errorLines: [String] { ToolRunner.lines(stderr) }
    }

    static func lines(_ s: String) -> [String] {
        var l = s.components(separatedBy: "\n")
        if l.last == "" { l.removeLast() }
        return l
    }

    /// The directories searched for tools, most specific first.
    public static func searchDirectories(packageRoot: URL) -> [URL] {
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["BITGPT_BIN_DIR"], !env.isEmpty { dirs.append(URL(fileURLWithPath: env)) }
        for exe in [CommandLine.arguments.first.map { URL(fileURLWithPath: $0) }, Bundle.main.executableURL].compactMap({ $0 }) {
            var d = exe.resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 {
                dirs.append(d)
                d = d.deletingLastPathComponent()
            }
        }
        dirs.append(packageRoot.appendingPathComponent(".build/debug"))
        dirs.append(packageRoot.appendingPathComponent(".build/release"))
        return dirs
    }

    /// The path of the built tool `name`, or nil when it cannot be found.
    ///
    /// - Parameter filePath: pass `#filePath` of a test under `Tests/<Target>/`, so the package
    ///   root can be found.
    public static func executable(_ name: String, filePath: String = #filePath) -> String? {
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for d in searchDirectories(packageRoot: root) {
            let p = d.appendingPathComponent(name).path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, FileManager.default.isExecutableFile(atPath: p) {
                return p
            }
        }
        return nil
    }

    /// A tool that is not built: `swift test` builds every product, so this fails the test.
    public struct Missing: Error, CustomStringConvertible {
        /// The tool's name.
        public var name: String
        /// A failure naming the tool `name`.
        public init(name: String) { self.name = name }
        public var description: String { "\(name) was not found next to the test bundle or in .build (run swift build, or set BITGPT_BIN_DIR)" }
    }

    /// The path of the built tool `name`.
    ///
    /// - Parameter filePath: as for ``executable(_:filePath:)``.
    /// - Throws: ``Missing`` when it is not built.
    public static func path(_ name: String, filePath: String = #filePath) throws -> String {
        guard let p = executable(name, filePath: filePath) else { throw Missing(name: name) }
        return p
    }

    /// Runs `executable` with `arguments` and waits for it.
    ///
    /// Output goes to temporary files (not pipes), so a chatty tool cannot block.
    /// - Parameter standardOutput: where the tool's stdout goes instead (then ``Result/stdout`` is empty).
    /// - Throws: when the process cannot be started.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           standardOutput: FileHandle? = nil) throws -> Result {
        let dir = try TemporaryDirectory()
        let out = dir.file("stdout"), err = dir.file("stderr")
        try dir.write("stdout", [])
        try dir.write("stderr", [])
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = standardOutput ?? outHandle
        p.standardError = errHandle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Result(status: status, stdout: String(decoding: try dir.read("stdout"), as: UTF8.self),
                      stderr: String(decoding: try dir.read("stderr"), as: UTF8.self))
    }
}
