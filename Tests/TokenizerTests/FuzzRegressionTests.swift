import BitGPT
import Foundation
import Testing
import TestSupport

/// Tokenizer files found by the libFuzzer harnesses of tools/fuzz, and the resource limits of
/// `formats/limits.md`: a few bytes may not claim millions of ids, deep JSON nesting is an
/// error, and empty or odd files are refused cleanly.
@Suite("Fuzz regressions: tokenizer files")
struct TokenizerFuzzRegressionTests {
    /// The error of loading `paths`, or nil.
    static func loadError(_ paths: [String]) -> TokenizerError? {
        do throws(TokenizerError) {
            _ = try TokenizerFiles.load(paths)
            return nil
        } catch {
            return error
        }
    }

    @Test("encoder.json claiming id 3,999,999 for one token is refused (fuzz-gpt2-bpe: 10 s time-out, 4M-entry vocab)")
    func sparseEncoderJSON() throws {
        let dir = try TemporaryDirectory()
        let e = try dir.write("encoder.json", Array(#"{"a":3999999}"#.utf8))
        let v = try dir.write("vocab.bpe", Array("#version: 0.2\na b\n".utf8))
        #expect(throws: TokenizerError.invalid("\(e): encoder.json ids reach 3999999 with only 1 entries (at most 1025 ids may be unused)")) {
            try TokenizerFiles.load([e, v])
        }
    }

    @Test("a .tiktoken line claiming rank 3,990,999 is refused (fuzz-tiktoken: 10 s time-out)")
    func sparseTiktoken() throws {
        let dir = try TemporaryDirectory()
        let p = try dir.write("x.tiktoken", Array("YQ== 3990999\n".utf8))
        #expect(throws: TokenizerError.invalid("\(p): rank ids reach 3991000 with only 2 entries (at most 1026 ids may be unused)")) {
            try TokenizerFiles.load([p])
        }
    }

    @Test("tokenizer.json whose vocab or added token claims a huge id is refused (fuzz-tokenizer-json: 10 s time-out)")
    func sparseTokenizerJSON() throws {
        let dir = try TemporaryDirectory()
        let p = try dir.write("tokenizer.json", Array(#"{"model":{"type":"BPE","vocab":{"a":3999999},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}"#.utf8))
        #expect(throws: TokenizerError.invalid("\(p): model.vocab ids reach 3999999 with only 1 entries (at most 1025 ids may be unused)")) {
            try TokenizerFiles.load([p])
        }
        let q = try dir.write("added.json", Array(#"{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"},"added_tokens":[{"id":2000000,"content":"<s>"}]}"#.utf8))
        #expect(throws: TokenizerError.invalid("\(q): model.vocab and added_tokens ids reach 2000000 with only 2 entries (at most 1026 ids may be unused)")) {
            try TokenizerFiles.load([q])
        }
    }

    @Test("small gaps in ids stay accepted (unused ids decode to nothing)")
    func smallGapsAccepted() throws {
        let dir = try TemporaryDirectory()
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[ByteLevelAlphabet.encode([UInt8(b)])] = b }
        let root: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()] as [String: Any],
            "pre_tokenizer": ["type": "ByteLevel"],
            "added_tokens": [["id": 1000, "content": "<|endoftext|>", "special": true] as [String: Any]],
        ]
        let p = try dir.write("tokenizer.json", Array(try JSONSerialization.data(withJSONObject: root)))
        let s = try TokenizerFiles.load([p])
        #expect(s.tokens.count == 1001)
        #expect(s.eosId == 1000)
    }

    @Test("empty tokenizer files are refused (fuzz-tiktoken, fuzz-tokenizer-json: Foundation leaked the read buffer)", arguments: [
        "x.tiktoken", "tokenizer.json",
    ])
    func emptyFile(name: String) throws {
        let dir = try TemporaryDirectory()
        let p = try dir.write(name, [])
        let e = try #require(Self.loadError([p]))
        if name.hasSuffix(".tiktoken") {
            #expect(e == .invalid("\(p): no ranks"))
        } else {
            #expect(e.description.contains("not valid JSON"))
        }
    }

    @Test("JSON nested 100,000 deep is an error, not a stack overflow")
    func deepJSON() throws {
        let dir = try TemporaryDirectory()
        let p = try dir.write("tokenizer.json", Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000))
        let e = try #require(Self.loadError([p]))
        #expect(e.description.contains("not valid JSON") || e.description.contains("expected a JSON object"))
    }
}

/// Custom pre-tokenizer patterns run on ICU, which backtracks: the shapes that take exponential
/// time are refused when the tokenizer is built (`formats/limits.md`, "Custom pre-tokenizer regexes").
@Suite("Pre-tokenizer patterns that backtrack exponentially")
struct BacktrackingPatternTests {
    @Test("a repeated group that repeats or alternates inside is refused", arguments: [
        "(a+)+$", "(a|a)*b", "(?:\\s+)*x", "((ab)*)+", "(a{2,})+", "(?:x|(?:y))+", "((a|b))+",
    ])
    func refused(pattern: String) {
        #expect(PreTokenizer.mayBacktrackExponentially(pattern))
        #expect(throws: TokenizerError.self) { try PreTokenizer(pattern: pattern) }
    }

    @Test("the known patterns, optional groups, escapes and classes are accepted", arguments: [
        "(?:" + PreTokenizer.gpt2Pattern + ")",
        "(?:" + PreTokenizer.cl100kHFPattern + ")",
        #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}"#,
        "[(+)]+", "\\(a+\\)+", "(?:\\p{L})+", "(?i:'s|'t)?x",
    ])
    func accepted(pattern: String) throws {
        #expect(!PreTokenizer.mayBacktrackExponentially(pattern))
        _ = try PreTokenizer(pattern: pattern)
    }

    @Test("a tokenizer.json whose Split regex is (a+)+ is refused at load, before any text is encoded")
    func tokenizerJSON() throws {
        let dir = try TemporaryDirectory()
        let json = #"{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(a+)+$"},"behavior":"Isolated"},{"type":"ByteLevel","use_regex":false}]}}"#
        let p = try dir.write("tokenizer.json", Array(json.utf8))
        let e = try #require(TokenizerFuzzRegressionTests.loadError([p]))
        #expect(e == .invalid("\(p): tokenizer.pre_pattern repeats (with *, + or {}) a group that itself repeats or alternates, which can take exponential time: \"(a+)+$\""))
    }
}
