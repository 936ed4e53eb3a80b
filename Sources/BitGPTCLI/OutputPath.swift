import BitGPT
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks a tool's output path before any work: it must not be one of the inputs, and it must
/// be a regular file or a new name (the writers rename a temporary file over it).
///
/// Two paths are the same file when `stat` (which follows links) gives the same device and
/// inode, so `m.bgpt`, `./m.bgpt`, a hard link and a symbolic link to it all match. An output
/// that does not exist yet matches nothing.
public enum OutputPath {
    /// Whether `a` and `b` both exist and are the same file.
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Throws when `output` is the same file as one of `inputs`, or is not a regular file.
    ///
    /// - Parameters:
    ///   - output: the path the tool will write.
    ///   - inputs: the paths it reads (nil entries are skipped).
    ///   - hint: what to do instead of writing over an input.
    /// - Throws: ``FileFailure`` naming `output`, one of
    ///   `OUT: is the same file as the input IN; writing it would destroy the input (HINT)` and
    ///   `OUT: is a FIFO; the output must be a regular file or a new name`.
    public static func check(_ output: String, inputs: [String?] = [], hint: String = "give another output path") throws {
        for case let input? in inputs where same(output, input) {
            throw FileFailure(output, SameFileError(input: input, hint: hint))
        }
        if let kind = RenameDestination.unsuitableKind(output) { throw FileFailure(output, BadOutput(kind: kind)) }
    }
}

/// The output is one of the inputs.
struct SameFileError: Error, CustomStringConvertible {
    let input: String
    let hint: String
    var description: String { "is the same file as the input \(input); writing it would destroy the input (\(hint))" }
}

/// The output exists and is not a regular file.
struct BadOutput: Error, CustomStringConvertible {
    let kind: String
    var description: String { RenameDestination.message(kind: kind) }
}
