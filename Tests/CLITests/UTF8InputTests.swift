import BitGPT
import BitGPTCAPI
import CBitGPT
import Foundation
import TestSupport
import Testing

/// One policy for invalid UTF-8 input (``UTF8Input``): refused with the offset of the first bad
/// byte, by the library, lm-run (every prompt source), lm-tokenize and the C API.
@Suite("Invalid UTF-8 input")
struct UTF8InputTests {
    @Test("the first bad byte's offset", arguments: [
        ([0x61, 0x62, 0x63], nil), ([0x61, 0xFF], 1), ([0x61, 0x62, 0xE2, 0x82, 0x63], 2), ([0xC3, 0xA9, 0x80], 2),
        ([0xE2, 0x82], 0), ([0xC0, 0x80], 0), ([0xED, 0xA0, 0x80], 0), ([0xF0, 0x9F, 0x98, 0x80, 0xFE], 4),
    ] as [([UInt8], Int?)])
    func offsets(bytes: [UInt8], offset: Int?) throws {
        #expect(UTF8Input.firstInvalidByte(bytes) == offset)
        if let offset {
            #expect(throws: TokenizerError.invalidUTF8(offset: offset)) { try UTF8Input.text(bytes) }
            #expect(TokenizerError.invalidUTF8(offset: offset).description == "invalid UTF-8 at byte \(offset)")
        } else {
            #expect(try UTF8Input.text(bytes) == "abc")
        }
    }

    /// Runs `script` under /bin/sh with $0 = lm-run and $1 = the model (shell quoting lets the
    /// arguments and stdin carry bytes that a Swift String cannot).
    func shell(_ script: String, model: String) throws -> ToolRunner.Result {
        try ToolRunner.run("/bin/sh", ["-c", script, try Tools.path("lm-run"), model])
    }

    @Test("lm-run refuses an invalid --prompt, --prompt-file and stdin, naming the byte")
    func lmRun() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        try dir.write("bad.txt", [0x54, 0x6F, 0xC3, 0x28])
        let cases: [(String, String)] = [
            (#""$0" "$1" --prompt "$(printf 'ab\342\202c')" --max-new-tokens 1"#, "Error: --prompt: invalid UTF-8 at byte 2"),
            (#""$0" "$1" "--prompt=$(printf 'x\377')" --max-new-tokens 1"#, "Error: --prompt: invalid UTF-8 at byte 1"),
            (#""$0" "$1" --prompt-file "\#(dir.file("bad.txt"))" --max-new-tokens 1"#, "Error: \(dir.file("bad.txt")): invalid UTF-8 at byte 2"),
            (#"printf 'abc\376' | "$0" "$1" --max-new-tokens 1"#, "Error: stdin: invalid UTF-8 at byte 3"),
        ]
        for (script, message) in cases {
            let r = try shell(script, model: m)
            #expect(r.status == 1, "\(script)")
            #expect(r.stderr == message + "\n", "\(script)")
            #expect(r.stdout.isEmpty)
        }
        // Valid multi-byte text still runs.
        let ok = try shell(#""$0" "$1" --prompt "é€" --max-new-tokens 1 --num-samples 1"#, model: m)
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test("lm-tokenize refuses an invalid --text, naming the byte")
    func lmTokenize() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let r = try ToolRunner.run("/bin/sh", ["-c", #""$0" --tokenizer "$1" --text "$(printf 'ok\377')""#, try Tools.path("lm-tokenize"), m])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: --text: invalid UTF-8 at byte 2\n")
    }

    @Test("bg_tokenize and bg_generate refuse invalid UTF-8 with BG_ERR_TOKENIZER, naming the byte")
    func cAPI() throws {
        try Tools.withCAPIModel { model, m in
            let bad: [CChar] = [0x48, 0x69, CChar(bitPattern: 0xFF), 0x21, 0]
            var ids = [Int32](repeating: 0, count: 8)
            var n = 0
            #expect(capiTokenize(model, bad, 4, &ids, ids.count, &n) == BG_ERR_TOKENIZER.rawValue)
            #expect(String(cString: capiModelLastError(model)) == "bg_tokenize: invalid UTF-8 at byte 2")

            var ctx: OpaquePointer?
            #expect(capiContextCreate(model, nil, &ctx) == BG_OK.rawValue)
            defer { capiContextFree(ctx) }
            var g = bg_generate_params()
            bg_generate_params_init(&g)
            g.max_new_tokens = 2
            #expect(capiGenerate(ctx, bad, nil, &g, nil, nil, nil) == BG_ERR_TOKENIZER.rawValue)
            #expect(String(cString: capiContextLastError(ctx)) == "bg_generate: the prompt: invalid UTF-8 at byte 2")
            #expect(capiGenerate(ctx, "Hi!", nil, &g, nil, nil, nil) == BG_OK.rawValue)
        }
    }
}
