import BitGPT
import Foundation
import Testing
import TestSupport

/// ``ChatSession`` keeps the conversation in the KV cache, and `lm-run --chat` prints what the
/// library produces.
@Suite("chat")
struct ChatTests {
    static let lines = ["Hello there", "What light through yonder window breaks?", "<|endoftext|> is plain text here"]

    /// Replies of a greedy session over `lines` on the shipped BPE model.
    static func replies(kvType: KVCacheType, maxNewTokens: Int, check: (ChatSession, ChatSession.Turn, Int) throws -> Void = { _, _, _ in }) throws -> [String] {
        let (file, model, tokenizer) = try ShippedModelTests.open("shakespeare-bpe-llama-t2.bgpt")
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1), kvType: kvType)
        var o = SamplingOptions()
        o.temperature = 0
        let session = ChatSession(generator: gen, tokenizer: tokenizer, template: try ChatTemplate.forModel(file.metadata),
                                  sampler: Sampler(vocabSize: model.config.vocabSize, options: o, seed: 1337))
        var out: [String] = []
        for (i, line) in lines.enumerated() {
            var streamed = ""
            let turn = try session.send(line, maxNewTokens: maxNewTokens) { streamed += $0 }
            #expect(streamed == turn.reply)
            out.append(turn.reply)
            try check(session, turn, i)
        }
        return out
    }

    @Test("each turn runs only its new tokens, and the cached state equals a fresh pass over the conversation")
    func keepsCache() throws {
        let (file, model, tokenizer) = try ShippedModelTests.open("shakespeare-bpe-llama-t2.bgpt")
        _ = file
        let V = model.config.vocabSize
        _ = try Self.replies(kvType: .f32, maxNewTokens: 6) { session, turn, i in
            let full = try session.template.encode(messages: session.messages.dropLast(), addGenerationPrompt: true, tokenizer: tokenizer)
            if i == 0 {
                #expect(turn.restarted && turn.promptTokens == full.count)
            } else {
                #expect(!turn.restarted && turn.dropped == 0)
                #expect(turn.promptTokens > 0 && turn.promptTokens < full.count, "turn \(i): \(turn.promptTokens) of \(full.count)")
            }
            let fresh = try Generator(model: model, pool: WorkerPool(threads: 1))
            try fresh.start(prompt: session.generator.tokens)
            let a = Array(UnsafeBufferPointer(start: fresh.logits, count: V)).map(\.bitPattern)
            let b = Array(UnsafeBufferPointer(start: session.generator.logits, count: V)).map(\.bitPattern)
            #expect(a == b, "turn \(i)")
            // The cache holds exactly the rendered conversation up to the reply, then the reply's tokens.
            let rendered = try session.template.render(messages: session.messages.dropLast(), addGenerationPrompt: true).map(\.text).joined()
            #expect(try tokenizer.decode(session.generator.tokens).hasPrefix(rendered))
        }
    }

    @Test("a full context drops the oldest messages and restarts")
    func cropsHistory() throws {
        let (file, model, tokenizer) = try ShippedModelTests.open("shakespeare-bpe-llama-t2.bgpt")
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1))
        let session = ChatSession(generator: gen, tokenizer: tokenizer, template: try ChatTemplate.forModel(file.metadata),
                                  sampler: Sampler(vocabSize: model.config.vocabSize, options: SamplingOptions(), seed: 3), system: "Speak in verse.")
        var dropped = 0
        for i in 0..<12 {
            let turn = try session.send("Tell me of the moon, good sir, number \(i)", maxNewTokens: 20) { _ in }
            dropped += turn.dropped
            #expect(session.generator.tokens.count <= model.config.contextLength)
        }
        #expect(dropped > 0)
        #expect(session.messages.first == ChatMessage(role: "system", content: "Speak in verse."))
    }

    @Test("lm-run --chat with piped stdin prints the library's replies, one line each")
    func lmRunChat() throws {
        let bin = try ToolRunner.path("lm-run")
        let expected = try Self.replies(kvType: .f16, maxNewTokens: 12)
        let r = try Self.run(bin, [ReferenceHarness.root.appendingPathComponent("models/shakespeare-bpe-llama-t2.bgpt").path, "--chat",
                                   "--temperature", "0", "-n", "12", "-t", "1"], stdin: Self.lines.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == expected.map { $0 + "\n" }.joined())
    }

    @Test("lm-run --chat refuses prompt flags, and reports a message the tokenizer cannot take")
    func lmRunChatErrors() throws {
        let bin = try ToolRunner.path("lm-run")
        let model = ReferenceHarness.root.appendingPathComponent("models/shakespeare-char-t2.bgpt").path
        let flags = try ToolRunner.run(bin, [model, "--chat", "--prompt", "x"])
        #expect(flags.status == 1 && flags.stderr.contains("--prompt does not apply to --chat"))
        let r = try Self.run(bin, [model, "--chat", "-n", "5", "-t", "1"], stdin: "what ho\nthe sign < is not in the vocabulary\nfare well\n")
        #expect(r.status == 1)
        #expect(r.err.contains("stdin line 2:") && r.err.contains("message skipped"))
        #expect(r.out.split(separator: "\n", omittingEmptySubsequences: false).count == 3)  // two replies
    }

    /// Runs `bin` with `stdin` piped in.
    static func run(_ bin: String, _ args: [String], stdin: String) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        let input = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardOutput = out
        p.standardError = err
        try p.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
