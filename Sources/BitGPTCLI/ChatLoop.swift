import BitGPT
import Foundation

/// `lm-run --chat`: one user message per line of standard input, each reply streamed to standard
/// output and ended with a newline; end of input ends the conversation. Notices (a cropped
/// history, a full context) go to standard error.
public enum ChatLoop {
    /// Runs the loop until end of input.
    ///
    /// - Parameters:
    ///   - session: the conversation.
    ///   - maxNewTokens: most tokens per reply.
    ///   - input: where lines come from (standard input by default).
    /// - Throws: ``ChatInputError`` for a line of invalid UTF-8, or at the end when some message
    ///   could not be encoded (each one is reported on standard error and skipped), or what the session throws.
    public static func run(_ session: ChatSession, maxNewTokens: Int, input: FileHandle = .standardInput) throws {
        var lines = LineReader(handle: input)
        var number = 0
        let interactive = isatty(input.fileDescriptor) != 0
        var refused = 0
        while true {
            if interactive { FileHandle.standardError.write(Data("> ".utf8)) }
            guard let bytes = lines.next() else { break }
            number += 1
            let text: String
            do { text = try UTF8Input.text(bytes) } catch { throw ChatInputError(line: number, reason: "\(error)") }
            if text.allSatisfy(\.isWhitespace) { continue }
            let turn: ChatSession.Turn
            do {
                turn = try session.send(text, maxNewTokens: maxNewTokens) { StandardOutput.write($0, flush: true) }
            } catch let e as TokenizerError {
                // One bad message does not end the conversation; the exit status reports it at the end.
                notice("error: stdin line \(number): \(e) (message skipped)")
                refused += 1
                continue
            }
            StandardOutput.write("\n", flush: true)
            if turn.dropped > 0 {
                notice("[context full: dropped the \(turn.dropped) oldest message\(turn.dropped == 1 ? "" : "s") and restarted from the rest]")
            }
            if turn.contextFull { notice("[context full: the reply was cut; the next turn restarts from a cropped history]") }
        }
        if refused > 0 { throw ChatInputError(line: nil, reason: "\(refused) message\(refused == 1 ? " was" : "s were") skipped (see above)") }
    }

    private static func notice(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// Chat input that is not valid UTF-8, or messages that could not be encoded.
public struct ChatInputError: Error, CustomStringConvertible {
    /// 1-based line number, or nil for the input as a whole.
    public let line: Int?
    /// What is wrong.
    public let reason: String
    /// One line for the user.
    public var description: String { line.map { "stdin line \($0): \(reason)" } ?? "stdin: \(reason)" }
}

/// Splits a file handle's bytes into lines as they arrive (`\n`, with a `\r` before it dropped);
/// lines are capped at 1 MiB (the rest of a longer line is discarded).
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var eof = false
    private var discarding = false  // past the cap of the current line, until its newline
    static let maxLine = 1 << 20

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> [UInt8]? {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.last == 13 { line.removeLast() }
                return line
            }
            if eof {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = [] }
                return buffer
            }
            let chunk = [UInt8](handle.availableData)
            if chunk.isEmpty {
                eof = true
            } else if discarding {
                if let nl = chunk.firstIndex(of: 10) { buffer += chunk[nl...]; discarding = false }
            } else {
                buffer += chunk
                if buffer.count > LineReader.maxLine && !buffer.contains(10) {
                    buffer.removeSubrange(LineReader.maxLine...)
                    discarding = true
                }
            }
        }
    }
}
