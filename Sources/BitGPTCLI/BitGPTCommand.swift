import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tool's command: swift-argument-parser's `ParsableCommand` run by the shared entry point.
///
/// Conforming (instead of plain `ParsableCommand`) changes two things about `main()`:
///
/// - every error caused by bad input, the parser's own (a missing value, a value that does not
///   parse, an unknown flag) and `ValidationError`, exits 1, the status each tool's help
///   documents, instead of swift-argument-parser's 64 (`EX_USAGE`); other exit codes are kept
///   (`ExitCode(2)` of `lm-diff --tolerance`, 0 for `--help`);
/// - standard output is flushed and checked before a successful exit (``StandardOutput/finish()``),
///   so a full disk or a closed pipe is never reported as success.
public protocol BitGPTCommand: ParsableCommand {}

extension BitGPTCommand {
    /// Parses the command line, runs the command and exits with the documented status.
    public static func main() { runMain(nil) }

    /// ``main()`` with explicit arguments (nil: the process's own).
    public static func runMain(_ arguments: [String]?) -> Never {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            StandardOutput.finish()
            terminate(0)
        } catch {
            let code = exitCode(for: error)
            // A Foundation error that escaped a tool prints as its reason, not as a dump.
            let text = ErrorText.isFoundation(error) ? "Error: " + ErrorText.short(error) : joiningValueList(fullMessage(for: error))
            if code == .success {
                // --help, --version: the text is the output.
                if !text.isEmpty { StandardOutput.print(text) }
                StandardOutput.finish()
                terminate(0)
            }
            if !text.isEmpty { fputs(text + "\n", stderr) }
            // The run failed already; what was written still goes out, and its status is not news.
            fflush(stdout)
            terminate(code == .validationFailure ? 1 : code.rawValue)
        }
    }
}

/// `text` with swift-argument-parser's bulleted list of valid values (which it prints for six or
/// more, one `  - value` a line after "Please provide one of the following:") joined into the
/// sentence it uses for fewer, "Please provide one of 'a', 'b' or 'c'.", so an error stays one line.
func joiningValueList(_ text: String) -> String {
    let lead = "Please provide one of the following:"
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let i = lines.firstIndex(where: { $0.hasSuffix(lead) }) else { return text }
    var end = i + 1
    while end < lines.count, lines[end].hasPrefix("  - ") { end += 1 }
    let values = lines[(i + 1)..<end].map { "'\($0.dropFirst(4))'" }
    guard let last = values.last else { return text }
    let list = values.count == 1 ? last : values.dropLast().joined(separator: ", ") + " or " + last
    lines[i] = lines[i].dropLast(lead.count) + "Please provide one of \(list)."
    lines.removeSubrange((i + 1)..<end)
    return lines.joined(separator: "\n")
}

/// libc's `exit` (inside the extension, `exit` names swift-argument-parser's method).
private func terminate(_ status: Int32) -> Never { exit(status) }
