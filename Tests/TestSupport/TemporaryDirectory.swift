import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it when
/// the object goes away.
///
/// Tests write their model files here, so they never touch the package or each other.
public final class TemporaryDirectory {
    /// The directory's absolute path (no trailing slash).
    public let path: String

    /// Creates `…/bitgpt-test-XXXXXX` with `mkdtemp`.
    ///
    /// - Throws: `CocoaError` when the directory cannot be made.
    public init() throws {
        var template = Array((NSTemporaryDirectory() + "bitgpt-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw CocoaError(.fileWriteUnknown) }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The names of the entries in the directory, hidden ones included, sorted.
    public func contents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }
}
