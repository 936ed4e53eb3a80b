import BitGPT
import Foundation

/// The LoRA adapters of a run (``TrainModel/lora``): one A (r, in) and B (out, r) per targeted
/// linear, in one flat parameter buffer with its gradient, carved by a ``ParameterLayout`` so the
/// existing ``AdamW`` trains them (and only them).
///
/// Init as huggingface/peft `src/peft/tuners/lora/layer.py` (`reset_lora_parameters`): A uniform in
/// ±1/√in (Kaiming-uniform with a = √5), seeded; B zero, so the adapted model starts as the base.
public final class LoRAWeights {
    /// What the flags ask for: `--lora-rank`, `--lora-alpha`, `--lora-targets`.
    public struct Settings: Equatable {
        public var rank: Int
        public var alpha: Float
        /// Canonical order (q, k, v, o, gate, up, down), no repeats.
        public var targets: [LoRATarget]

        /// Parses `--lora-targets` (comma-separated q, k, v, o, gate, up, down; ``LoRATarget/parseList(_:)``).
        /// - Throws: ``TrainError/badOption(_:)`` naming an unknown or repeated target.
        public init(rank: Int, alpha: Float, targets list: String) throws(TrainError) {
            do { targets = try LoRATarget.parseList(list).sorted() } catch { throw .badOption("--lora-targets: \(error)") }
            self.rank = rank
            self.alpha = alpha
        }

        /// The targets as the metadata writes them: `q,k,v,o`.
        public var targetList: String { targets.map(\.rawValue).joined(separator: ",") }

        /// The one-line refusal of settings that cannot work on `config`, or nil.
        func problem(for config: ModelConfig) -> String? {
            if !LoRAAdapter.rankRange.contains(rank) { return "--lora-rank must be in 1...4096, got \(rank)" }
            if !(alpha.isFinite && alpha > 0) { return "--lora-alpha must be finite and positive, got \(alpha)" }
            do { _ = try LoRAModule.modules(for: targets, architecture: config.architecture) } catch {
                return config.architecture == .bitgpt ? "\(error)" : "--lora-targets: \(error)"
            }
            return nil
        }
    }

    /// One adapted linear.
    public struct Adapter {
        public let layer: Int
        /// The linear adapted (its `.bgpt` and PEFT names).
        public let module: LoRAModule
        /// The base linear's `.bgpt` name (`blk.0.attn_q`).
        public var tensor: String { module.tensorName(layer: layer) }
        /// Offsets of A (r, in) and B (out, r) in ``params`` / ``grads``.
        public let a: Int, b: Int
        public let inFeatures: Int, outFeatures: Int
    }

    public let settings: Settings
    /// α / r.
    public let scale: Float
    public let adapters: [Adapter]
    public let layout: ParameterLayout
    public let params: FloatBuffer, grads: FloatBuffer
    private let index: [String: Int]

    /// Builds the adapters of `settings` for a base of `config` (settings already checked).
    init(settings: Settings, config: ModelConfig, base: ParameterLayout, seed: UInt64) {
        self.settings = settings
        scale = settings.alpha / Float(settings.rank)
        let r = settings.rank
        var adapters: [Adapter] = []
        var tensors: [(name: String, shape: [Int], role: TensorRole)] = []
        var offset = 0
        var index: [String: Int] = [:]
        // gpt2: q, k and v are one module (the fused attn_qkv), adapted once.
        let modules = (try? LoRAModule.modules(for: settings.targets, architecture: config.architecture)) ?? []
        for l in 0..<config.nLayers {
            for module in modules {
                let name = module.tensorName(layer: l)
                guard let e = base.entry(name) else { preconditionFailure("no parameter \(name)") }
                let out = e.shape[0], inF = e.shape[1]
                index[name] = adapters.count
                adapters.append(Adapter(layer: l, module: module, a: offset, b: offset + r * inF, inFeatures: inF, outFeatures: out))
                tensors.append((name + ".lora_a", [r, inF], .linear))
                tensors.append((name + ".lora_b", [out, r], .linear))
                offset += r * inF + out * r
            }
        }
        self.adapters = adapters
        self.index = index
        layout = ParameterLayout(tensors: tensors)
        params = FloatBuffer(count: layout.count)
        grads = FloatBuffer(count: layout.count)
        var rng = SeededRandom(seed: seed)
        for a in adapters {
            let bound = 1 / Float(a.inFeatures).squareRoot()
            let p = params.at(a.a)
            for i in 0..<(r * a.inFeatures) { p[i] = (2 * rng.uniform() - 1) * bound }
        }
    }

    /// The adapter of the linear named `tensor`, or nil when it is not targeted.
    public func adapter(for tensor: String) -> Adapter? { index[tensor].map { adapters[$0] } }
}
