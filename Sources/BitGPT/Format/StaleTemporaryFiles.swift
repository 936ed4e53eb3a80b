import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary files that writers killed before their rename (SIGKILL, OOM killer) left behind.
///
/// Every atomic writer of the project (``BGPTWriter``, the trainer's checkpoint and CSV writer)
/// writes `.NAME.tmp-PID` or `.NAME.tmp-PID-N` beside its destination `NAME`, then renames it.
/// A process killed in between leaves that file; the destination itself is never partial. The
/// next writer of the same destination calls ``remove(beside:)`` first, which deletes the leftovers
/// of processes that no longer exist. Files of live processes (including this one, whose other
/// threads may be writing) are kept, as are files whose PID cannot be checked.
public enum StaleTemporaryFiles {
    /// Deletes the stale temporary files of `path`'s writers that are no longer running.
    ///
    /// - Parameter path: the destination a writer is about to write.
    /// - Returns: the names that were removed (best effort: unreadable folders remove nothing).
    @discardableResult
    public static func remove(beside path: String) -> [String] {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty, let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "/" : dir) else { return [] }
        let prefix = "." + base + ".tmp-"
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = writerPID(String(name.dropFirst(prefix.count))), pid != getpid() else { continue }
            // kill(pid, 0) probes without signalling: ESRCH means no such process.
            if kill(pid, 0) != 0 && errno == ESRCH && unlink((dir.isEmpty ? "" : dir) + "/" + name) == 0 {
                removed.append(name)
            }
        }
        return removed
    }

    /// The PID of a temporary-file suffix `PID` or `PID-N` (decimal digits only), or nil.
    static func writerPID(_ suffix: String) -> pid_t? {
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.count <= 10 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let pid = pid_t(parts[0]), pid > 0 else { return nil }
        if parts.count == 2 && Int(parts[1]) == nil { return nil }
        return pid
    }
}
