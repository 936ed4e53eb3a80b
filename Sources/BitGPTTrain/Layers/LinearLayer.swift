import BitGPT

/// Where one linear layer's parameters and saved activations live, and its forward/backward.
///
/// A plain layer computes `out = x · Wᵀ + b`. A BitLinear layer first
/// applies its own RMSNorm with gain (when `bitlinear.norm`), then fake-quantizes the input per
/// token to int8 and uses the ternary fake-quantized weight `W̃` (computed once per step into the
/// model's `qweights` buffer): `out = x̃ · W̃ᵀ + b`. The backward uses the straight-through
/// estimator: `dW += doutᵀ · x̃` and `dx̃` passes to the pre-quantization input unchanged.
///
/// On a frozen base (a LoRA run) the weight is used as stored (no re-quantization), no weight,
/// bias or gain gradient is computed (only the input's), and a targeted layer adds its LoRA term
/// (``loraForward``) on its float input.
public struct LinearLayer {
    /// Offsets into the parameter buffer (-1: absent).
    public let weight: Int, bias: Int, gain: Int
    public let inFeatures: Int, outFeatures: Int
    public let bitLinear: Bool
    /// Offsets into the activation buffer: RMSNorm output (N, in) and its rrms (N), quantized input (N, in).
    let xn: Int, rrms: Int, xq: Int
    /// Offset of `x̃ − x` saved by ``TrainModel/QuantMode/capture`` (tests only).
    let qdelta: Int
    /// The layer's LoRA adapter (nil: none) and the activation offsets of its h and dh (N, r).
    let adapter: LoRAWeights.Adapter?
    let loraH: Int, loraDH: Int

    /// A placeholder for a layer the architecture does not have (never run).
    static let unused = LinearLayer()

    private init() {
        weight = -1; bias = -1; gain = -1; inFeatures = 0; outFeatures = 0; bitLinear = false
        xn = -1; rrms = -1; xq = -1; qdelta = -1
        adapter = nil; loraH = -1; loraDH = -1
    }

    init(config: ModelConfig, layout: ParameterLayout, name: String, n: Int, acts: inout ActivationLayout, quantProbe: Bool,
         lora: LoRAWeights?) {
        guard let w = layout.entry(name) else { preconditionFailure("no parameter \(name)") }
        weight = w.offset
        outFeatures = w.shape[0]
        inFeatures = w.shape[1]
        bias = layout.entry(name + "_bias")?.offset ?? -1
        gain = layout.entry(name + ".norm")?.offset ?? -1
        bitLinear = config.bitLinear
        xn = gain >= 0 ? acts.take(n * inFeatures) : -1
        rrms = gain >= 0 ? acts.take(n) : -1
        xq = bitLinear ? acts.take(n * inFeatures) : -1
        qdelta = bitLinear && quantProbe ? acts.take(n * inFeatures) : -1
        adapter = lora?.adapter(for: name)
        let r = lora?.settings.rank ?? 0
        loraH = adapter != nil ? acts.take(n * r) : -1
        loraDH = adapter != nil ? acts.take(n * r) : -1
    }

    /// `out (N, out) = layer(inp (N, in))`.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int, model m: TrainModel) {
        var x = inp
        var w = UnsafePointer(m.params.at(weight))
        if bitLinear {
            if gain >= 0 {
                rmsNormForward(m.acts.at(xn), m.acts.at(rrms), x, m.params.at(gain), n: n, c: inFeatures, eps: m.config.bitLinearNormEps)
                x = UnsafePointer(m.acts.at(xn))
            }
            let q = m.acts.at(xq), d = m.acts.at(qdelta), count = n * inFeatures
            switch m.quantMode {
            case .normal:
                activationQuantForward(q, x, n: n, c: inFeatures)
            case .capture:
                activationQuantForward(q, x, n: n, c: inFeatures)
                for i in 0..<count { d[i] = q[i] - x[i] }
            case .frozen:
                for i in 0..<count { q[i] = x[i] + d[i] }
            }
            x = UnsafePointer(m.acts.at(xq))
            if !m.frozenBase { w = UnsafePointer(m.qweights.at(weight)) }
        }
        let b = bias >= 0 ? UnsafePointer(m.params.at(bias)) : nil
        switch m.arithmetic {
        case .training: matmulForward(out, x, w, b, n: n, inFeatures: inFeatures, outFeatures: outFeatures)
        case .runtime where bitLinear:
            // The runtime quantizes the (normed) input itself and sums exactly: from before the fake quantization.
            let normed = gain >= 0 ? UnsafePointer(m.acts.at(xn)) : inp
            bitLinearForward(out, normed, w, b, n: n, inFeatures: inFeatures, outFeatures: outFeatures)
        case .runtime: floatLinearForward(out, x, w, b, n: n, inFeatures: inFeatures, outFeatures: outFeatures)
        }
        if let a = adapter, let lora = m.lora {
            let r = lora.settings.rank
            switch m.arithmetic {
            case .training:
                loraForward(out, m.acts.at(loraH), inp, lora.params.at(a.a), lora.params.at(a.b), scale: lora.scale,
                            n: n, inFeatures: inFeatures, outFeatures: outFeatures, rank: r)
            case .runtime:
                // The runtime's update (`lm-run --lora`), on the same input.
                LoRAUpdate(a: lora.params.array(a.a, count: r * inFeatures), b: lora.params.array(a.b, count: outFeatures * r),
                           rank: r, inFeatures: inFeatures, outFeatures: outFeatures, coef: lora.scale)
                    .apply(out, ld: outFeatures, inp, ldx: inFeatures, n: n, pool: WorkerPool(threads: 1))
            }
        }
    }

    /// Accumulates the gradients of the weight, bias, gain and of `inp` (into `dinp`) from `dout`.
    func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, n: Int, model m: TrainModel) {
        let frozen = m.frozenBase
        let db = bias >= 0 && !frozen ? m.grads.at(bias) : nil
        let dw = frozen ? nil : m.grads.at(weight)
        if let a = adapter, let lora = m.lora {
            loraBackward(dinp, lora.grads.at(a.a), lora.grads.at(a.b), m.dacts.at(loraDH), dout, m.acts.at(loraH), inp,
                         lora.params.at(a.a), lora.params.at(a.b), scale: lora.scale,
                         n: n, inFeatures: inFeatures, outFeatures: outFeatures, rank: lora.settings.rank)
        }
        guard bitLinear else {
            matmulBackward(dinp, dw, db, dout, inp, m.params.at(weight), n: n, inFeatures: inFeatures, outFeatures: outFeatures)
            return
        }
        // STE: the gradient reaching x̃ is the gradient of its input (the norm output, or inp).
        let dx = gain >= 0 ? m.dacts.at(xn) : dinp
        let w = frozen ? m.params.at(weight) : m.qweights.at(weight)
        matmulBackward(dx, dw, db, dout, m.acts.at(xq), w, n: n, inFeatures: inFeatures, outFeatures: outFeatures)
        if gain >= 0 {
            rmsNormBackward(dinp, frozen ? m.sink.base : m.grads.at(gain), m.dacts.at(xn), inp, m.params.at(gain), m.acts.at(rrms),
                            n: n, c: inFeatures)
        }
    }
}

/// A bump allocator over the activation buffer: each call reserves the next `n` elements.
struct ActivationLayout {
    private(set) var count = 0
    /// Takes the next slots from `offset` again (blocks sharing one set of slots).
    mutating func rewind(to offset: Int) { count = offset }
    mutating func take(_ n: Int) -> Int {
        let o = count
        count += (n + 15) & ~15  // keep every slot 64-byte aligned
        return o
    }
}
