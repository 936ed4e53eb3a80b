import BitGPT
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's arguments as the bytes the shell passed, before Swift turns them into Strings
/// (which replaces invalid UTF-8 with U+FFFD and so hides it).
public enum RawArguments {
    /// Checks the text given to an option (`--prompt TEXT`, `--prompt=TEXT` or `-p TEXT`) against
    /// the UTF-8 policy of ``UTF8Input``.
    ///
    /// - Parameters:
    ///   - names: the option's spellings, e.g. `["--prompt", "-p"]`; the first names it in errors.
    ///   - arguments: the raw arguments (default: the process's own, program name excluded).
    /// - Throws: ``BadInput`` "`--prompt: invalid UTF-8 at byte N`", N counted from the
    ///   start of the text.
    public static func checkUTF8(option names: [String], arguments: [[UInt8]] = processArguments) throws {
        var previous: [UInt8] = []
        for arg in arguments {
            var text: ArraySlice<UInt8>? = nil
            if names.contains(where: { Array($0.utf8) == previous }) { text = arg[...] }
            for name in names where name.hasPrefix("--") {
                let prefix = Array((name + "=").utf8)
                if arg.starts(with: prefix) { text = arg[prefix.count...] }
            }
            if let text, let offset = UTF8Input.firstInvalidByte(text) {
                throw BadInput("\(names[0]): invalid UTF-8 at byte \(offset)")
            }
            previous = arg
        }
    }

    /// The process's arguments as bytes, program name excluded.
    public static var processArguments: [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { i in
            guard let p = CommandLine.unsafeArgv[i] else { return [] }
            return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
        }
    }
}
