import BitGPT
import CBitGPT
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Contexts

@_cdecl("bg_context_create")
public func capiContextCreate(_ m: OpaquePointer?, _ params: UnsafePointer<bg_context_params>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let h = model(m) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_context_create: model is NULL") }
    guard let out else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_context_create: out is NULL") }
    var threads = 0
    if let params {
        guard structSizeOK(UnsafeRawPointer(params), expected: bgpt_capi_sizeof_context_params()) else {
            return h.fail(BG_ERR_STRUCT_SIZE, "bg_context_create: bg_context_params.struct_size is \(params.pointee.struct_size), expected \(bgpt_capi_sizeof_context_params()) (call bg_context_params_init)")
        }
        threads = Int(params.pointee.n_threads)
        // 0 means all cores; anything else is held to the shared limit.
        if threads != 0, let why = ThreadLimit.problem(threads) { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_context_create: n_threads: \(why)") }
    }
    guard let net = h.net else { return h.fail(BG_ERR_VALIDATE_ONLY, "bg_context_create: the model was loaded with validate_only") }
    do {
        out.pointee = retain(try ContextHandle(model: h, net: net, threads: threads))
    } catch {
        return h.fail(BG_ERR_UNSUPPORTED, "bg_context_create: \(error)")
    }
    return BG_OK.rawValue
}

@_cdecl("bg_context_free")
public func capiContextFree(_ c: OpaquePointer?) {
    guard let c else { return }
    Unmanaged<ContextHandle>.fromOpaque(UnsafeRawPointer(c)).release()
}

@_cdecl("bg_context_reset")
public func capiContextReset(_ c: OpaquePointer?) -> Int32 {
    guard let h = context(c) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_context_reset: context is NULL") }
    h.started = false
    h.hasLogits = false
    return BG_OK.rawValue
}

@_cdecl("bg_context_position")
public func capiContextPosition(_ c: OpaquePointer?, _ position: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let h = context(c) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_context_position: context is NULL") }
    guard let position else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_context_position: position is NULL") }
    position.pointee = h.position
    return BG_OK.rawValue
}

@_cdecl("bg_context_last_error")
public func capiContextLastError(_ c: OpaquePointer?) -> UnsafePointer<CChar> {
    context(c)?.lastError ?? UnsafePointer(emptyString)
}

@_cdecl("bg_decode")
public func capiDecode(_ c: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ n: Int,
                       _ logits: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    guard let h = context(c) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_decode: context is NULL") }
    guard let tokens, let logits else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_decode: tokens or logits is NULL") }
    guard n >= 1 else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_decode: n must be at least 1") }
    let config = h.model.config
    guard n <= config.contextLength - h.position else {
        return h.fail(BG_ERR_CONTEXT_FULL, "bg_decode: \(h.position) + \(n) tokens do not fit the context of \(config.contextLength)")
    }
    var ids: [Int] = []
    ids.reserveCapacity(n)
    for k in 0..<n {
        let id = Int(tokens[k])
        guard id >= 0 && id < config.vocabSize else {
            return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_decode: token \(k) is \(id), outside the vocabulary (size \(config.vocabSize))")
        }
        ids.append(id)
    }
    do {
        if h.started {
            for id in ids { try h.generator.append(id) }
        } else {
            try h.generator.start(prompt: ids)
            h.started = true
        }
    } catch {
        h.hasLogits = false
        return h.fail(BG_ERR_INTERNAL, "bg_decode: \(error)")
    }
    h.hasLogits = true
    logits.pointee = UnsafePointer(h.generator.logits)
    return BG_OK.rawValue
}

// MARK: - Sampling

/// Reads and checks sampler params (NULL = defaults).
private func samplingOptions(_ p: UnsafePointer<bg_sampler_params>?, _ what: String) -> (SamplingOptions, UInt64, bg_status, String)? {
    var d = bg_sampler_params()
    bg_sampler_params_init(&d)
    if let p {
        guard structSizeOK(UnsafeRawPointer(p), expected: bgpt_capi_sizeof_sampler_params()) else {
            return (SamplingOptions(), 0, BG_ERR_STRUCT_SIZE, "\(what): bg_sampler_params.struct_size is \(p.pointee.struct_size), expected \(bgpt_capi_sizeof_sampler_params()) (call bg_sampler_params_init)")
        }
        d = p.pointee
    }
    var o = SamplingOptions()
    guard d.temperature >= 0, d.temperature.isFinite else { return (o, 0, BG_ERR_INVALID_ARGUMENT, "\(what): temperature must be finite and ≥ 0") }
    guard d.top_k >= 0 else { return (o, 0, BG_ERR_INVALID_ARGUMENT, "\(what): top_k must be ≥ 0") }
    guard d.top_p > 0, d.top_p <= 1 else { return (o, 0, BG_ERR_INVALID_ARGUMENT, "\(what): top_p must be in (0, 1]") }
    guard d.min_p >= 0, d.min_p < 1 else { return (o, 0, BG_ERR_INVALID_ARGUMENT, "\(what): min_p must be in [0, 1)") }
    guard d.repeat_penalty > 0, d.repeat_penalty.isFinite else { return (o, 0, BG_ERR_INVALID_ARGUMENT, "\(what): repeat_penalty must be positive") }
    o.temperature = d.temperature
    o.topK = Int(d.top_k)
    o.topP = d.top_p
    o.minP = d.min_p
    o.repeatPenalty = d.repeat_penalty
    return (o, d.seed, BG_OK, "")
}

@_cdecl("bg_sampler_create")
public func capiSamplerCreate(_ params: UnsafePointer<bg_sampler_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_sampler_create: out is NULL") }
    guard let (o, seed, st, msg) = samplingOptions(params, "bg_sampler_create") else { return BG_ERR_INTERNAL.rawValue }
    guard st == BG_OK else { return failThread(st, msg) }
    out.pointee = retain(SamplerHandle(options: o, seed: seed))
    return BG_OK.rawValue
}

@_cdecl("bg_sampler_free")
public func capiSamplerFree(_ s: OpaquePointer?) {
    guard let s else { return }
    Unmanaged<SamplerHandle>.fromOpaque(UnsafeRawPointer(s)).release()
}

@_cdecl("bg_sample")
public func capiSample(_ c: OpaquePointer?, _ s: OpaquePointer?, _ token: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let h = context(c) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_sample: context is NULL") }
    guard let sh = sampler(s), let token else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_sample: sampler or token is NULL") }
    guard h.hasLogits else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_sample: no logits yet (call bg_decode first)") }
    let vocab = h.model.config.vocabSize
    if sh.sampler == nil || sh.vocab != vocab {
        sh.sampler = Sampler(vocabSize: vocab, options: sh.options, seed: sh.seed)
        sh.vocab = vocab
    }
    let next = h.generator.tokens.withUnsafeBufferPointer { sh.sampler!.sample(h.generator.logits, recent: $0) }
    token.pointee = Int32(next)
    return BG_OK.rawValue
}

// MARK: - Generation

@_cdecl("bg_generate")
public func capiGenerate(_ c: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ sampling: UnsafePointer<bg_sampler_params>?,
                         _ params: UnsafePointer<bg_generate_params>?, _ callback: bg_piece_callback?,
                         _ user: UnsafeMutableRawPointer?, _ abortFlag: UnsafePointer<Int32>?) -> Int32 {
    capiGenerateWithResult(c, prompt, sampling, params, callback, user, abortFlag, nil)
}

@_cdecl("bg_generate_with_result")
public func capiGenerateWithResult(_ c: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ sampling: UnsafePointer<bg_sampler_params>?,
                                   _ params: UnsafePointer<bg_generate_params>?, _ callback: bg_piece_callback?,
                                   _ user: UnsafeMutableRawPointer?, _ abortFlag: UnsafePointer<Int32>?,
                                   _ result: UnsafeMutablePointer<bg_generate_result>?) -> Int32 {
    guard let h = context(c) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_generate: context is NULL") }
    if let result {
        guard structSizeOK(UnsafeRawPointer(result), expected: bgpt_capi_sizeof_generate_result()) else {
            return h.fail(BG_ERR_STRUCT_SIZE, "bg_generate: bg_generate_result.struct_size is \(result.pointee.struct_size), expected \(bgpt_capi_sizeof_generate_result()) (call bg_generate_result_init)")
        }
    }
    var report = bg_generate_result()
    report.struct_size = bgpt_capi_sizeof_generate_result()
    report.stop_reason = Int32(BG_STOP_NONE.rawValue)
    defer { result?.pointee = report }
    guard let prompt else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_generate: prompt is NULL") }
    guard let (options, seed, st, msg) = samplingOptions(sampling, "bg_generate") else { return BG_ERR_INTERNAL.rawValue }
    guard st == BG_OK else { return h.fail(st, msg) }
    var g = bg_generate_params()
    bg_generate_params_init(&g)
    if let params {
        guard structSizeOK(UnsafeRawPointer(params), expected: bgpt_capi_sizeof_generate_params()) else {
            return h.fail(BG_ERR_STRUCT_SIZE, "bg_generate: bg_generate_params.struct_size is \(params.pointee.struct_size), expected \(bgpt_capi_sizeof_generate_params()) (call bg_generate_params_init)")
        }
        g = params.pointee
    }
    guard g.max_new_tokens >= 0 else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_generate: max_new_tokens must be ≥ 0") }
    guard let tok = h.model.tokenizer else { return h.fail(BG_ERR_UNSUPPORTED, "bg_generate: the model has no tokenizer") }
    let flag = abortFlag.map { UnsafeRawPointer($0) }
    func aborted() -> Bool { bgpt_capi_read_flag(flag?.assumingMemoryBound(to: Int32.self)) != 0 }
    if aborted() {
        report.stop_reason = Int32(BG_STOP_ABORTED.rawValue)
        return h.fail(BG_ERR_ABORTED, "bg_generate: aborted")
    }

    let config = h.model.config
    let text = TextGeneration(tokenizer: tok, printSpecial: g.print_special, ignoreEos: g.ignore_eos)
    let ids: [Int]
    do {
        let bytes = UnsafeRawBufferPointer(start: prompt, count: strlen(prompt))
        ids = try text.promptIds(try UTF8Input.text(bytes), vocabSize: config.vocabSize, contextLength: config.contextLength).ids
    } catch { return h.fail(BG_ERR_TOKENIZER, "bg_generate: the prompt: \(error)") }
    let s = Sampler(vocabSize: config.vocabSize, options: options, seed: seed)
    h.started = false
    h.hasLogits = false
    do {
        report.n_prompt_tokens = Int32(ids.count)
        let run = try text.run(h.generator, prompt: ids, maxNewTokens: Int(g.max_new_tokens), sampler: s) { piece in
            if aborted() { return false }
            var bytes = Array(piece.utf8)
            let stop = bytes.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { bgpt_capi_call_piece(callback, $0, b.count, user) }
            }
            return stop == 0
        }
        h.started = true
        h.hasLogits = true
        report.n_generated = Int32(run.drawn)
        report.stop_reason = Int32((run.stopped ? BG_STOP_ABORTED : run.eos ? BG_STOP_EOS : BG_STOP_MAX_TOKENS).rawValue)
        if run.stopped { return h.fail(BG_ERR_ABORTED, "bg_generate: stopped by the abort flag or the callback") }
    } catch {
        return h.fail(BG_ERR_INTERNAL, "bg_generate: \(error)")
    }
    return BG_OK.rawValue
}
