import BitGPT
import Foundation
import Testing
import TestSupport
@testable import BitGPTTrain

/// lm-train as a user runs it (issue 18): flushed lines, `--log-interval`, boolean spellings,
/// one architecture name, and no silent overwrite of an earlier run.
@Suite("lm-train run fixes (issue 18)", .serialized)
struct RunFixesTests {
    /// Flags of a tiny char-level gpt2 run into `out`.
    static func flags(_ w: Workspace, _ out: String, iters: Int) -> [String] {
        ["--data", w.text, "--out", out, "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "8", "--batch-size", "4",
         "--max-iters", "\(iters)", "--eval-interval", "4", "--eval-iters", "2", "--warmup-iters", "2", "--threads", "1"]
    }

    @Test("every boolean spelling folds into --NAME or --no-NAME; other arguments stay as they are")
    func booleanSpellings() {
        let f: Set<String> = ["bias", "decay-lr"]
        #expect(BooleanArguments.normalize(["--bias", "--decay-lr", "False", "--lr", "1"], flags: f) == ["--bias", "--no-decay-lr", "--lr", "1"])
        #expect(BooleanArguments.normalize(["--bias=False", "--decay-lr=true"], flags: f) == ["--no-bias", "--decay-lr"])
        #expect(BooleanArguments.normalize(["--bias", "True", "--decay-lr", "false"], flags: f) == ["--bias", "--no-decay-lr"])
        // Not a boolean value, not a boolean flag, or after `--`: untouched (the parser reports it).
        #expect(BooleanArguments.normalize(["--bias=maybe", "--bias", "yes"], flags: f) == ["--bias=maybe", "--bias", "yes"])
        #expect(BooleanArguments.normalize(["--out", "false", "--", "--bias", "false"], flags: f) == ["--out", "false", "--", "--bias", "false"])
    }

    @Test("lm-train accepts --X, --X true|True|false|False, --X=VALUE and --no-X for every boolean flag it has")
    func everyBooleanFlag() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let help = try ToolRunner.run(lm, ["--experimental-dump-help"])
        let json = try JSONSerialization.jsonObject(with: Data(help.stdout.utf8)) as? [String: Any]
        let arguments = (json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]] ?? []
        let names = arguments.filter { $0["kind"] as? String == "flag" }
            .compactMap { (($0["names"] as? [[String: Any]])?.first?["name"] as? String) }
            .filter { !$0.hasPrefix("no-") && !["help", "h", "version"].contains($0) }
        #expect(names.count >= 7 && names.contains("bias") && names.contains("decay-lr") && names.contains("overwrite"), "\(names)")
        let missing = w.dir.appendingPathComponent("missing.txt").path
        for name in names {
            for spelling in [["--\(name)"], ["--\(name)", "true"], ["--\(name)", "True"], ["--\(name)", "false"], ["--\(name)", "False"],
                             ["--\(name)=True"], ["--\(name)=false"], ["--no-\(name)"]] {
                // A missing data file fails after parsing: the error must be about the run, not the flag.
                let out = w.dir.appendingPathComponent("o").path
                let r = try ToolRunner.run(lm, ["--data", missing, "--out", out] + spelling)
                #expect(r.status == 1 && r.errorLines.count == 1 && r.stderr.contains(w.dir.path), "\(spelling): \(r.stderr)")
            }
        }
    }

    @Test("a boolean's value takes effect (--bias, --decay-lr), and gpt and gpt2 both print as gpt2")
    func booleanValuesApply() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        var headers: [String: String] = [:]
        for (i, extra) in [["--bias"], ["--bias", "True"], ["--bias=true"], ["--bias=False"], ["--bias", "false"], ["--no-bias"], []].enumerated() {
            let r = try ToolRunner.run(lm, Self.flags(w, w.dir.appendingPathComponent("b\(i)").path, iters: 0) + ["--arch", i % 2 == 0 ? "gpt" : "gpt2"] + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            headers[extra.joined(separator: " ")] = r.lines.first ?? ""
        }
        let withBias = headers["--bias"] ?? "", without = headers[""] ?? ""
        #expect(withBias.hasPrefix("gpt2: ") && without.hasPrefix("gpt2: ") && withBias != without, "\(headers)")
        for k in ["--bias True", "--bias=true"] { #expect(headers[k] == withBias, "\(k)") }
        for k in ["--bias=False", "--bias false", "--no-bias"] { #expect(headers[k] == without, "\(k)") }

        // --decay-lr False: the LR is the peak after warmup; true: it decays by the last step.
        func lrs(_ extra: [String], _ name: String) throws -> [String] {
            let r = try ToolRunner.run(lm, Self.flags(w, w.dir.appendingPathComponent(name).path, iters: 6) + ["--log-interval", "1", "--lr", "0.001"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return r.lines.filter { $0.hasPrefix("iter ") }.compactMap { $0.components(separatedBy: ", lr ").last?.components(separatedBy: ",").first }
        }
        let flat = try lrs(["--decay-lr", "False"], "flat"), decayed = try lrs(["--decay-lr=True"], "decayed")
        #expect(flat.count == 6 && flat.last == "1.00e-03", "\(flat)")
        #expect(decayed.count == 6 && decayed.last != "1.00e-03", "\(decayed)")
    }

    @Test("--log-interval prints iteration, loss, lr, ms/it, tok/s and ETA without a terminal, and every line is flushed at once")
    func logLinesFlushed() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let out = w.dir.appendingPathComponent("run").path
        // SIGKILL after step 3: buffered output would be lost; flushed lines are in the file.
        let run = try LiveRun(lm, Self.flags(w, out, iters: 100) + ["--log-interval", "1", "--debug-kill-after", "3"], in: w.dir)
        let (status, timedOut) = run.finish()
        #expect(!timedOut && status == 128 + SIGKILL, "\(status): \(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("gpt2: ") == true && lines.dropFirst().first?.hasPrefix("step 0: train loss ") == true, "\(lines)")
        let iters = lines.filter { $0.hasPrefix("iter ") }
        #expect(iters.count == 3, "\(lines)")
        for (i, line) in iters.enumerated() {
            let pattern = #"^iter \#(i + 1)/100: loss [0-9]+\.[0-9]{4}, lr [0-9.]+e[-+][0-9]+, [0-9]+\.[0-9]{2} ms/it, [0-9]+ tok/s, ETA [0-9]{2}:[0-9]{2}$"#
            #expect(line.range(of: pattern, options: .regularExpression) != nil, "\(line)")
        }

        // --log-interval 4 of 10: lines at 4, 8 and the last iteration, which has nothing left.
        let r = try ToolRunner.run(lm, Self.flags(w, w.dir.appendingPathComponent("ten").path, iters: 10) + ["--log-interval", "4"])
        #expect(r.status == 0, "\(r.stderr)")
        let ten = r.lines.filter { $0.hasPrefix("iter ") }
        #expect(ten.map { $0.prefix(9) } == ["iter 4/10", "iter 8/10", "iter 10/1"] && ten.last?.hasSuffix("ETA 00:00") == true, "\(ten)")
        let none = try ToolRunner.run(lm, Self.flags(w, w.dir.appendingPathComponent("none").path, iters: 4) + ["--log-interval", "0"])
        #expect(none.status == 0 && !none.stdout.contains("iter "), "\(none.stdout)")
    }

    @Test("one clock: rate and ms/it count steps only; the ETA adds the evaluations still to come")
    func clock() {
        var c = TrainClock(maxIters: 10, evalInterval: 4)
        // Evaluations run at 0, 4, 8 and 10; after step k those at k...10 are still to come.
        #expect([0, 1, 4, 5, 8, 9, 10].map(c.remainingEvaluations(after:)) == [4, 3, 3, 2, 2, 1, 1])
        #expect(TrainClock(maxIters: 8, evalInterval: 4).remainingEvaluations(after: 8) == 1)
        #expect(c.eta(after: 0) == nil && c.rate == nil)
        c.evaluation(seconds: 2)
        c.step(seconds: 0.25, tokens: 100)
        c.step(seconds: 0.75, tokens: 300)
        #expect(c.rate == 2 && c.tokensPerSecond == 400 && c.secondsPerStep == 0.5)
        // 8 steps of 0.5 s and 3 evaluations (4, 8, 10) of 2 s.
        #expect(c.eta(after: 2) == 10)
        #expect(c.logLine(iteration: 2, loss: 2.5, lr: 0.001, clock: { String(format: "%.1f", $0) })
                == "iter 2/10: loss 2.5000, lr 1.00e-03, 500.00 ms/it, 400 tok/s, ETA 10.0")
        c.step(seconds: 1, tokens: 100)
        // 7 steps of 2/3 s and the same 3 evaluations.
        // The next line's ms/it and tok/s cover only the steps since the last line.
        #expect(c.logLine(iteration: 3, loss: 2, lr: 0.001, clock: { String(format: "%.1f", $0) })
                == "iter 3/10: loss 2.0000, lr 1.00e-03, 1000.00 ms/it, 100 tok/s, ETA 10.7")
    }

    @Test("an --out folder that holds a run is refused without --resume or --overwrite; --overwrite replaces it")
    func overwrite() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        var o = w.options("run", iters: 2)
        _ = try Trainer(options: o).run()
        let before = contents(o.out + "/loss.csv")
        #expect(throws: TrainError.io(path: o.out, reason: "already holds a run (ckpt.safetensors); continue it with --resume or replace it with --overwrite")) {
            _ = try Trainer(options: o)
        }
        #expect(contents(o.out + "/loss.csv") == before)
        // Either checkpoint file alone still marks a run.
        try FileManager.default.moveItem(atPath: o.out + "/ckpt.safetensors", toPath: o.out + "/kept")
        #expect(throws: TrainError.io(path: o.out, reason: "already holds a run (ckpt.optim.safetensors); continue it with --resume or replace it with --overwrite")) {
            _ = try Trainer(options: o)
        }
        try FileManager.default.moveItem(atPath: o.out + "/kept", toPath: o.out + "/ckpt.safetensors")
        o.resume = true; o.overwrite = true
        #expect(throws: TrainError.badOption("give either --resume (continue the run in --out) or --overwrite (replace it), not both")) {
            _ = try Trainer(options: o)
        }
        o.resume = false
        o.seed = 5
        _ = try Trainer(options: o).run()
        #expect(contents(o.out + "/loss.csv") != before)
        // A folder without a checkpoint (here: an unrelated file, and the loss.csv of a run killed
        // before its first checkpoint, which only a fresh start can redo) is fine.
        var fresh = w.options("fresh", iters: 1)
        try FileManager.default.createDirectory(atPath: fresh.out, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: fresh.out + "/notes.txt"))
        try Data("iter,split,loss,lr\n0,train,4.0,0.001\n".utf8).write(to: URL(fileURLWithPath: fresh.out + "/loss.csv"))
        fresh.overwrite = false
        _ = try Trainer(options: fresh).run()
    }
}

/// `lm-train --init-from MODEL` (issue 18): fine-tuning starts from a model's weights, shape and tokenizer.
@Suite("lm-train --init-from", .serialized)
struct InitFromTests {
    /// English-like text of words the shipped char model's vocabulary holds, unlike Shakespeare's verse.
    static func text(_ w: Workspace) throws -> String {
        var r = SeededRandom(seed: 21), s = ""
        let words = ["the", "king", "shall", "not", "be", "crowned", "and", "yet", "we", "speak", "of", "love", "to", "thee", "night"]
        while s.utf8.count < 6000 { s += words[Int(r.next() % UInt64(words.count))] + (r.next() % 9 == 0 ? ".\n" : " ") }
        let path = w.dir.appendingPathComponent("words.txt").path
        try s.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// (iteration, val loss) of the `step N: ...` lines.
    static func valLosses(_ stdout: String) -> [Float] {
        stdout.split(separator: "\n").filter { $0.hasPrefix("step ") }.compactMap { $0.components(separatedBy: "val loss ").last.flatMap { Float($0) } }
    }

    @Test("fine-tuning the shipped char model on other text starts from its weights (T2, quantization-aware) and lowers that text's loss")
    func shippedModel() throws {
        let lm = try LiveRun.lmTrain()
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/shakespeare-char-t2.bgpt").path
        let w = try Workspace()
        defer { w.cleanup() }
        let text = try Self.text(w)
        let r = try ToolRunner.run(lm, ["--data", text, "--out", w.dir.appendingPathComponent("ft").path, "--init-from", model, "--max-iters", "6",
                                        "--batch-size", "2", "--eval-interval", "6", "--eval-iters", "2", "--warmup-iters", "1", "--lr", "1e-3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.first?.hasPrefix("gpt2 BitLinear: 810112 parameters, vocab 84") == true, "\(r.stdout)")
        let v = Self.valLosses(r.stdout)
        // A fresh model starts near ln 84 = 4.43; the shipped one already knows English letters.
        #expect(v.count == 2 && v[0] < 3 && v[1] < v[0], "\(v)")
        let exported = try BGPTFile(path: w.dir.appendingPathComponent("ft/model.bgpt").path)
        #expect(exported.tensors.contains { $0.dtype == .t2 }, "a T2 base continues quantization-aware and exports T2")
        // The run keeps the model's vocabulary, so --resume (without --init-from) continues it.
        let resumed = try ToolRunner.run(lm, ["--data", text, "--out", w.dir.appendingPathComponent("ft").path, "--resume", "--max-iters", "7",
                                              "--batch-size", "2", "--eval-interval", "6", "--eval-iters", "2", "--warmup-iters", "1", "--lr", "1e-3"])
        #expect(resumed.status == 0 && resumed.stdout.contains("done: 7 iterations"), "\(resumed.stderr)")

        // One-line refusals: a shape flag, a contradicting tokenizer, text outside the vocabulary, --resume.
        let bad = w.dir.appendingPathComponent("bad.txt").path
        try "naïve".write(toFile: bad, atomically: true, encoding: .utf8)
        for (args, message) in [(["--data", text, "--n-layer", "2"], "Error: --init-from takes the model's shape; drop --n-layer"),
                                (["--data", text, "--tokenizer", "bytes"], "Error: --tokenizer bytes contradicts --init-from \(model), whose tokenizer is char"),
                                (["--data", text, "--vocab-size", "300"], "Error: --init-from takes the vocabulary from the model; drop --vocab-size"),
                                (["--data", bad], "Error: \(bad): character U+00EF at byte 2 is not in the vocabulary of --init-from \(model)"),
                                (["--data", text, "--resume"], "Error: give either --init-from (start a run from a model) or --resume (continue the run in --out), not both")] {
            let e = try ToolRunner.run(lm, args + ["--out", w.dir.appendingPathComponent("refused").path, "--init-from", model])
            #expect(e.status == 1 && e.errorLines == [message], "\(args): \(e.stderr)")
        }
    }

    @Test("an lm-train checkpoint (through the converter's reader) continues in float, or quantization-aware with --bitlinear")
    func fromCheckpoint() throws {
        let lm = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        let base = w.dir.appendingPathComponent("base").path
        let flags = ["--data", w.text, "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "8", "--batch-size", "4",
                     "--eval-interval", "4", "--eval-iters", "2", "--warmup-iters", "1"]
        let b = try ToolRunner.run(lm, flags + ["--out", base, "--max-iters", "8"])
        #expect(b.status == 0, "\(b.stderr)")
        let baseModel = try BGPTFile(path: base + "/model.bgpt")
        for extra in [[], ["--bitlinear"]] {
            let out = w.dir.appendingPathComponent("ft\(extra.count)").path
            let r = try ToolRunner.run(lm, ["--data", w.text, "--out", out, "--init-from", base + "/ckpt.safetensors", "--max-iters", "0",
                                            "--eval-iters", "1", "--batch-size", "2"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.lines.first?.hasPrefix(extra.isEmpty ? "gpt2: " : "gpt2 BitLinear: ") == true, "\(r.stdout)")
            // With no steps, the export holds the base's weights: bit for bit in float, ternarized with --bitlinear.
            let m = try BGPTFile(path: out + "/model.bgpt")
            if extra.isEmpty { #expect(m.tensors.map(\.name) == baseModel.tensors.map(\.name)) }
            for info in baseModel.tensors {
                guard let t = m.info(info.name) else { Issue.record("\(info.name) missing"); continue }
                // With --bitlinear the linears become T2 (checked below); every other tensor is the base's.
                if extra.isEmpty || t.dtype == .f32 {
                    #expect(Array(m.view(t).bytes) == Array(baseModel.view(info).bytes), "\(info.name)")
                }
            }
            if !extra.isEmpty { #expect(m.tensors.contains { $0.dtype == .t2 }, "--bitlinear exports ternary linears") }
        }
    }
}
