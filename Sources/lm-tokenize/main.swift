import ArgumentParser
import BitGPT
import BitGPTCLI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `lm-tokenize`: encode text to ids, or ids to text, with any supported tokenizer.
@main
struct LMTokenize: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-tokenize",
        abstract: "Encode text to token ids (or decode ids) with a .bgpt, SentencePiece, HF, GPT-2 or tiktoken tokenizer.",
        discussion: """
            The text comes from --text or stdin. Output: the ids, space-separated on one line; with \
            --pieces, one line per token (id, tab, quoted bytes); with --decode the input is ids and \
            the output is text, written exactly (a newline is added only when stdout is a terminal, \
            so `lm-tokenize --text X | lm-tokenize --decode` gives back X byte for byte). Input must \
            be valid UTF-8 (invalid input is an error naming the byte).

            Exit status: 0 on success, 1 on a bad file, bad input, or an unknown id.
            """,
        version: BitGPTVersion.string)

    @Option(name: .long, help: "model.bgpt, x.model, tokenizer.json, x.tiktoken, encoder.json and vocab.bpe (repeat the option or join with a comma), bytes, or chars-of:FILE (the characters of FILE, as nanoGPT's prepare.py).")
    var tokenizer: [String]

    @Option(help: "Text to encode (or ids to decode); default: stdin.")
    var text: String?

    @Flag(help: "Show each token's bytes next to its id.")
    var pieces = false

    @Flag(help: "Decode ids to text.")
    var decode = false

    @Flag(help: "Encode added/special tokens' text as plain text (byte-level BPE only).")
    var noSpecial = false

    @Option(help: "Pre-tokenizer for .tiktoken files: gpt2, cl100k, or a regex.")
    var pattern: String?

    @Flag(help: "Input is a JSON array of strings (or of id arrays with --decode); output is the JSON array of results.")
    var batch = false

    @Option(help: "Special token of a .tiktoken file as NAME=ID (repeatable; default: <|endoftext|> after the last rank).")
    var special: [String] = []

    @Option(help: "Benchmark: encode the input this many times and print MB/s.")
    var bench: Int?

    func run() throws {
        let (tok, _) = try TokenizeTool.load(tokenizer, pattern: pattern, special: special)
        if text != nil { try RawArguments.checkUTF8(option: ["--text"]) }
        let input = try text ?? TokenizeTool.readStdin()
        if batch {
            StandardOutput.print(try TokenizeTool.batch(tok, json: input, decode: decode, allowSpecial: !noSpecial))
            return
        }
        if decode {
            let ids = try TokenizeTool.parseIds(input)
            if pieces {
                StandardOutput.write(try TokenizeTool.piecesText(tok, ids))
            } else {
                // The text exactly, so encode | decode round-trips byte for byte; a newline only
                // on a terminal, where the shell prompt would otherwise follow the text.
                StandardOutput.write(try tok.decode(ids) + (isatty(1) != 0 ? "\n" : ""))
            }
            return
        }
        if let n = bench {
            let r = try TokenizeTool.benchmark(tok, input, repeats: n)
            StandardOutput.print(String(format: "encode %.2f MB/s, %d ids, %d bytes", r.mbPerSecond, r.ids, input.utf8.count))
            return
        }
        let ids: [Int]
        if noSpecial, let bpe = tok as? ByteLevelBPE { ids = try bpe.encode(input, allowSpecial: false) } else { ids = try tok.encode(input) }
        if pieces {
            StandardOutput.write(try TokenizeTool.piecesText(tok, ids))
        } else {
            StandardOutput.print(ids.map(String.init).joined(separator: " "))
        }
    }
}
