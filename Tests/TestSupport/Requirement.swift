import Foundation
import Testing

/// Something a test needs from the machine (a program, a Python package, a fixture folder), and
/// what to do when it is missing.
///
/// A test names it twice: the trait `.requires(r)` skips the test, visibly and with the reason,
/// when `r` is missing, except under `CI=true`, where the test runs anyway; and `try r.check()`
/// as its first line then fails it with the reason. So a test never passes without running, and
/// CI skips nothing.
public struct Requirement: Sendable {
    /// Whether the machine has it.
    public let isMet: Bool
    /// What is missing and how to get it, e.g. "python3 with numpy (pip install -r tools/requirements.txt)".
    public let reason: String

    /// A requirement that is met when `isMet` is true.
    public init(_ reason: String, isMet: Bool) {
        self.reason = reason
        self.isMet = isMet
    }

    /// True when the environment says this is a CI run (`CI=true`): nothing may skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether a test that needs this should run: when it is met, and always under `CI=true`.
    public var shouldRun: Bool { isMet || Requirement.isCI }

    /// Throws ``Missing`` (which fails the test with the reason) when the requirement is not met.
    public func check() throws {
        if !isMet { throw Missing(reason: reason) }
    }

    /// The failure of a test whose requirement is missing under `CI=true`.
    public struct Missing: Error, CustomStringConvertible {
        /// What is missing.
        public var reason: String
        /// A failure naming `reason`.
        public init(reason: String) { self.reason = reason }
        public var description: String { "cannot run: missing \(reason)" + (Requirement.isCI ? " (CI=true: nothing may skip)" : "") }
    }

    /// Whether `python3` can import every module of `modules`.
    public static func python(_ modules: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import " + modules.joined(separator: ", ")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// The path of `name` on `PATH`, or nil.
    public static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `requirement` is met, or under `CI=true` (where ``Requirement/check()``
    /// fails it); otherwise skips it with the requirement's reason.
    public static func requires(_ requirement: Requirement) -> Self {
        .enabled(if: requirement.shouldRun, Comment(rawValue: "needs \(requirement.reason)"))
    }
}
