import BitGPT

/// A GPT-2 or Llama family model with hand-written forward and backward (llm.c style).
///
/// Parameters, gradients, the BitLinear fake-quantized weights and the activations (and their
/// gradients) are each one flat ``FloatBuffer``; ``ParameterLayout`` and an activation size table
/// carve them up. The model is built for a fixed batch (`batch`, `blockSize`).
///
/// - GPT-2 (nanoGPT `model.py`): learned positions, pre-LayerNorm, fused qkv, GELU or ReLU MLP,
///   optional biases, tied head.
/// - Llama (llama2.c `model.py`): RMSNorm, interleaved RoPE, grouped-query attention, SwiGLU.
/// - Either may have BitLinear attention and MLP linears (``LinearLayer``).
///
/// Activation checkpointing (`activationCheckpointing`): every block keeps only its output (the
/// next block's input) in its own slot; all blocks share one set of slots for everything inside
/// a block. Backward recomputes each block's forward from its input before its backward (the last
/// block's activations are still in place). The recomputation runs the same kernels in the same
/// order on the same inputs, so gradients are bitwise those of the plain model.
public final class TrainModel {
    public let config: ModelConfig
    public let batch: Int, blockSize: Int
    public let layout: ParameterLayout
    /// Parameters, their gradients, and the fake-quantized BitLinear weights (same layout).
    ///
    /// With a frozen base (``lora`` set) there are no gradients (`grads` is empty) and no
    /// fake-quantized copies: the linears use ``params`` as stored (a ternary base's `t·γ`).
    public let params: FloatBuffer, grads: FloatBuffer, qweights: FloatBuffer
    /// The LoRA adapters (the only trained parameters), or nil for ordinary training.
    public let lora: LoRAWeights?
    /// Whether the base is frozen (a LoRA run): no weight gradients, no re-quantization.
    public var frozenBase: Bool { lora != nil }
    /// Where the frozen base's norm-gain gradients go (computed with the input gradient, never read).
    let sink: FloatBuffer
    /// Saved activations and their gradients (same layout).
    let acts: FloatBuffer, dacts: FloatBuffer
    /// Input and target ids (B, T); callers fill them before ``forward()``.
    public let inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>

    /// How BitLinear quantization runs (tests of the straight-through estimator).
    enum QuantMode {
        /// Quantize.
        case normal
        /// Quantize and save the offsets `Q(x) − x` of weights and activations.
        case capture
        /// Replace quantization by adding the saved offsets: a smooth function whose exact
        /// gradient is the STE gradient at the captured point, so finite differences can check it.
        case frozen
    }
    var quantMode = QuantMode.normal {
        didSet { precondition(quantMode == .normal || quantProbe, "build the model with quantProbe: true to capture or freeze quantization") }
    }
    let quantProbe: Bool

    /// Which products ``forward()`` computes with.
    public enum Arithmetic: Sendable {
        /// OpenBLAS matmuls and attention, saving what the backward reads: training's.
        case training
        /// The runtime's kernels for every product (BitGPT/Ops: ``bitLinearForward``,
        /// ``floatLinearForward``, ``causalAttentionForward``), everything else being the same
        /// functions already: the logits the runtime computes from the exported `.bgpt` with an
        /// F32 KV cache, bit for bit. Forward only (no backward reads it).
        case runtime
    }
    /// The products of ``forward()``. ``logits(tokens:)``, the eval forward, uses `.runtime`.
    public var arithmetic = Arithmetic.training
    private var weightDelta: FloatBuffer?
    /// Whether blocks share their inner activation slots and backward recomputes them.
    public let activationCheckpointing: Bool
    /// Activation slots shared by all blocks when checkpointing: `scratch.lowerBound ..< upperBound`.
    let scratch: Range<Int>

    struct Block {
        var norm1 = 0, mean1 = 0, rstd1 = 0
        var q = 0, k = 0, v = 0  // for GPT-2, q is the fused qkv output (N, 3C); k and v are unused
        var att = 0, atty = 0, proj = 0, res2 = 0
        var norm2 = 0, mean2 = 0, rstd2 = 0
        var gate = 0, up = 0, act = 0, cdf = 0, down = 0, res3 = 0
        // Linear layers; `lk`, `lv` (Llama) and `lgate` (SwiGLU) stay `.unused` otherwise.
        var lq = LinearLayer.unused, lk = LinearLayer.unused, lv = LinearLayer.unused, lproj = LinearLayer.unused
        var lgate = LinearLayer.unused, lup = LinearLayer.unused, ldown = LinearLayer.unused
        // parameter offsets (-1 absent)
        var n1w = -1, n1b = -1, n2w = -1, n2b = -1
    }
    var blocks: [Block] = []
    var encoded = 0, normF = 0, meanF = 0, rstdF = 0, logits = 0, probs = 0, losses = 0
    let wte: Int, wpe: Int, head: Int, nfw: Int, nfb: Int
    let ropeCos: [Float], ropeSin: [Float]

    /// Builds the model and initialises its weights.
    ///
    /// Init follows nanoGPT / llama2.c: N(0, 0.02) for embeddings and matrices, with the residual
    /// projections (GPT-2 `attn_out`, `ffn_down`; Llama `attn_out`, `ffn_up` = w3) at
    /// N(0, 0.02/√(2·layers)); norm gains 1, biases 0. Draws come from `SeededRandom(seed)` in
    /// layout order.
    /// - Parameters:
    ///   - config: the architecture (`contextLength` is the block size).
    ///   - batch: sequences per forward.
    ///   - seed: weight-init seed.
    ///   - activationCheckpointing: keep only block outputs and recompute blocks in backward.
    ///   - lora: LoRA adapters on a frozen base (the base weights are then set by the caller).
    public convenience init(config: ModelConfig, batch: Int, seed: UInt64, activationCheckpointing: Bool = false,
                            lora: LoRAWeights.Settings? = nil) {
        self.init(config: config, batch: batch, seed: seed, quantProbe: false, activationCheckpointing: activationCheckpointing, lora: lora)
    }

    /// `quantProbe` reserves the activation slots that ``QuantMode/capture`` and ``QuantMode/frozen`` use (tests).
    init(config: ModelConfig, batch: Int, seed: UInt64, quantProbe: Bool, activationCheckpointing: Bool = false,
         lora loraSettings: LoRAWeights.Settings? = nil) {
        precondition(config.architecture != .bitgpt, "the trainer builds gpt2 and llama families")
        precondition(!(quantProbe && activationCheckpointing), "quantization probes need every block's own slots")
        self.config = config
        self.quantProbe = quantProbe
        self.activationCheckpointing = activationCheckpointing
        self.batch = batch
        blockSize = config.contextLength
        let baseLayout = ParameterLayout(config: config)
        layout = baseLayout
        params = FloatBuffer(count: baseLayout.count)
        let lora = loraSettings.map { LoRAWeights(settings: $0, config: config, base: baseLayout, seed: seed) }
        self.lora = lora
        grads = FloatBuffer(count: lora == nil ? layout.count : 0)
        qweights = FloatBuffer(count: config.bitLinear && lora == nil ? layout.count : 0)
        sink = FloatBuffer(count: lora == nil ? 0 : max(config.dim, config.hiddenDim))
        inputs = .allocate(capacity: batch * config.contextLength)
        inputs.initialize(repeating: 0, count: batch * config.contextLength)
        targets = .allocate(capacity: batch * config.contextLength)
        targets.initialize(repeating: 0, count: batch * config.contextLength)

        let N = batch * config.contextLength, C = config.dim, H = config.hiddenDim
        let hd = config.headDim, kvd = config.nKVHeads * hd
        var a = ActivationLayout()
        let L = layout
        func p(_ name: String) -> Int { L.entry(name)?.offset ?? -1 }
        wte = p("token_embd")
        wpe = p("pos_embd")
        head = config.tiedEmbeddings ? wte : p("output")
        nfw = p("output_norm")
        nfb = p("output_norm_bias")
        encoded = a.take(N * C)
        let blockStart = a.count
        var blockEnd = blockStart
        for l in 0..<config.nLayers {
            let pre = "blk.\(l)."
            // With checkpointing every block takes the same slots (identical structure).
            if activationCheckpointing { a.rewind(to: blockStart) }
            var b = Block()
            b.n1w = p(pre + "attn_norm"); b.n1b = p(pre + "attn_norm_bias")
            b.n2w = p(pre + "ffn_norm"); b.n2b = p(pre + "ffn_norm_bias")
            b.norm1 = a.take(N * C); b.mean1 = a.take(N); b.rstd1 = a.take(N)
            if config.architecture == .gpt2 {
                b.lq = LinearLayer(config: config, layout: L, name: pre + "attn_qkv", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
                b.q = a.take(N * 3 * C)
            } else {
                b.lq = LinearLayer(config: config, layout: L, name: pre + "attn_q", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
                b.lk = LinearLayer(config: config, layout: L, name: pre + "attn_k", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
                b.lv = LinearLayer(config: config, layout: L, name: pre + "attn_v", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
                b.q = a.take(N * C); b.k = a.take(N * kvd); b.v = a.take(N * kvd)
            }
            b.att = a.take(batch * config.nHeads * blockSize * blockSize)
            b.atty = a.take(N * C)
            b.lproj = LinearLayer(config: config, layout: L, name: pre + "attn_out", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
            b.proj = a.take(N * C); b.res2 = a.take(N * C)
            b.norm2 = a.take(N * C); b.mean2 = a.take(N); b.rstd2 = a.take(N)
            if config.activation == .swiglu {
                b.lgate = LinearLayer(config: config, layout: L, name: pre + "ffn_gate", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
                b.gate = a.take(N * H)
            }
            b.lup = LinearLayer(config: config, layout: L, name: pre + "ffn_up", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
            b.up = a.take(N * H); b.act = a.take(N * H)
            if config.activation == .gelu { b.cdf = a.take(N * H) }
            b.ldown = LinearLayer(config: config, layout: L, name: pre + "ffn_down", n: N, acts: &a, quantProbe: quantProbe, lora: lora)
            b.down = a.take(N * C); b.res3 = a.take(N * C)
            blocks.append(b)
            blockEnd = a.count
        }
        scratch = blockStart..<blockEnd
        if activationCheckpointing {
            // Block outputs stay, each in its own slot.
            for l in blocks.indices { blocks[l].res3 = a.take(N * C) }
        }
        normF = a.take(N * C); meanF = a.take(N); rstdF = a.take(N)
        logits = a.take(N * config.vocabSize); probs = a.take(N * config.vocabSize); losses = a.take(N)
        acts = FloatBuffer(count: a.count)
        dacts = FloatBuffer(count: a.count)
        if config.position == .rope {
            (ropeCos, ropeSin) = ropeTables(contextLength: blockSize, headDim: hd, theta: config.ropeTheta)
        } else {
            (ropeCos, ropeSin) = ([], [])
        }
        initWeights(seed: seed)
    }

    deinit {
        inputs.deallocate()
        targets.deallocate()
    }

    private func initWeights(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let residualStd = 0.02 / Float(2 * config.nLayers).squareRoot()
        let scaled: Set<String> = config.architecture == .gpt2 ? ["attn_out", "ffn_down"] : ["attn_out", "ffn_up"]
        for e in layout.entries {
            let w = params.at(e.offset)
            if e.role == .vector {
                let gain = !e.name.hasSuffix("_bias")
                for i in 0..<e.count { w[i] = gain ? 1 : 0 }
            } else {
                let last = e.name.split(separator: ".").last.map(String.init) ?? ""
                let std = scaled.contains(last) ? residualStd : 0.02
                for i in 0..<e.count { w[i] = rng.normal(std: std) }
            }
        }
    }

    /// Fake-quantizes every BitLinear weight into ``qweights`` (no-op for a float model).
    public func quantizeWeights() {
        guard config.bitLinear && !frozenBase else { return }
        if quantMode == .capture && weightDelta == nil { weightDelta = FloatBuffer(count: layout.count) }
        for e in layout.entries where e.role == .linear {
            let q = qweights.at(e.offset), w = params.at(e.offset)
            switch quantMode {
            case .normal: weightQuantForward(q, w, n: e.count)
            case .capture:
                weightQuantForward(q, w, n: e.count)
                let d = weightDelta!.at(e.offset)
                for i in 0..<e.count { d[i] = q[i] - w[i] }
            case .frozen:
                let d = weightDelta!.at(e.offset)
                for i in 0..<e.count { q[i] = w[i] + d[i] }
            }
        }
    }

    private func normForward(_ out: Int, _ mean: Int, _ rstd: Int, _ inp: UnsafePointer<Float>, _ w: Int, _ b: Int) {
        let N = batch * blockSize, C = config.dim
        if config.norm == .layernorm {
            layerNormForward(acts.at(out), acts.at(mean), acts.at(rstd), inp, params.at(w), b >= 0 ? UnsafePointer(params.at(b)) : nil,
                             n: N, c: C, eps: config.normEps)
        } else {
            rmsNormForward(acts.at(out), acts.at(rstd), inp, params.at(w), n: N, c: C, eps: config.normEps)
        }
    }

    private func normBackward(_ dinp: UnsafeMutablePointer<Float>, _ out: Int, _ mean: Int, _ rstd: Int,
                              _ inp: UnsafePointer<Float>, _ w: Int, _ b: Int) {
        let N = batch * blockSize, C = config.dim
        if frozenBase {
            if config.norm == .layernorm {
                layerNormBackward(dinp, sink.base, nil, dacts.at(out), inp, params.at(w), acts.at(mean), acts.at(rstd), n: N, c: C)
            } else {
                rmsNormBackward(dinp, sink.base, dacts.at(out), inp, params.at(w), acts.at(rstd), n: N, c: C)
            }
            return
        }
        if config.norm == .layernorm {
            layerNormBackward(dinp, grads.at(w), b >= 0 ? grads.at(b) : nil, dacts.at(out), inp, params.at(w),
                              acts.at(mean), acts.at(rstd), n: N, c: C)
        } else {
            rmsNormBackward(dinp, grads.at(w), dacts.at(out), inp, params.at(w), acts.at(rstd), n: N, c: C)
        }
    }

    private var attentionShape: AttentionShape {
        let C = config.dim, hd = config.headDim
        let gpt = config.architecture == .gpt2
        return AttentionShape(b: batch, t: blockSize, heads: config.nHeads, kvHeads: config.nKVHeads, hd: hd,
                              qStride: gpt ? 3 * C : C, kvStride: gpt ? 3 * C : config.nKVHeads * hd)
    }

    /// Runs the forward pass over ``inputs`` and returns the mean cross-entropy against ``targets``.
    ///
    /// Token ids must be below the vocabulary size (the data loader checks this once).
    @discardableResult
    public func forward() -> Float {
        let B = batch, T = blockSize, N = B * T, C = config.dim, V = config.vocabSize
        quantizeWeights()
        // Embeddings.
        encoderForward(acts.at(encoded), inputs, params.at(wte), wpe >= 0 ? UnsafePointer(params.at(wpe)) : nil, b: B, t: T, c: C)
        var residual = UnsafePointer(acts.at(encoded))
        for b in blocks {
            blockForward(b, residual)
            residual = UnsafePointer(acts.at(b.res3))
        }
        // Final norm, tied or untied classifier, loss.
        normForward(normF, meanF, rstdF, residual, nfw, nfb)
        switch arithmetic {
        case .training: matmulForward(acts.at(logits), acts.at(normF), params.at(head), nil, n: N, inFeatures: C, outFeatures: V)
        case .runtime: floatLinearForward(acts.at(logits), acts.at(normF), params.at(head), nil, n: N, inFeatures: C, outFeatures: V)
        }
        crossEntropyForward(acts.at(losses), acts.at(probs), acts.at(logits), targets, n: N, v: V)
        var sum = 0.0
        let l = acts.at(losses)
        for i in 0..<N { sum += Double(l[i]) }
        return Float(sum / Double(N))
    }

    /// One block's forward from its input `residual` (N, C) to `res3`.
    private func blockForward(_ b: Block, _ residual: UnsafePointer<Float>) {
        let B = batch, T = blockSize, N = B * T, C = config.dim
        let hd = config.headDim, kvd = config.nKVHeads * hd, gpt = config.architecture == .gpt2
        let shape = attentionShape
        // Attention: norm, projections (+ RoPE), causal attention, output projection, residual.
        normForward(b.norm1, b.mean1, b.rstd1, residual, b.n1w, b.n1b)
        let x1 = UnsafePointer(acts.at(b.norm1))
        b.lq.forward(acts.at(b.q), x1, n: N, model: self)
        var k = UnsafePointer(acts.at(b.q) + C), v = UnsafePointer(acts.at(b.q) + 2 * C)
        if !gpt {
            b.lk.forward(acts.at(b.k), x1, n: N, model: self)
            b.lv.forward(acts.at(b.v), x1, n: N, model: self)
            if config.position == .rope {
                ropeForward(acts.at(b.q), ropeCos, ropeSin, b: B, t: T, heads: config.nHeads, hd: hd, stride: C)
                ropeForward(acts.at(b.k), ropeCos, ropeSin, b: B, t: T, heads: config.nKVHeads, hd: hd, stride: kvd)
            }
            k = UnsafePointer(acts.at(b.k)); v = UnsafePointer(acts.at(b.v))
        }
        switch arithmetic {
        case .training: attentionForward(acts.at(b.atty), acts.at(b.att), acts.at(b.q), k, v, shape)
        case .runtime:
            causalAttentionForward(acts.at(b.atty), acts.at(b.att), acts.at(b.q), k, v, b: shape.b, t: shape.t, heads: shape.heads,
                                   kvHeads: shape.kvHeads, hd: shape.hd, qStride: shape.qStride, kvStride: shape.kvStride)
        }
        b.lproj.forward(acts.at(b.proj), acts.at(b.atty), n: N, model: self)
        residualForward(acts.at(b.res2), residual, acts.at(b.proj), n: N * C)
        // MLP: norm, up (and gate), activation, down, residual.
        normForward(b.norm2, b.mean2, b.rstd2, acts.at(b.res2), b.n2w, b.n2b)
        let x2 = UnsafePointer(acts.at(b.norm2))
        let H = config.hiddenDim
        b.lup.forward(acts.at(b.up), x2, n: N, model: self)
        switch config.activation {
        case .swiglu:
            b.lgate.forward(acts.at(b.gate), x2, n: N, model: self)
            swigluForward(acts.at(b.act), acts.at(b.gate), acts.at(b.up), n: N * H)
        case .relu: reluForward(acts.at(b.act), acts.at(b.up), n: N * H)
        default: geluForward(acts.at(b.act), acts.at(b.cdf), acts.at(b.up), n: N * H)
        }
        b.ldown.forward(acts.at(b.down), acts.at(b.act), n: N, model: self)
        residualForward(acts.at(b.res3), acts.at(b.res2), acts.at(b.down), n: N * C)
    }

    /// The logits of the last ``forward()``, (B, T, V) row-major.
    public var lastLogits: [Float] { acts.array(logits, count: batch * blockSize * config.vocabSize) }

    /// Accumulates into ``grads`` the gradient of `scale · loss` of the last ``forward()``.
    ///
    /// With gradient accumulation over k micro-batches, `scale` is 1/k. Call ``zeroGrads()`` first
    /// at the start of a step.
    public func backward(scale: Float = 1) {
        let B = batch, T = blockSize, N = B * T, C = config.dim, V = config.vocabSize, H = config.hiddenDim
        let hd = config.headDim, kvd = config.nKVHeads * hd, gpt = config.architecture == .gpt2
        dacts.zero()
        if frozenBase { sink.zero() }
        crossEntropyBackward(dacts.at(logits), acts.at(probs), targets, scale: scale / Float(N), n: N, v: V)
        let lastResidual = blocks.last.map { $0.res3 } ?? encoded
        matmulBackward(dacts.at(normF), frozenBase ? nil : grads.at(head), nil, dacts.at(logits), acts.at(normF), params.at(head),
                       n: N, inFeatures: C, outFeatures: V)
        normBackward(dacts.at(lastResidual), normF, meanF, rstdF, acts.at(lastResidual), nfw, nfb)
        let shape = attentionShape
        for l in stride(from: blocks.count - 1, through: 0, by: -1) {
            let b = blocks[l]
            let resIn = l == 0 ? encoded : blocks[l - 1].res3
            if activationCheckpointing {
                // The last block's activations are still in the shared slots; recompute the others.
                if l != blocks.count - 1 { blockForward(b, UnsafePointer(acts.at(resIn))) }
                let d = dacts.at(scratch.lowerBound)
                for i in 0..<scratch.count { d[i] = 0 }
            }
            // MLP.
            residualBackward(dacts.at(b.res2), dacts.at(b.down), dacts.at(b.res3), n: N * C)
            b.ldown.backward(dacts.at(b.act), dacts.at(b.down), acts.at(b.act), n: N, model: self)
            switch config.activation {
            case .swiglu: swigluBackward(dacts.at(b.gate), dacts.at(b.up), dacts.at(b.act), acts.at(b.gate), acts.at(b.up), n: N * H)
            case .relu: reluBackward(dacts.at(b.up), acts.at(b.up), dacts.at(b.act), n: N * H)
            default: geluBackward(dacts.at(b.up), acts.at(b.up), acts.at(b.cdf), dacts.at(b.act), n: N * H)
            }
            b.lup.backward(dacts.at(b.norm2), dacts.at(b.up), acts.at(b.norm2), n: N, model: self)
            if config.activation == .swiglu { b.lgate.backward(dacts.at(b.norm2), dacts.at(b.gate), acts.at(b.norm2), n: N, model: self) }
            normBackward(dacts.at(b.res2), b.norm2, b.mean2, b.rstd2, acts.at(b.res2), b.n2w, b.n2b)
            // Attention.
            residualBackward(dacts.at(resIn), dacts.at(b.proj), dacts.at(b.res2), n: N * C)
            b.lproj.backward(dacts.at(b.atty), dacts.at(b.proj), acts.at(b.atty), n: N, model: self)
            if gpt {
                attentionBackward(dacts.at(b.q), dacts.at(b.q) + C, dacts.at(b.q) + 2 * C, dacts.at(b.atty), acts.at(b.att),
                                  acts.at(b.q), acts.at(b.q) + C, acts.at(b.q) + 2 * C, shape)
            } else {
                attentionBackward(dacts.at(b.q), dacts.at(b.k), dacts.at(b.v), dacts.at(b.atty), acts.at(b.att),
                                  acts.at(b.q), acts.at(b.k), acts.at(b.v), shape)
                if config.position == .rope {
                    ropeBackward(dacts.at(b.q), ropeCos, ropeSin, b: B, t: T, heads: config.nHeads, hd: hd, stride: C)
                    ropeBackward(dacts.at(b.k), ropeCos, ropeSin, b: B, t: T, heads: config.nKVHeads, hd: hd, stride: kvd)
                }
                b.lk.backward(dacts.at(b.norm1), dacts.at(b.k), acts.at(b.norm1), n: N, model: self)
                b.lv.backward(dacts.at(b.norm1), dacts.at(b.v), acts.at(b.norm1), n: N, model: self)
            }
            b.lq.backward(dacts.at(b.norm1), dacts.at(b.q), acts.at(b.norm1), n: N, model: self)
            normBackward(dacts.at(resIn), b.norm1, b.mean1, b.rstd1, acts.at(resIn), b.n1w, b.n1b)
        }
        // A frozen base needs no embedding gradient (and the ids no input gradient).
        if !frozenBase { encoderBackward(grads.at(wte), wpe >= 0 ? grads.at(wpe) : nil, dacts.at(encoded), inputs, b: B, t: T, c: C) }
    }

    /// Sets every gradient to zero (the adapters' in a LoRA run).
    public func zeroGrads() {
        grads.zero()
        lora?.grads.zero()
    }

    /// The parameters the optimizer trains and their gradients: the adapters' in a LoRA run,
    /// else the model's.
    public var trainable: (params: FloatBuffer, grads: FloatBuffer) {
        lora.map { ($0.params, $0.grads) } ?? (params, grads)
    }
}
