import BitGPT
@testable import BitGPTServe
import Foundation
import Testing

@Suite("lm-serve pieces")
struct ServeUnitTests {
    /// Feeds `pieces` to a matcher; returns everything emitted and whether it stopped.
    func run(_ stops: [String], _ pieces: [String]) -> (String, Bool) {
        var m = StopMatcher(stops)
        var out = ""
        for p in pieces { out += m.push(p) }
        out += m.flush()
        return (out, m.stopped)
    }

    @Test("stop strings are found across chunk boundaries and never leak")
    func stopAcrossChunks() {
        #expect(run(["END"], ["abc E", "N", "D tail"]) == ("abc ", true))
        #expect(run(["END"], ["abc EN", "X"]) == ("abc ENX", false))
        #expect(run(["END"], ["abc EN"]) == ("abc EN", false))  // at the end the held tail is text
        #expect(run(["xyz", "b"], ["a", "xy", "zb"]) == ("a", true))  // the earliest stop wins
        #expect(run(["aab"], ["a", "a", "a", "b", "c"]) == ("a", true))
        #expect(run(["é!"], ["caf", "é", "!"]) == ("caf", true))
        #expect(run([], ["one", "two"]) == ("onetwo", false))
        // Every split of a text gives the same result as the whole.
        let text = "To be, or not to be, that is the question"
        for cut in 0...text.count {
            let a = String(text.prefix(cut)), b = String(text.dropFirst(cut))
            #expect(run(["that"], [a, b]) == ("To be, or not to be, ", true))
        }
    }

    @Test("held text is emitted as soon as it cannot start a stop string")
    func stopHoldsOnlyPrefixes() {
        var m = StopMatcher(["<end>"])
        #expect(m.push("hello <e") == "hello ")
        #expect(m.push("nx") == "<enx")
        #expect(m.push("<") == "")
        #expect(m.push("end>") == "")
        #expect(m.stopped)
    }

    @Test("JSON output escapes strings and keeps key order")
    func jsonOutput() {
        let j = JSON.object([("b", .string("q\"\\\n\u{1}é")), ("a", .array([.int(1), .float(0.5), .null, .bool(true)]))])
        #expect(j.text == "{\"b\":\"q\\\"\\\\\\n\\u0001é\",\"a\":[1,0.5,null,true]}")
        let back = try? JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any]
        #expect(back?["b"] as? String == "q\"\\\n\u{1}é")
        // Tab and CR as short escapes, DEL and the JavaScript line ends as \uXXXX; all read back.
        let s = "\t\r\u{7f}\u{2028}\u{2029}x"
        #expect(JSON.string(s).text == "\"\\t\\r\\u007f\\u2028\\u2029x\"")
        let again = try? JSONSerialization.jsonObject(with: Data(JSON.array([.string(s)]).bytes)) as? [String]
        #expect(again == [s])
    }

    @Test("API keys compare in constant time and exactly")
    func keyCompare() {
        let k = Array("secret".utf8)
        #expect(APIKeyMiddleware.constantTimeEqual(k, k))
        #expect(!APIKeyMiddleware.constantTimeEqual(k, Array("secreT".utf8)))
        #expect(!APIKeyMiddleware.constantTimeEqual(k, Array("secret2".utf8)))
        #expect(!APIKeyMiddleware.constantTimeEqual(k, []))
        #expect(!APIKeyMiddleware.constantTimeEqual(Array("secret\u{0}".utf8), k))
    }

    @Test("JSON values keep 64-bit integers exact")
    func jsonValues() throws {
        let o = try JSONValue.parseObject(Array(#"{"seed": 18446744073709551615, "t": -3, "x": 0.25, "s": null}"#.utf8))
        #expect(o["seed"] == .uint(UInt64.max))
        #expect(o["t"] == .int(-3))
        #expect(o["x"] == .double(0.25))
        #expect(o["s"] == .null)
        #expect(throws: APIError.self) { try JSONValue.parseObject(Array("[1]".utf8)) }
        #expect(throws: APIError.self) { try JSONValue.parseObject(Array("{\"a\":".utf8)) }
    }
}

@Suite("lm-serve text assembly")
struct TextAssemblerTests {
    /// A byte tokenizer (id = byte) with eos 256, hidden from the text.
    let generation = TextGeneration(tokenizer: ByteTokenizer(vocabSize: 257, special: SpecialTokens(eos: 256)))

    func pieces(_ ids: [Int], stop: [String]) -> ([String], String, Bool) {
        var a = TextAssembler(generation: generation, stop: stop, logprobs: false)
        var out: [String] = []
        for id in ids {
            out.append(a.push(TokenEvent(token: id, logprob: -1)))
            if a.stopped { break }
        }
        out.append(a.finish())
        return (out, out.joined(), a.stopped)
    }

    @Test("pieces hold whole UTF-8 characters; a character split across tokens waits for its last byte")
    func wholeCharacters() {
        let ids = Array("aé€𝄞b".utf8).map(Int.init)
        let (p, text, stopped) = pieces(ids, stop: [])
        #expect(text == "aé€𝄞b" && !stopped)
        #expect(p.filter { !$0.isEmpty } == ["a", "é", "€", "𝄞", "b"])
    }

    @Test("stop strings across tokens of split characters; eos is hidden text")
    func stopOverBytes() {
        let ids = Array("xé€y".utf8).map(Int.init) + [256]
        #expect(pieces(ids, stop: ["€"]).1 == "xé")
        #expect(pieces(ids, stop: ["€"]).2)
        #expect(pieces(ids, stop: ["é€y!"]) == (["x"] + Array(repeating: "", count: 7) + ["é€y"], "xé€y", false))
    }
}
