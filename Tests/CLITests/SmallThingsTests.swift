import BitGPT
import BitGPTCAPI
import BitGPTCLI
import CBitGPT
import Foundation
import TestSupport
import Testing

/// Issue 14's small things: short flags, exact `--decode`, unquoted strings in `lm-diff --json`,
/// the progress line, and `bg_generate_with_result`.
@Suite("Small things")
struct SmallThingsTests {
    @Test("lm-run takes -p, -n, -t and -s as --prompt, --max-new-tokens, --threads and --seed")
    func shortFlags() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let long = try Tools.run("lm-run", [m, "--prompt", "Hi", "--max-new-tokens", "12", "--threads", "1", "--seed", "9", "--num-samples", "1"])
        let short = try Tools.run("lm-run", [m, "-p", "Hi", "-n", "12", "-t", "1", "-s", "9", "--num-samples", "1"])
        #expect(long.status == 0 && short.status == 0, "\(short.stderr)")
        #expect(short.stdout == long.stdout && short.stdout.hasPrefix("Hi"))
        let other = try Tools.run("lm-run", [m, "-p", "Hi", "-n", "12", "-t", "1", "-s", "10", "--num-samples", "1"])
        #expect(other.stdout != long.stdout)
        let bad = try ToolRunner.run("/bin/sh", ["-c", #""$0" "$1" -p "$(printf '\377')" -n 1"#, try Tools.path("lm-run"), m])
        #expect(bad.status == 1 && bad.stderr == "Error: --prompt: invalid UTF-8 at byte 0\n")
    }

    @Test("lm-tokenize --decode writes the text exactly when piped, so a round trip is byte-exact")
    func decodeRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        for text in ["To be, or not", "two\nlines\n", "é€ no newline"] {
            let ids = try Tools.run("lm-tokenize", ["--tokenizer", m, "--text", text])
            #expect(ids.status == 0)
            let back = try Tools.run("lm-tokenize", ["--tokenizer", m, "--decode", "--text", ids.stdout])
            #expect(back.status == 0)
            #expect(back.stdout == text)
        }
    }

    @Test("lm-diff --json gives string metadata as the string, not a quoted rendering")
    func diffJSONStrings() throws {
        let dir = try TemporaryDirectory()
        let a = dir.file("a.bgpt"), b = dir.file("b.bgpt")
        for (path, arch) in [(a, "llama"), (b, "gpt2")] {
            let r = try Tools.run("lm-init", [path, "--arch", arch, "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--context", "32", "--seed", "7"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let r = try Tools.run("lm-diff", [a, b, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let metadata = try #require(json["metadata"] as? [[String: Any]])
        let arch = try #require(metadata.first { $0["key"] as? String == "general.architecture" })
        #expect(arch["a"] as? String == "llama")
        #expect(arch["b"] as? String == "gpt2")
        // The text report still shows strings quoted, to tell them from numbers.
        let text = try Tools.run("lm-diff", [a, b])
        #expect(text.stdout.contains("general.architecture: \"llama\" → \"gpt2\""))
    }

    @Test("the progress line: integer counts, no ETA before a rate is measured, MFU names its peak")
    func progressLine() {
        let first = ProgressLine.text(label: "train", done: 1, total: 300, unit: "it", scale: 1, rate: nil, extra: "")
        #expect(first == "train   0.3%  1/300 it  -- it/s  ETA --:--")
        let later = ProgressLine.text(label: "train", done: 30, total: 300, unit: "it", scale: 1, rate: 9, extra: "loss 2.0000")
        #expect(later == "train  10.0%  30/300 it  9.0 it/s  ETA 00:30  loss 2.0000")
        let mb = ProgressLine.text(label: "convert", done: 2.5e6, total: 10e6, unit: "MB", scale: 1e6, rate: 2.5e6, extra: "")
        #expect(mb == "convert  25.0%  2.5/10.0 MB  2.5 MB/s  ETA 00:03")
        let train = TrainProgress.text(loss: 2.5, tokensPerSecond: 1000, secondsPerStep: 0.5, stepFlops: 25e9, peakFlops: 100e9)
        #expect(train == "loss 2.5000  1000 tok/s  500.0 ms/it  MFU 50% of 100 GFLOP/s (measured sgemm peak)")
        #expect(TrainProgress.text(loss: 2.5, tokensPerSecond: 1000, secondsPerStep: 0.5, stepFlops: 25e9, peakFlops: 0)
                == "loss 2.5000  1000 tok/s  500.0 ms/it")
    }

    @Test("bg_generate_with_result reports the tokens generated and why generation stopped")
    func generateResult() throws {
        try Tools.withCAPIModel { model, m in
            var ctx: OpaquePointer?
            #expect(capiContextCreate(model, nil, &ctx) == BG_OK.rawValue)
            defer { capiContextFree(ctx) }
            var g = bg_generate_params()
            bg_generate_params_init(&g)
            g.max_new_tokens = 7
            g.ignore_eos = true

            var r = bg_generate_result()
            bg_generate_result_init(&r)
            #expect(r.struct_size == UInt32(MemoryLayout<bg_generate_result>.size))
            #expect(capiGenerateWithResult(ctx, "Hi", nil, &g, nil, nil, nil, &r) == BG_OK.rawValue)
            #expect(r.n_prompt_tokens == 2 && r.n_generated == 7 && r.stop_reason == Int32(BG_STOP_MAX_TOKENS.rawValue))

            // A callback that stops after the first piece.
            bg_generate_result_init(&r)
            let stopAtOnce: bg_piece_callback = { _, _, _ in 1 }
            #expect(capiGenerateWithResult(ctx, "Hi", nil, &g, stopAtOnce, nil, nil, &r) == BG_ERR_ABORTED.rawValue)
            #expect(r.n_generated >= 1 && r.n_generated < 7 && r.stop_reason == Int32(BG_STOP_ABORTED.rawValue))

            // A prompt that cannot be encoded: nothing generated.
            bg_generate_result_init(&r)
            let bad: [CChar] = [CChar(bitPattern: 0xFF), 0]
            #expect(capiGenerateWithResult(ctx, bad, nil, &g, nil, nil, nil, &r) == BG_ERR_TOKENIZER.rawValue)
            #expect(r.n_generated == 0 && r.stop_reason == Int32(BG_STOP_NONE.rawValue))

            // An uninitialised result struct is refused; NULL is plain bg_generate.
            var wrong = bg_generate_result()
            wrong.struct_size = 3
            #expect(capiGenerateWithResult(ctx, "Hi", nil, &g, nil, nil, nil, &wrong) == BG_ERR_STRUCT_SIZE.rawValue)
            #expect(capiGenerateWithResult(ctx, "Hi", nil, &g, nil, nil, nil, nil) == BG_OK.rawValue)
        }
    }
}
