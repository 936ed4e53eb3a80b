import Foundation
import BitGPT

/// An error a command reports as one line on stderr before exiting with a non-zero status.
///
/// swift-argument-parser prints any error thrown from `run()` as `Error: <description>` and exits
/// 1; this type adds the file the problem is in, so the line reads
/// `Error: model.bgpt: tensor "w" checksum mismatch: ...`. When the underlying message already
/// starts with the path, it is not repeated; Foundation errors are shortened to their reason
/// (``ErrorText/short(_:)``).
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

    public var description: String {
        let text = ErrorText.short(underlying)
        return text.hasPrefix(path + ": ") ? text : "\(path): \(text)"
    }
}

/// A wrong input or flag value, found while running: the one error type of the tools for a
/// problem that is not about a file (those are ``FileFailure``). Printed as one `Error: ` line,
/// exit status 1, without the usage text that `ValidationError` adds.
public struct BadInput: Error, CustomStringConvertible {
    /// The message, one line.
    public let description: String
    /// An error with message `message`.
    public init(_ message: String) { description = message }
}

/// Error text that fits on one line.
public enum ErrorText {
    /// `error`'s description, except that a Foundation error (`NSCocoaErrorDomain`,
    /// `NSPOSIXErrorDomain`), whose description is a multi-part dump, becomes its reason: the
    /// underlying POSIX error's `strerror` text (`No such file or directory`), else its debug
    /// description (JSON: `Invalid value around character 1.`), else its localized description.
    public static func short(_ error: Error) -> String {
        guard isFoundation(error) else { return "\(error)" }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let u = (ns.userInfo[NSUnderlyingErrorKey] as? Error).map({ $0 as NSError }), u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
        default: break
        }
        if let d = ns.userInfo[NSDebugDescriptionErrorKey] as? String, !d.isEmpty { return d }
        return ns.localizedDescription
    }

    /// Whether `error` is a Foundation error, whose own description is a multi-part dump.
    public static func isFoundation(_ error: Error) -> Bool {
        let domain = (error as NSError).domain
        return domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain
    }

    /// A `FileFailure` for an error from a tool that reads `input` and writes `output`: it names
    /// `output` when the error is about writing it (the writers name the destination or their
    /// temporary file `.NAME.tmp-…` beside it), and `input` otherwise.
    public static func blame(_ error: Error, input: String, output: String?) -> FileFailure {
        if let output {
            let text = short(error)
            let base = (output as NSString).lastPathComponent
            if text.contains("/.\(base).tmp-") || text.contains("(.\(base).tmp-") || text.contains("(\(output))")
                || text.hasPrefix(output + ": ") {
                return FileFailure(output, error)
            }
        }
        return FileFailure(input, error)
    }
}

/// Opens a .bgpt file, turning any error into a ``FileFailure`` naming the path.
public func openModelFile(_ path: String) throws -> BGPTFile {
    do { return try BGPTFile(path: path) } catch { throw FileFailure(path, error) }
}

/// Reads a whole file, or throws a ``FileFailure`` naming it with the reason
/// (`nope.txt: cannot read --prompt-file: No such file or directory`).
/// - Parameter what: what the file is, for the message (`--prompt-file`).
public func readWholeFile(_ path: String, what: String) throws -> Data {
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw FileFailure(path, ReadFailure(what: what, reason: ErrorText.short(error)))
    }
}

/// A file that could not be read.
struct ReadFailure: Error, CustomStringConvertible {
    let what: String
    let reason: String
    var description: String { "cannot read \(what): \(reason)" }
}
