#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Refuses an output path that names one of the inputs, by any path or link.
///
/// Two paths are the same file when `stat` (which follows links) gives the same device and
/// inode, so `m.bgpt`, `./m.bgpt`, a hard link and a symbolic link to it all match. An output
/// that does not exist yet matches nothing.
public enum SameFile {
    /// Whether `a` and `b` both exist and are the same file.
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Throws when `output` is the same file as one of `inputs`.
    ///
    /// - Parameters:
    ///   - output: the path the tool will write.
    ///   - inputs: the paths it reads (nil entries are skipped).
    ///   - hint: what to do instead, appended to the message (e.g. `or --in-place to rewrite it`).
    /// - Throws: ``FileFailure`` naming `output`:
    ///   `OUT: is the same file as the input IN; writing it would destroy the input (give another output path)`.
    public static func refuse(output: String, inputs: [String?], hint: String = "give another output path") throws {
        for case let input? in inputs where same(output, input) {
            throw FileFailure(output, SameFileError(input: input, hint: hint))
        }
    }
}

/// The output is one of the inputs.
struct SameFileError: Error, CustomStringConvertible {
    let input: String
    let hint: String
    var description: String { "is the same file as the input \(input); writing it would destroy the input (\(hint))" }
}
