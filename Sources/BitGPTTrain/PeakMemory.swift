#if canImport(Glibc)
import Glibc
private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#elseif canImport(Darwin)
import Darwin
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// The process's peak resident set size, from `getrusage(RUSAGE_SELF).ru_maxrss`.
public enum PeakMemory {
    /// Peak RSS in bytes so far (Linux reports KiB, macOS bytes); 0 if unavailable.
    public static func residentBytes() -> Int {
        var u = rusage()
        guard getrusage(RUSAGE_SELF_WHO, &u) == 0 else { return 0 }
        #if canImport(Darwin)
        return Int(u.ru_maxrss)
        #else
        return Int(u.ru_maxrss) * 1024
        #endif
    }
}
