#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a temp-and-rename writer may replace: a regular file, or nothing (a new name).
///
/// `rename` replaces whatever entry the destination names, so writing "to" a FIFO, a device, a
/// socket or a symbolic link would turn that entry into a regular file (as root, `/dev/full`
/// would become a file), and a directory cannot be replaced at all. Writers check first and
/// refuse such a destination (``FormatError/badDestination(path:kind:)``).
public enum RenameDestination {
    /// What `path` is when it exists and is not a regular file (`a FIFO`, `a symbolic link`,
    /// `a directory`, `a character device`, `a block device`, `a socket`); nil when it is a
    /// regular file or does not exist. The entry itself is examined (`lstat`): links are not followed.
    public static func unsuitableKind(_ path: String) -> String? {
        var s = stat()
        guard lstat(path, &s) == 0 else { return nil }
        switch s.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO"
        case S_IFLNK: return "a symbolic link"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Throws ``FormatError/badDestination(path:kind:)`` unless `path` is a regular file or absent.
    public static func check(_ path: String) throws(FormatError) {
        if let kind = unsuitableKind(path) { throw .badDestination(path: path, kind: kind) }
    }

    /// The message for a destination that is `kind`, without the path:
    /// `is a FIFO; the output must be a regular file or a new name`.
    public static func message(kind: String) -> String { "is \(kind); the output must be a regular file or a new name" }
}
