import BitGPT
import BitGPTCLI
import Foundation
import Testing

@Suite("lm-tokenize helpers")
struct TokenizeToolTests {
    @Test("invalid UTF-8 input is rejected naming the byte offset")
    func invalidUTF8() throws {
        #expect(try TokenizeTool.utf8Text(Array("héllo".utf8), source: "x") == "héllo")
        do {
            _ = try TokenizeTool.utf8Text([0x61, 0xC3, 0xA9, 0x62, 0xFF, 0x63], source: "stdin")
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect("\(error)" == "stdin: invalid UTF-8 at byte 4")
        }
    }

    @Test("ids parse from spaces, commas and newlines; a non-number is an error")
    func parseIds() throws {
        #expect(try TokenizeTool.parseIds("1 2,3\n4\t5") == [1, 2, 3, 4, 5])
        #expect(throws: (any Error).self) { try TokenizeTool.parseIds("1 x") }
    }

    @Test("pieces show escapes for control characters and partial UTF-8")
    func pieces() throws {
        let t = ByteTokenizer()
        #expect(try TokenizeTool.piecesText(t, [72, 10, 0xC3]) == "72\t\"H\"\n10\t\"\\n\"\n195\t\"\\xC3\"\n")
        #expect(TokenizeTool.show(Array("é\"".utf8)) == "\"é\\\"\"")
    }

    @Test("batch mode encodes a JSON array of strings and decodes arrays of ids")
    func batch() throws {
        let t = try ByteLevelBPE(section: SmallBPE.section())
        let encoded = try TokenizeTool.batch(t, json: #"["the lazy", ""]"#, decode: false, allowSpecial: true)
        let ids = try t.encode("the lazy")
        #expect(encoded == "[[" + ids.map(String.init).joined(separator: ",") + "],[]]")
        let decoded = try TokenizeTool.batch(t, json: "[[" + ids.map(String.init).joined(separator: ",") + "]]", decode: true, allowSpecial: true)
        #expect(decoded == #"["the lazy"]"#)
    }

    @Test("--special NAME=ID sets a .tiktoken file's special tokens")
    func tiktokenSpecials() throws {
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.tiktoken"
        let lines = (0..<256).map { Data([UInt8($0)]).base64EncodedString() + " \($0)" }.joined(separator: "\n")
        FileManager.default.createFile(atPath: path, contents: Data(lines.utf8))
        let (t, section) = try TokenizeTool.load([path], special: ["<|endoftext|>=300", "<|fim|>=301"])
        #expect(section.tokens.count == 302)
        #expect(try t.encode("a<|fim|>") == [97, 301])
        #expect(try t.encode("<|endoftext|>") == [300])
        #expect(throws: (any Error).self) { try TokenizeTool.load([path], special: ["nonsense"]) }
        #expect(throws: (any Error).self) { try TokenizeTool.load([path], special: ["<|x|>=65"]) }  // id taken by a rank
    }

    @Test("bytes and chars-of:FILE build without a model file")
    func builtins() throws {
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/text.txt"
        FileManager.default.createFile(atPath: path, contents: Data("baca".utf8))
        let (chars, section) = try TokenizeTool.load(["chars-of:" + path])
        #expect(section.tokens == ["a", "b", "c"])
        #expect(try chars.encode("cab") == [2, 0, 1])
        let (bytes, _) = try TokenizeTool.load(["bytes"])
        #expect(try bytes.encode("A") == [65])
    }
}
