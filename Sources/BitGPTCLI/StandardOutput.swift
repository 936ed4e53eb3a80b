#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one writer of standard output for every tool.
///
/// Text goes through the C `stdout` stream (the one `print` uses, so the two never reorder).
/// A failed write or flush ends the process: `EPIPE` (the reader went away, as in `| head`)
/// ends it quietly by `SIGPIPE`, as Unix tools do; any other error prints one line,
/// `Error: standard output: write failed: REASON`, and exits 1. Output is never lost silently.
public enum StandardOutput {
    /// Writes `text` as is.
    ///
    /// - Parameters:
    ///   - text: the bytes to write (UTF-8); empty text writes nothing.
    ///   - flush: push the text out now (for output that streams, such as generated tokens).
    public static func write(_ text: String, flush: Bool = false) {
        var t = text
        t.withUTF8 { b in
            guard let base = b.baseAddress, b.count > 0 else { return }
            if fwrite(base, 1, b.count, stdout) != b.count { fail(errno) }
        }
        if flush && fflush(stdout) != 0 { fail(errno) }
    }

    /// Writes `line` and a newline.
    public static func print(_ line: String) { write(line + "\n") }

    /// Flushes everything written so far and checks that no earlier write failed.
    ///
    /// The shared entry point (``BitGPTCommand``) calls this before exiting 0, so output
    /// written with `print` is checked as well.
    public static func finish() {
        if fflush(stdout) != 0 { fail(errno) }
        if ferror(stdout) != 0 { fail(0) }
    }

    /// Ends the process for a failed write with error number `code` (0: not known).
    static func fail(_ code: Int32) -> Never {
        if code == EPIPE {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
            _exit(128 + SIGPIPE)
        }
        let reason = code == 0 ? "I/O error" : String(cString: strerror(code))
        fputs("Error: standard output: write failed: \(reason)\n", stderr)
        _exit(1)
    }
}
