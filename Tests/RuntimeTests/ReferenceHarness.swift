import BitGPT
import Foundation
import Testing
import TestSupport

/// Runs `tools/reference.py` (the independent NumPy implementation) and builds small test models.
enum ReferenceHarness {
    /// The repository root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// python3 with numpy, for tools/reference.py.
    static let numpy = Requirement("python3 with numpy (pip install -r tools/requirements.txt)", isMet: Requirement.python(["numpy"]))

    /// Runs `python3 args…` and returns stdout, or nil on a non-zero exit.
    static func run(_ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            print("python3 failed: " + String(decoding: errData, as: UTF8.self))
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reference logits (positions, vocab) and a greedy continuation of `steps` tokens.
    static func reference(model: String, tokens: [Int], greedy steps: Int, kvF16: Bool = false) -> (logits: [Float], greedy: [Int])? {
        // A temporary file: the model may be one of the project's own (models/), which a test must not write.
        let npy = FileManager.default.temporaryDirectory.appendingPathComponent("bitgpt-ref-\(UUID().uuidString).npy").path
        defer { try? FileManager.default.removeItem(atPath: npy) }
        guard let json = run([root.appendingPathComponent("tools/reference.py").path, model,
                              "--tokens", tokens.map(String.init).joined(separator: ","),
                              "--logits-out", npy, "--greedy", String(steps)] + (kvF16 ? ["--kv-f16"] : [])),
              let logits = NPYFile.readFloats(npy),
              let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let ids = obj["tokens"] as? [Int] else { return nil }
        return (logits.values, ids)
    }

    /// A fresh temporary directory.
    static func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bitgpt-rt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A named small model configuration for parameterized tests.
struct Family: CustomStringConvertible, Sendable {
    var name: String
    var config: ModelConfig
    /// Whether `token_embd` (and `pos_embd`) take the test's dtype too (a quantized tied classifier).
    var quantizedEmbedding = false
    var description: String { name }

    static func tiny(_ arch: Architecture, heads: Int = 4, kv: Int? = nil) -> ModelConfig {
        ModelConfig(architecture: arch, vocabSize: 96, contextLength: 16, dim: 64, nLayers: 2, nHeads: heads, nKVHeads: kv,
                    hiddenDim: arch == .llama ? 160 : 256)
    }

    static let all: [Family] = {
        var gptUntied = tiny(.gpt2)
        gptUntied.tiedEmbeddings = false
        gptUntied.headBias = true
        let gptTied = tiny(.gpt2)
        var gptNoBias = tiny(.gpt2)
        gptNoBias.linearBias = false
        gptNoBias.normBias = false
        var gptNope = tiny(.gpt2)
        gptNope.position = .none
        let bit = tiny(.bitgpt)
        let llamaGQA = tiny(.llama, heads: 4, kv: 2)
        var llamaHalf = tiny(.llama, heads: 4, kv: 1)
        llamaHalf.ropePairing = .half
        llamaHalf.ropeTheta = 500
        llamaHalf.tiedEmbeddings = false
        var llamaNope = tiny(.llama)
        llamaNope.position = .none
        // BabyGPT's quirks as metadata: GELU after the down projection, the stack run twice, eps 1e-12 final norm.
        var baby = gptUntied
        baby.linearBias = false
        baby.ffnActivationPosition = .output
        baby.blockRepeats = 2
        baby.outputNormEps = 1e-12
        var llamaRepeat = tiny(.llama, heads: 4, kv: 2)
        llamaRepeat.tiedEmbeddings = false
        llamaRepeat.blockRepeats = 3
        var bitRepeat = bit
        bitRepeat.blockRepeats = 2
        return [Family(name: "gpt2-untied-bias", config: gptUntied), Family(name: "gpt2-tied", config: gptTied),
                Family(name: "gpt2-nobias", config: gptNoBias), Family(name: "gpt2-nope", config: gptNope),
                Family(name: "bitgpt", config: bit), Family(name: "llama-gqa-interleaved", config: llamaGQA),
                Family(name: "llama-mqa-half", config: llamaHalf), Family(name: "llama-nope", config: llamaNope),
                Family(name: "gpt2-tied-quantized-embedding", config: gptTied, quantizedEmbedding: true),
                Family(name: "llama-tied-quantized-embedding", config: llamaGQA, quantizedEmbedding: true),
                Family(name: "gpt2-babygpt-quirks", config: baby), Family(name: "llama-untied-repeat3", config: llamaRepeat),
                Family(name: "bitgpt-repeat2", config: bitRepeat)]
    }()
}

extension DType: CustomTestStringConvertible {
    public var testDescription: String { description }
}
