import Foundation
import BitGPT

/// An error a command reports as one line on stderr before exiting with a non-zero status.
///
/// swift-argument-parser prints any error thrown from `run()` as `Error: <description>` and exits
/// 1; this type adds the file the problem is in, so the line reads
/// `Error: model.bgpt: tensor "w" checksum mismatch: ...`.
public struct FileFailure: Error, CustomStringConvertible {
    /// The file the error is about.
    public let path: String
    /// The underlying problem.
    public let underlying: Error

    /// Wraps `underlying` with the path it concerns.
    public init(_ path: String, _ underlying: Error) {
        self.path = path
        self.underlying = underlying
    }

    public var description: String { "\(path): \(underlying)" }
}

/// Opens a .bgpt file, turning any error into a ``FileFailure`` naming the path.
public func openModelFile(_ path: String) throws -> BGPTFile {
    do { return try BGPTFile(path: path) } catch { throw FileFailure(path, error) }
}
