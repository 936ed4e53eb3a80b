import CBitGPTKernels

/// Errors of the inference runtime (beyond the file format's own).
public enum InferenceError: Error, Equatable, CustomStringConvertible {
    /// A token id outside `0..<vocab`.
    case tokenOutOfRange(Int, vocabSize: Int)
    /// Positions past the context length were requested.
    case contextOverflow(position: Int, contextLength: Int)
    /// The model's settings are valid metadata but not something the runtime can run.
    case unsupported(String)

    /// One line for the user.
    public var description: String {
        switch self {
        case let .tokenOutOfRange(t, v): return "token id \(t) is outside the vocabulary (size \(v))"
        case let .contextOverflow(p, T): return "position \(p) is past the context length \(T)"
        case let .unsupported(m): return "unsupported model: \(m)"
        }
    }
}

/// A decoder-only transformer of any supported family, with weights used in place from a mapped `.bgpt` file.
///
/// The family and every hyper-parameter come from the metadata (``ModelConfig``), never from
/// tensor names. Per block, with `x` the residual stream:
/// - **gpt2** (nanoGPT): `x += out(attn(qkv(LN(x))))`, `x += down(gelu(up(LN(x))))`; fused QKV rows q, k, v.
/// - **bitgpt** (BitGPT): no block norms; per-head q/k/v BitLinears, each with its own RMSNorm;
///   `x += out(attn(x))`, `x += down(relu(up(x)))`; every BitLinear normalizes its own input.
/// - **llama** (llama2.c): RMSNorm pre-norm, separate q/k/v with GQA (query head h reads kv head
///   `h / (n_heads / n_kv_heads)`), RoPE on q and k, SwiGLU `down(silu(gate(x))·up(x))`.
/// The MLP's activation sits between its linears, or after the down projection when
/// `model.ffn_activation_position` is `output`; the stack of blocks runs `model.block_repeats`
/// times with shared weights, each pass with its own KV cache.
/// Then the final norm (epsilon `model.output_norm_eps` when set) and the classifier (`output`,
/// or `token_embd` when tied, plus `output_bias`).
/// Positions are learned (`pos_embd` added to the token embedding), RoPE, or none.
public final class Transformer {
    /// The architecture, from the metadata.
    public let config: ModelConfig
    /// The mapped file the weights live in.
    public let file: BGPTFile

    struct Block {
        var attnNorm: [Float]?       // (dim)
        var attnNormBias: [Float]?   // (dim)
        var qkv: Linear?             // (3·dim, dim), gpt2
        var q: [Linear]              // llama: one (n_heads·hd, dim); bitgpt: n_heads of (hd, dim)
        var k: [Linear]
        var v: [Linear]
        var out: Linear              // (dim, dim)
        var ffnNorm: [Float]?
        var ffnNormBias: [Float]?
        var gate: Linear?            // (hidden, dim), SwiGLU
        var up: Linear               // (hidden, dim)
        var down: Linear             // (dim, hidden)
        /// q, k and v in one loop (llama: q, k, v; gpt2: the fused qkv), or nil (BitGPT's own norms).
        var attnIn: LinearGroup?
        /// gate and up (SwiGLU) or up alone in one loop, or nil (BitGPT's own norms).
        var ffnIn: LinearGroup?
    }

    private let tokenEmbd: TensorView      // (vocab, dim)
    private let posEmbd: [Float]?          // (context, dim)
    let blocks: [Block]
    private let outputNorm: [Float]        // (dim)
    private let outputNormBias: [Float]?   // (dim)
    /// The classifier, (vocab, dim).
    public let classifier: Linear
    private let rope: RopeTable?
    /// The LoRA updates of each block (index: block), or nil with no adapter (the plain path).
    private(set) var lora: [BlockLoRA]?
    /// The adapters applied, with their run-time scales, in the order added.
    public private(set) var adapters: [(adapter: LoRAAdapter, scale: Float)] = []

    /// Loads and validates a model.
    ///
    /// Reads the configuration from the metadata, checks that every tensor the family needs is
    /// present with the right shape and nothing else is (``ModelConfig/checkTensors(in:)``), and
    /// validates the codes and scales of every quantized tensor.
    /// - Parameter file: an opened `.bgpt` file; kept alive by the model.
    /// - Throws: ``FormatError`` for missing or malformed keys and tensors.
    public init(file: BGPTFile) throws {
        let c = try ModelConfig(metadata: file.metadata)
        if c.architecture != .llama && c.nKVHeads != c.nHeads {
            throw InferenceError.unsupported("\(c.architecture.rawValue) needs model.n_kv_heads = model.n_heads")
        }
        try c.checkTensors(in: file)
        for info in file.tensors where info.dtype.isQuantized { try file.view(info).validateCodes() }
        config = c
        self.file = file

        func vector(_ name: String) throws -> [Float] { try file.tensor(name).dequantized() }
        func optVector(_ name: String, _ present: Bool) throws -> [Float]? { present ? try vector(name) : nil }
        func linear(_ name: String) throws -> Linear {
            let bias = try optVector(name + "_bias", c.linearBias)
            let gain = try optVector(name + ".norm", c.bitLinear && c.bitLinearNorm)
            return Linear(view: try file.tensor(name), bias: bias, normGain: gain, normEps: c.bitLinearNormEps, bitLinear: c.bitLinear)
        }
        let normBias = c.norm == .layernorm && c.normBias
        tokenEmbd = try file.tensor("token_embd")
        posEmbd = c.position == .learned ? try vector("pos_embd") : nil
        var blocks: [Block] = []
        for l in 0..<c.nLayers {
            let p = "blk.\(l)."
            let hasNorms = c.architecture != .bitgpt
            var b = Block(attnNorm: try optVector(p + "attn_norm", hasNorms),
                          attnNormBias: try optVector(p + "attn_norm_bias", hasNorms && normBias),
                          qkv: nil, q: [], k: [], v: [],
                          out: try linear(p + "attn_out"),
                          ffnNorm: try optVector(p + "ffn_norm", hasNorms),
                          ffnNormBias: try optVector(p + "ffn_norm_bias", hasNorms && normBias),
                          gate: c.activation == .swiglu && c.architecture == .llama ? try linear(p + "ffn_gate") : nil,
                          up: try linear(p + "ffn_up"), down: try linear(p + "ffn_down"),
                          attnIn: nil, ffnIn: nil)
            switch c.architecture {
            case .gpt2:
                b.qkv = try linear(p + "attn_qkv")
            case .llama:
                b.q = [try linear(p + "attn_q")]
                b.k = [try linear(p + "attn_k")]
                b.v = [try linear(p + "attn_v")]
            case .bitgpt:
                for h in 0..<c.nHeads {
                    b.q.append(try linear(p + "attn_q.\(h)"))
                    b.k.append(try linear(p + "attn_k.\(h)"))
                    b.v.append(try linear(p + "attn_v.\(h)"))
                }
            }
            b.attnIn = LinearGroup(b.qkv.map { [$0] } ?? (b.q.count == 1 ? b.q + b.k + b.v : []))
            b.ffnIn = LinearGroup((b.gate.map { [$0] } ?? []) + [b.up])
            blocks.append(b)
        }
        self.blocks = blocks
        outputNorm = try vector("output_norm")
        outputNormBias = try optVector("output_norm_bias", normBias)
        let head = c.tiedEmbeddings ? tokenEmbd : try file.tensor("output")
        classifier = Linear(view: head, bias: try optVector("output_bias", c.headBias), normGain: nil, normEps: 0, bitLinear: false)
        rope = c.position == .rope ? RopeTable(headDim: c.headDim, positions: c.contextLength, theta: c.ropeTheta, pairing: c.ropePairing) : nil
        if c.activation == .swiglu && c.architecture != .llama {
            throw InferenceError.unsupported("SwiGLU needs the llama family (ffn_gate)")
        }
    }

    /// Applies `adapter` at run-time scale `scale` from the next forward pass on:
    /// `y += scale · (α/r) · B·(A·x)` after each targeted linear, in f32, on the same float input
    /// the base linear reads. The base weights are untouched (a ternary base keeps its packed
    /// integer path). Several adapters add up. Call it before any pass that may run concurrently.
    ///
    /// The base fingerprint is the caller's to check (``LoRABase/fingerprint(of:)``, done by
    /// `LoRAAdapterFile.read(path:config:fingerprint:)`); this checks architecture, layers and shapes.
    /// - Throws: ``LoRAError`` when the adapter does not fit this model, or `scale` is not finite.
    public func addAdapter(_ adapter: LoRAAdapter, scale: Float = 1) throws(LoRAError) {
        guard scale.isFinite else { throw .invalid("LoRA scale \(scale) is not a finite number") }
        try adapter.check(against: config, fingerprint: nil)
        var all = lora ?? Array(repeating: BlockLoRA(), count: config.nLayers)
        let coef = scale * adapter.scaling
        for l in adapter.layers {
            let u = LoRAUpdate(l, rank: adapter.rank, coef: coef)
            switch l.module.tensor {
            case "attn_q": all[l.layer].q.append(u)
            case "attn_k": all[l.layer].k.append(u)
            case "attn_v": all[l.layer].v.append(u)
            case "attn_qkv": all[l.layer].qkv.append(u)
            case "attn_out": all[l.layer].o.append(u)
            case "ffn_gate": all[l.layer].gate.append(u)
            case "ffn_up": all[l.layer].up.append(u)
            case "ffn_down": all[l.layer].down.append(u)
            default: throw .unsupported("LoRA on \(l.module.tensor) is not supported")
            }
        }
        lora = all
        adapters.append((adapter, scale))
    }

    /// Every linear layer of the model in file order (blocks, then the classifier).
    public var linears: [Linear] {
        var out: [Linear] = []
        for b in blocks {
            if let qkv = b.qkv { out.append(qkv) }
            out += b.q
            out += b.k
            out += b.v
            out.append(b.out)
            if let g = b.gate { out.append(g) }
            out += [b.up, b.down]
        }
        out.append(classifier)
        return out
    }

    /// The linear layer whose weight tensor is `name` (e.g. `blk.0.ffn_down`), if any.
    public func linear(named name: String) -> Linear? { linears.first { $0.name == name } }

    /// Weight bytes a forward pass reads for one token: every linear layer, the classifier and one
    /// embedding row (norms and biases are negligible and not counted).
    public var weightBytesPerToken: Int {
        linears.reduce(Int(tokenEmbd.info.byteSize) / max(config.vocabSize, 1)) { $0 + $1.weightBytes }
    }

    /// Runs `tokens` at positions `startPos ..< startPos + tokens.count`, attending over the cached
    /// keys and values of positions `0 ..< startPos`, and leaves the last token's logits in
    /// `state.logits`.
    ///
    /// The batch goes through the matrix × matrix kernels in chunks of `state.maxTokens`. Keys and
    /// values of the new positions are written into the cache. Allocates nothing.
    /// - Parameters:
    ///   - tokens: token ids, each `< vocab`.
    ///   - startPos: position of the first token; positions `< startPos` must be in the cache.
    ///   - state: buffers and KV cache.
    ///   - pool: threads.
    ///   - allLogits: if not nil, receives the logits of every token, (tokens.count, vocab).
    /// - Throws: ``InferenceError/tokenOutOfRange(_:vocabSize:)``, ``InferenceError/contextOverflow(position:contextLength:)``.
    public func forward(_ tokens: UnsafeBufferPointer<Int>, startPos: Int, state: RunState, pool: WorkerPool,
                        allLogits: UnsafeMutablePointer<Float>? = nil) throws(InferenceError) {
        let V = config.vocabSize
        guard startPos >= 0, startPos + tokens.count <= config.contextLength else {
            throw .contextOverflow(position: startPos + tokens.count - 1, contextLength: config.contextLength)
        }
        for t in tokens where t < 0 || t >= V { throw .tokenOutOfRange(t, vocabSize: V) }
        guard state.hasKVCache else { throw .unsupported("this state has no KV cache (it holds a batched pass's activations only)") }
        var done = 0
        while done < tokens.count {
            let n = min(state.maxTokens, tokens.count - done)
            let span = SequenceSpan(tokens: UnsafeBufferPointer(rebasing: tokens[done ..< done + n]), startPos: startPos + done,
                                    cache: state, wantsLogits: done + n == tokens.count)
            withUnsafePointer(to: span) { sp in
                forwardChunk(UnsafeBufferPointer(start: sp, count: 1), state: state, pool: pool, allLogits: allLogits.map { $0 + done * V })
            }
            done += n
        }
    }

    /// Runs several sequences in one pass: each span's tokens at its own positions, attending over
    /// its own KV cache, with the logits of each span that wants them left in its cache's
    /// ``RunState/logits``.
    ///
    /// Every row is computed exactly as ``forward(_:startPos:state:pool:allLogits:)`` computes it for
    /// that sequence alone (activations are quantized per token and the kernels' results do not
    /// depend on which rows share a call), so batching changes no logit. The linear layers see all
    /// rows at once: a ternary weight is unpacked once per pass, not once per sequence.
    /// - Parameters:
    ///   - spans: the sequences, each with a different cache; `state.maxTokens` tokens in all at most.
    ///   - state: the activation buffers of the pass (its own cache, if any, is not used unless a span names it).
    ///   - pool: threads.
    /// - Throws: ``InferenceError`` for a bad token or position, or ``InferenceError/unsupported(_:)``
    ///   for too many tokens, an empty span, two spans sharing a cache, or a cache of another shape.
    public func forward(spans: UnsafeBufferPointer<SequenceSpan>, state: RunState, pool: WorkerPool) throws(InferenceError) {
        let c = config, V = c.vocabSize, kvBytes = c.scheduledLayers * c.contextLength * c.nKVHeads * c.headDim
        var total = 0
        for (i, sp) in spans.enumerated() {
            guard !sp.tokens.isEmpty else { throw .unsupported("span \(i) of a batched pass is empty") }
            guard sp.startPos >= 0, sp.startPos + sp.tokens.count <= c.contextLength else {
                throw .contextOverflow(position: sp.startPos + sp.tokens.count - 1, contextLength: c.contextLength)
            }
            for t in sp.tokens where t < 0 || t >= V { throw .tokenOutOfRange(t, vocabSize: V) }
            guard sp.cache.contextLength == c.contextLength, sp.cache.kvHeads == c.nKVHeads, sp.cache.headDim == c.headDim,
                  sp.cache.keyCache.count == kvBytes * sp.cache.kvType.byteSize, sp.cache.logits.count == V else {
                throw .unsupported("span \(i)'s cache was made for another model")
            }
            for j in 0..<i where spans[j].cache === sp.cache { throw .unsupported("spans \(j) and \(i) share a KV cache") }
            total += sp.tokens.count
        }
        guard total <= state.maxTokens else { throw .unsupported("\(total) tokens in one batched pass; the state holds \(state.maxTokens)") }
        guard total > 0 else { return }
        forwardChunk(spans, state: state, pool: pool, allLogits: nil)
    }

    /// One pass over the rows of `spans`, at most `state.maxTokens` in all; `allLogits` (every row's
    /// logits) only with a single span.
    private func forwardChunk(_ spans: UnsafeBufferPointer<SequenceSpan>, state s: RunState, pool: WorkerPool,
                              allLogits: UnsafeMutablePointer<Float>?) {
        let c = config, D = c.dim, H = c.hiddenDim, hd = c.headDim
        let n = spans.reduce(0) { $0 + $1.tokens.count }
        let kvDim = c.nKVHeads * hd, qkvLd = D + 2 * kvDim
        let x = s.x.pointer, xb = s.xb.pointer, xb2 = s.xb2.pointer, qkv = s.qkv.pointer, hb = s.hb.pointer
        let scratch = s.linearScratch
        s.passes += 1

        // 1. Token (and learned position) embeddings; row t of the pass is token i of its span.
        var t = 0
        for sp in spans {
            for i in sp.tokens.indices {
                embed(sp.tokens[i], into: x + t * D, codes: s.embedCodes.pointer)
                if let pe = posEmbd {
                    let row = (sp.startPos + i) * D
                    for j in 0..<D { x[t * D + j] += pe[row + j] }
                }
                t += 1
            }
        }

        // The block schedule: the whole stack, `blockRepeats` times; step l has its own KV cache layer.
        for l in 0..<c.scheduledLayers {
            let b = blocks[l % c.nLayers]
            // 2. Attention input: the block norm, or the raw stream for BitGPT.
            let xin = UnsafePointer(b.attnNorm == nil ? x : xb)
            if let g = b.attnNorm { norm(xb, x, gain: g, bias: b.attnNormBias, n: n, eps: c.normEps) }
            // 3. Queries, keys and values of the new tokens, side by side: (n, dim + 2·kvDim).
            if let group = b.attnIn {
                group.forward(qkv, ld: qkvLd, xin, n: n, scratch: scratch, pool: pool)
            } else if let f = b.qkv {
                f.forward(qkv, ld: qkvLd, xin, n: n, scratch: scratch, pool: pool)
            } else {
                // One q/k/v triple (llama) or one per head (BitGPT), each with its own norm.
                for h in b.q.indices {
                    b.q[h].forward(qkv + h * hd, ld: qkvLd, xin, n: n, scratch: scratch, pool: pool)
                    b.k[h].forward(qkv + D + h * hd, ld: qkvLd, xin, n: n, scratch: scratch, pool: pool)
                    b.v[h].forward(qkv + D + kvDim + h * hd, ld: qkvLd, xin, n: n, scratch: scratch, pool: pool)
                }
            }
            let ad = lora?[l % c.nLayers]
            if let ad {
                for u in ad.qkv { u.apply(qkv, ld: qkvLd, xin, ldx: D, n: n, pool: pool) }
                for u in ad.q { u.apply(qkv, ld: qkvLd, xin, ldx: D, n: n, pool: pool) }
                for u in ad.k { u.apply(qkv + D, ld: qkvLd, xin, ldx: D, n: n, pool: pool) }
                for u in ad.v { u.apply(qkv + D + kvDim, ld: qkvLd, xin, ldx: D, n: n, pool: pool) }
            }
            // 4. RoPE on the new queries and keys, then keys and values into each sequence's cache.
            var t = 0
            for sp in spans {
                for i in sp.tokens.indices {
                    let row = qkv + t * qkvLd, pos = sp.startPos + i
                    if let r = rope {
                        r.rotate(row, heads: c.nHeads, position: pos)
                        r.rotate(row + D, heads: c.nKVHeads, position: pos)
                    }
                    sp.cache.cacheKeysAndValues(layer: l, position: pos, keys: row + D, values: row + D + kvDim)
                    t += 1
                }
            }
            // 5. Causal attention, one head per work item, into xb2.
            attention(layer: l, spans: spans, state: s, pool: pool)
            // 6. Output projection and residual.
            b.out.forward(xb, ld: D, xb2, n: n, scratch: scratch, pool: pool)
            if let ad { for u in ad.o { u.apply(xb, ld: D, xb2, ldx: D, n: n, pool: pool) } }
            for i in 0..<(n * D) { x[i] += xb[i] }
            // 7. MLP and residual.
            let min = UnsafePointer(b.ffnNorm == nil ? x : xb)
            if let g = b.ffnNorm { norm(xb, x, gain: g, bias: b.ffnNormBias, n: n, eps: c.normEps) }
            if let gate = b.gate {
                // gate | up per token, (n, 2·hidden), silu(gate)·up written over gate.
                if let group = b.ffnIn, ad?.gatesOrUps != true {
                    group.forwardSwiGLU(hb, ld: 2 * H, min, n: n, scratch: scratch, pool: pool)
                } else {
                    gate.forward(hb, ld: 2 * H, min, n: n, scratch: scratch, pool: pool)
                    b.up.forward(hb + H, ld: 2 * H, min, n: n, scratch: scratch, pool: pool)
                    if let ad {
                        // The adapters' updates go in before the gating.
                        for u in ad.gate { u.apply(hb, ld: 2 * H, min, ldx: D, n: n, pool: pool) }
                        for u in ad.up { u.apply(hb + H, ld: 2 * H, min, ldx: D, n: n, pool: pool) }
                    }
                    for t in 0..<n { swigluForward(hb + 2 * t * H, hb + 2 * t * H, hb + 2 * t * H + H, n: H) }
                }
                // Pack the products to (n, hidden) for the down projection (token 0 is in place).
                for t in 1..<max(n, 1) { (hb + t * H).update(from: hb + 2 * t * H, count: H) }
            } else {
                if let group = b.ffnIn {
                    group.forward(hb, ld: H, min, n: n, scratch: scratch, pool: pool)
                } else {
                    b.up.forward(hb, ld: H, min, n: n, scratch: scratch, pool: pool)
                }
                if let ad { for u in ad.up { u.apply(hb, ld: H, min, ldx: D, n: n, pool: pool) } }
                if c.ffnActivationPosition == .hidden { activate(hb, count: n * H) }
            }
            b.down.forward(xb, ld: D, hb, n: n, scratch: scratch, pool: pool)
            if let ad { for u in ad.down { u.apply(xb, ld: D, hb, ldx: H, n: n, pool: pool) } }
            if c.ffnActivationPosition == .output { activate(xb, count: n * D) }
            for i in 0..<(n * D) { x[i] += xb[i] }
        }

        // 8. Final norm and classifier: every token if asked, else the last token of each span that wants logits.
        let V = c.vocabSize
        if let all = allLogits {
            norm(xb, x, gain: outputNorm, bias: outputNormBias, n: n, eps: c.finalNormEps)
            classifier.forward(all, ld: V, xb, n: n, scratch: scratch, pool: pool)
            if spans[0].wantsLogits { spans[0].cache.logits.pointer.update(from: all + (n - 1) * V, count: V) }
            return
        }
        // Gather the last rows into xb2, (k, dim), then norm and classify them k ≤ logitRows at a time.
        var k = 0
        t = 0
        for sp in spans {
            t += sp.tokens.count
            if sp.wantsLogits { (xb2 + k * D).update(from: x + (t - 1) * D, count: D); k += 1 }
        }
        guard k > 0 else { return }
        norm(xb, xb2, gain: outputNorm, bias: outputNormBias, n: k, eps: c.finalNormEps)
        if k == 1 || s.logitRows == 1 {
            // One row at a time, straight into each cache's logits.
            var r = 0
            for sp in spans where sp.wantsLogits {
                classifier.forward(sp.cache.logits.pointer, ld: V, xb + r * D, n: 1, scratch: scratch, pool: pool)
                r += 1
            }
            return
        }
        var wanting = spans.lazy.filter(\.wantsLogits).makeIterator()
        for r0 in stride(from: 0, to: k, by: s.logitRows) {
            let m = min(s.logitRows, k - r0)
            classifier.forward(s.rowLogits.pointer, ld: V, xb + r0 * D, n: m, scratch: scratch, pool: pool)
            for r in 0..<m { wanting.next()!.cache.logits.pointer.update(from: s.rowLogits.pointer + r * V, count: V) }
        }
    }

    /// The LoRA updates of one block, per linear (each list: one entry per adapter that targets it).
    struct BlockLoRA {
        var q: [LoRAUpdate] = [], k: [LoRAUpdate] = [], v: [LoRAUpdate] = [], qkv: [LoRAUpdate] = []
        var o: [LoRAUpdate] = [], gate: [LoRAUpdate] = [], up: [LoRAUpdate] = [], down: [LoRAUpdate] = []
        /// Whether the gate or up projection is adapted (SwiGLU then runs them apart, to add the updates before gating).
        var gatesOrUps: Bool { !gate.isEmpty || !up.isEmpty }
    }

    /// The MLP's plain non-linearity in place over `count` values (SwiGLU gates elsewhere).
    private func activate(_ p: UnsafeMutablePointer<Float>, count: Int) {
        switch config.activation {
        case .gelu: geluForward(p, nil, p, n: count)
        case .relu: reluForward(p, p, n: count)
        case .silu, .swiglu: siluForward(p, p, n: count)
        }
    }

    /// Block or final norm of the configured kind over `n` rows of width dim.
    private func norm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, gain: [Float], bias: [Float]?, n: Int, eps: Float) {
        gain.withUnsafeBufferPointer { g in
            if config.norm == .rmsnorm {
                rmsNormForward(out, nil, x, g.baseAddress!, n: n, c: config.dim, eps: eps)
            } else if let bias {
                bias.withUnsafeBufferPointer { bb in
                    layerNormForward(out, nil, nil, x, g.baseAddress!, bb.baseAddress!, n: n, c: config.dim, eps: eps)
                }
            } else {
                layerNormForward(out, nil, nil, x, g.baseAddress!, nil, n: n, c: config.dim, eps: eps)
            }
        }
    }

    /// Causal attention for the new tokens of every span, each reading its own sequence's cache;
    /// output (rows, dim) in `xb2`.
    ///
    /// For query head h (kv head `h / (n_heads / n_kv_heads)`) and the token at position p:
    /// `softmax(q·k_s / √hd over s ≤ p) · v` (`bgpt_k_attend_*`). Heads are split across threads;
    /// each head's arithmetic is the same whatever the split.
    private func attention(layer l: Int, spans: UnsafeBufferPointer<SequenceSpan>, state s: RunState, pool: WorkerPool) {
        let c = config, D = c.dim, hd = c.headDim, T = c.contextLength, kvDim = c.nKVHeads * hd
        let group = c.nHeads / c.nKVHeads, qkvLd = D + 2 * kvDim
        let scale = 1 / Float(hd).squareRoot()
        let q = s.qkv.pointer, out = s.xb2.pointer, att = s.att.pointer
        pool.forRanges(c.nHeads) { h0, h1 in
            for h in h0..<h1 {
                let kvh = h / group
                var t = 0
                for sp in spans {
                    let cache = sp.cache, f16 = cache.kvType == .f16
                    let kt = cache.keyCache.pointer + ((l * c.nKVHeads + kvh) * hd * T) * cache.kvType.byteSize
                    let v = cache.valueCache.pointer + (l * T * kvDim + kvh * hd) * cache.kvType.byteSize
                    for i in sp.tokens.indices {
                        let qh = q + t * qkvLd + h * hd, o = out + t * D + h * hd, len = sp.startPos + i + 1
                        if f16 {
                            bgpt_k_attend_f16(o, qh, UnsafeRawPointer(kt).assumingMemoryBound(to: UInt16.self), T,
                                              UnsafeRawPointer(v).assumingMemoryBound(to: UInt16.self), kvDim, hd, len, scale, att + h * T)
                        } else {
                            bgpt_k_attend_f32(o, qh, UnsafeRawPointer(kt).assumingMemoryBound(to: Float.self), T,
                                              UnsafeRawPointer(v).assumingMemoryBound(to: Float.self), kvDim, hd, len, scale, att + h * T)
                        }
                        t += 1
                    }
                }
            }
        }
    }

    /// Writes the embedding row of `token` (any dtype) into `out`, (dim).
    private func embed(_ token: Int, into out: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Int8>) {
        let D = config.dim, v = tokenEmbd, base = v.base
        switch v.info.dtype {
        case .f32:
            for i in 0..<D { out[i] = base.loadUnaligned(fromByteOffset: 4 * (token * D + i), as: Float.self) }
        case .f16:
            for i in 0..<D { out[i] = HalfPrecision.fromF16(base.loadUnaligned(fromByteOffset: 2 * (token * D + i), as: UInt16.self)) }
        case .bf16:
            for i in 0..<D { out[i] = HalfPrecision.fromBF16(base.loadUnaligned(fromByteOffset: 2 * (token * D + i), as: UInt16.self)) }
        case .i8:
            let s = v.int8Scale(row: token), p = base.assumingMemoryBound(to: Int8.self) + token * D
            for i in 0..<D { out[i] = Float(p[i]) * s }
        case .t2, .t1:
            let g = v.ternaryScale ?? 0, p = base.assumingMemoryBound(to: UInt8.self) + token * v.rowStride
            if v.info.dtype == .t2 { T2Packing.unpackRow(codes, p, cols: D) } else { T1Packing.unpackRow(codes, p, cols: D) }
            for i in 0..<D { out[i] = Float(codes[i]) * g }
        }
    }
}
