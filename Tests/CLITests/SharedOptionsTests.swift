import ArgumentParser
import BitGPT
import BitGPTCLI
import Foundation
import TestSupport
import Testing

/// The shared option groups and closed choices (issue 16): one `--seed` and one `--threads`
/// across the tools, typed lists, and argument-parser's one-line error for a bad choice.
@Suite("Shared options")
struct SharedOptionsTests {
    // MARK: - The types

    @Test("CommaList parses each item as its element, drops empty items and spaces, and refuses a bad item")
    func commaList() throws {
        #expect(CommaList<Int>(argument: "1, 2,,4")?.values == [1, 2, 4])
        #expect(CommaList<Int>(argument: "")?.values == [])
        #expect(CommaList<Int>(argument: "1,x") == nil)
        // DTypeChoice's aliases work inside a list; the values listed are the element's.
        #expect(CommaList<DTypeChoice>(argument: "int8,ternary,F16")?.values == [.i8, .t2, .f16])
        #expect(CommaList<DTypeChoice>(argument: "f32,q4") == nil)
        #expect(CommaList<DTypeChoice>.allValueStrings == ["f32", "f16", "bf16", "i8", "t2", "t1"])
        #expect(CommaList<DTypeChoice>([.f32, .t2]).defaultValueDescription == "f32,t2")
        #expect(CommaList<Int>([1, 2]).description == "1,2")
    }

    @Test("--arch: gpt is read as gpt2, which is what it prints; only gpt2 and llama are listed")
    func trainArchitecture() {
        #expect(TrainArchitectureChoice(argument: "gpt") == .gpt2)
        #expect(TrainArchitectureChoice(argument: "gpt")?.architecture == .gpt2)
        #expect("\(TrainArchitectureChoice(argument: "gpt") ?? .llama)" == "gpt2")
        #expect(TrainArchitectureChoice(argument: "llama")?.architecture == .llama)
        #expect(TrainArchitectureChoice(argument: "bitgpt") == nil)
        #expect(TrainArchitectureChoice.allValueStrings == ["gpt2", "llama"])
        #expect(TrainActivationChoice(argument: "silu") == nil)
        #expect(TrainActivationChoice.allCases.map(\.activation) == [.gelu, .relu, .swiglu])
    }

    @Test("SeedOption and ThreadsOption: both spellings, the defaults, and the thread limit")
    func groups() throws {
        #expect(try SeedOption.parse([]).value == 1337)
        #expect(try SeedOption.parse([]).seed == nil)
        #expect(try SeedOption.parse(["--seed", "7"]).value == 7)
        #expect(try SeedOption.parse(["-s", "18446744073709551615"]).value == .max)
        #expect(throws: (any Error).self) { try SeedOption.parse(["--seed", "-1"]) }
        #expect(try ThreadsOption<RuntimeThreads>.parse([]).count == nil)
        #expect(try ThreadsOption<RuntimeThreads>.parse(["-t", "4"]).count == 4)
        #expect(try ThreadsOption<RuntimeThreads>.parse(["--threads=1024"]).count == 1024)
        for bad in ["0", "1025", "-1"] {
            #expect(throws: (any Error).self) { try ThreadsOption<RuntimeThreads>.parse(["--threads", bad]) }
        }
    }

    // MARK: - The tools

    /// A tool run whose first stderr line must be `error`, exit status 1; `DATA`, `OUT` and
    /// `MODEL` are filled in.
    static let badChoices: [(tool: String, args: [String], error: String)] = [
        ("lm-train", ["--data", "DATA", "--out", "OUT", "--arch", "gpt3"],
         "Error: The value 'gpt3' is invalid for '--arch <arch>'. Please provide one of 'gpt2' and 'llama'."),
        ("lm-train", ["--data", "DATA", "--out", "OUT", "--activation", "silu"],
         "Error: The value 'silu' is invalid for '--activation <activation>'. Please provide one of 'gelu', 'relu' or 'swiglu'."),
        ("lm-bench", ["--sizes", "15m,1g"], "Error: The value '15m,1g' is invalid for '--sizes <sizes>'. Please provide one of '15m' and '100m'."),
        ("lm-bench", ["--dtypes", "f32,q4"],
         "Error: The value 'f32,q4' is invalid for '--dtypes <dtypes>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'."),
        ("lm-bench", ["--classifier-dtype", "q4"],
         "Error: The value 'q4' is invalid for '--classifier-dtype <classifier-dtype>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'."),
        ("lm-bench", ["--threads", "1,x"], "Error: The value '1,x' is invalid for '--threads <threads>'"),
        ("lm-bench", ["-d", "0,deep"], "Error: The value '0,deep' is invalid for '-d <depth>'"),
        ("lm-bench", ["--cache-type", "f8"], "Error: The value 'f8' is invalid for '--cache-type <cache-type>'. Please provide one of 'f32' and 'f16'."),
        ("lm-run", ["MODEL", "--cache-type", "q8"], "Error: The value 'q8' is invalid for '--cache-type <cache-type>'. Please provide one of 'f32' and 'f16'."),
        ("lm-init", ["OUT", "--tokenizer", "gpt2"], "Error: The value 'gpt2' is invalid for '--tokenizer <tokenizer>'. Please provide one of 'bytes' and 'none'."),
        ("lm-init", ["OUT", "--head-dtype", "q4"],
         "Error: The value 'q4' is invalid for '--head-dtype <head-dtype>'. Please provide one of 'f32', 'f16', 'bf16', 'i8', 't2' or 't1'."),
    ]

    @Test("a bad value of a closed choice is one line naming the option and its values, exit status 1")
    func badChoice() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let data = try dir.write("data.txt", Array("hello world\n".utf8))
        for c in Self.badChoices {
            let args = c.args.map { $0 == "DATA" ? data : $0 == "OUT" ? dir.file("out") : $0 == "MODEL" ? m : $0 }
            let r = try Tools.run(c.tool, args)
            #expect(r.status == 1, "\(c.tool) \(c.args): \(r.stderr)")
            #expect(r.errorLines.first == c.error, "\(c.tool) \(c.args): \(r.stderr)")
            // The message is one line: what follows is the option's help line and the usage.
            let rest = r.errorLines.dropFirst()
            #expect(!rest.isEmpty && rest.allSatisfy { $0.hasPrefix("Help: ") || $0.hasPrefix("Usage: ") || $0.hasPrefix("  ") },
                    "\(c.tool) \(c.args): \(r.stderr)")
            #expect(r.stdout == "", "\(c.tool) \(c.args)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    @Test("lm-train reads --arch gpt as gpt2 and names it so; --activation must fit the family")
    func trainArchAlias() throws {
        let dir = try TemporaryDirectory()
        let data = try dir.write("data.txt", Array("hello world\n".utf8))
        for arch in ["gpt", "gpt2"] {
            let r = try Tools.run("lm-train", ["--data", data, "--out", dir.file("o"), "--arch", arch, "--activation", "swiglu"])
            #expect(r.status == 1)
            #expect(r.errorLines.first == "Error: --activation swiglu does not fit --arch gpt2", "\(r.stderr)")
        }
        let l = try Tools.run("lm-train", ["--data", data, "--out", dir.file("o"), "--arch", "llama", "--activation", "gelu"])
        #expect(l.errorLines.first == "Error: --activation gelu does not fit --arch llama", "\(l.stderr)")
        let help = try Tools.run("lm-train", ["--help"])
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("(values: gpt2, llama; default: gpt2)"), "\(help.stdout)")
    }

    @Test("--seed and --threads are refused with the same line by every tool that takes them")
    func sameErrors() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let data = try dir.write("data.txt", Array("hello world\n".utf8))
        let text = try dir.write("text.txt", Array(String(repeating: "hello world ", count: 20).utf8))
        let base: [String: [String]] = [
            "lm-run": [m, "--max-new-tokens", "1"],
            "lm-perplexity": [m, "--file", text],
            "lm-train": ["--data", data, "--out", dir.file("o")],
            "lm-init": [dir.file("new.bgpt")],
        ]
        for tool in ["lm-run", "lm-perplexity", "lm-train"] {
            for (args, n) in [(["--threads", "0"], 0), (["-t", "1025"], 1025), (["--threads=-1"], -1)] {
                let r = try Tools.run(tool, (base[tool] ?? []) + args)
                #expect(r.status == 1, "\(tool) \(args)")
                #expect(r.errorLines == ["Error: --threads: thread count \(n) is out of range 1...1024"], "\(tool) \(args): \(r.stderr)")
            }
        }
        for tool in ["lm-run", "lm-init", "lm-train"] {
            for args in [["--seed", "-1"], ["-s", "x"], ["--seed=1.5"]] {
                let r = try Tools.run(tool, (base[tool] ?? []) + args)
                #expect(r.status == 1, "\(tool) \(args)")
                let value = args.count == 2 ? args[1] : "1.5", name = args[0].hasPrefix("--") ? "--seed" : "-s"
                #expect(r.errorLines.first == "Error: The value '\(value)' is invalid for '\(name) <seed>'", "\(tool) \(args): \(r.stderr)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("new.bgpt")) && !FileManager.default.fileExists(atPath: dir.file("o")))
    }

    /// `--seed` and `--threads` as `--experimental-dump-help` describes them in `tool`: names, help, default.
    static func describe(_ tool: String, _ option: String) throws -> String {
        let r = try Tools.run(tool, ["--experimental-dump-help"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let arguments = try #require((json["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        let entry = try #require(arguments.first { ($0["names"] as? [[String: Any]])?.contains { $0["name"] as? String == option } == true },
                                 "\(tool) has no --\(option)")
        let names = (entry["names"] as? [[String: Any]] ?? []).compactMap { n in (n["kind"] as? String).map { "\($0):\(n["name"] ?? "")" } }
        return "\(names.sorted()) \(entry["abstract"] ?? "") default \(entry["defaultValue"] ?? "none") \(entry["valueName"] ?? "")"
    }

    @Test("--seed and --threads have the same names, help and default in every tool with the same meaning")
    func sameDeclarations() throws {
        let seed = try Self.describe("lm-run", "seed")
        #expect(seed.contains("short:s") && seed.contains("long:seed") && seed.contains("Random seed (default: 1337)."), "\(seed)")
        for tool in ["lm-init", "lm-train"] { #expect(try Self.describe(tool, "seed") == seed, "\(tool)") }
        let threads = try Self.describe("lm-run", "threads")
        #expect(threads.contains("short:t") && threads.contains("long:threads") && threads.contains("(default: all cores)"), "\(threads)")
        #expect(try Self.describe("lm-perplexity", "threads") == threads)
        // lm-train's are OpenBLAS threads, one unless given: the same names, its own help.
        let train = try Self.describe("lm-train", "threads")
        #expect(train.contains("short:t") && train.contains("long:threads") && train.contains("(default: 1)"), "\(train)")
    }
}
