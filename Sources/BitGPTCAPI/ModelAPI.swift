import BitGPT
import BitGPTConvert
import CBitGPT
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Version

private let versionString: UnsafeMutablePointer<CChar> = strdup(BitGPTVersion.string)!

@_cdecl("bg_version")
public func capiVersion() -> UnsafePointer<CChar> { UnsafePointer(versionString) }

// MARK: - Loading

/// Opens, validates and (unless validate-only) prepares a model from `storage`.
private func load(_ makeFile: () throws -> BGPTFile, _ params: UnsafePointer<bg_model_params>?,
                  _ out: UnsafeMutablePointer<OpaquePointer?>?, what: String) -> Int32 {
    guard let out else { return failThread(BG_ERR_INVALID_ARGUMENT, "\(what): out is NULL") }
    var validateOnly = false, verify = false
    if let params {
        guard structSizeOK(UnsafeRawPointer(params), expected: bgpt_capi_sizeof_model_params()) else {
            return failThread(BG_ERR_STRUCT_SIZE, "\(what): bg_model_params.struct_size is \(params.pointee.struct_size), expected \(bgpt_capi_sizeof_model_params()) (call bg_model_params_init)")
        }
        validateOnly = params.pointee.validate_only
        verify = params.pointee.verify_checksums
    }
    do {
        let file = try makeFile()
        if verify || validateOnly { try file.verify() }
        let config = try ModelConfig(metadata: file.metadata)
        try config.checkTensors(in: file)
        let tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: config.vocabSize)
        let net = validateOnly ? nil : try Transformer(file: file)
        out.pointee = retain(ModelHandle(file: file, config: config, net: net, tokenizer: tokenizer))
        return BG_OK.rawValue
    } catch {
        return failThread(loadStatus(error), "\(what): \(error)")
    }
}

@_cdecl("bg_model_load")
public func capiModelLoad(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<bg_model_params>?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let path else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_model_load: path is NULL") }
    let p = String(cString: path)
    return load({ try BGPTFile(path: p) }, params, out, what: p)
}

@_cdecl("bg_model_load_from_memory")
public func capiModelLoadFromMemory(_ data: UnsafeRawPointer?, _ size: Int, _ params: UnsafePointer<bg_model_params>?,
                                    _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let data else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_model_load_from_memory: data is NULL") }
    guard size >= 0 else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_model_load_from_memory: bad size") }
    return load({ try BGPTFile(bytes: UnsafeRawBufferPointer(start: data, count: size)) }, params, out, what: "(memory)")
}

@_cdecl("bg_model_load_lora")
public func capiModelLoadLoRA(_ m: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ scale: Float) -> Int32 {
    guard let h = model(m) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_model_load_lora: model is NULL") }
    guard let path else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_model_load_lora: path is NULL") }
    guard scale.isFinite else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_model_load_lora: scale \(scale) is not a finite number") }
    guard let net = h.net else { return h.fail(BG_ERR_VALIDATE_ONLY, "bg_model_load_lora: the model was loaded with validate_only") }
    let p = String(cString: path)
    do {
        try LoRAAdapterFile.apply([LoRASpec(path: p, scale: scale)], to: net)
        return BG_OK.rawValue
    } catch let e as LoRAError {
        var inner = e
        if case let .file(_, x) = e { inner = x }
        if case .invalid = inner { return h.fail(BG_ERR_FORMAT, "bg_model_load_lora: \(e)") }
        return h.fail(BG_ERR_UNSUPPORTED, "bg_model_load_lora: \(e)")
    } catch {
        return h.fail(BG_ERR_FORMAT, "bg_model_load_lora: \(p): \(error)")
    }
}

@_cdecl("bg_model_free")
public func capiModelFree(_ m: OpaquePointer?) {
    guard let m else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(m)).release()
}

@_cdecl("bg_model_last_error")
public func capiModelLastError(_ m: OpaquePointer?) -> UnsafePointer<CChar> {
    model(m)?.lastError ?? UnsafePointer(emptyString)
}

@_cdecl("bg_model_get_info")
public func capiModelGetInfo(_ m: OpaquePointer?, _ info: UnsafeMutablePointer<bg_model_info>?) -> Int32 {
    guard let h = model(m) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_model_get_info: model is NULL") }
    guard let info else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_model_get_info: info is NULL") }
    guard structSizeOK(UnsafeRawPointer(info), expected: bgpt_capi_sizeof_model_info()) else {
        return h.fail(BG_ERR_STRUCT_SIZE, "bg_model_get_info: bg_model_info.struct_size is \(info.pointee.struct_size), expected \(bgpt_capi_sizeof_model_info())")
    }
    let c = h.config
    var i = bg_model_info()
    i.struct_size = bgpt_capi_sizeof_model_info()
    withUnsafeMutableBytes(of: &i.architecture) { buf in
        let name = Array(c.architecture.rawValue.utf8.prefix(buf.count - 1))
        for (k, b) in name.enumerated() { buf[k] = b }
        buf[name.count] = 0
    }
    i.vocab_size = Int32(c.vocabSize)
    i.context_length = Int32(c.contextLength)
    i.dim = Int32(c.dim)
    i.n_layers = Int32(c.nLayers)
    i.n_heads = Int32(c.nHeads)
    i.n_kv_heads = Int32(c.nKVHeads)
    i.hidden_dim = Int32(c.hiddenDim)
    i.n_params = UInt64(h.file.tensors.reduce(0) { $0 + $1.elementCount })
    i.file_size = UInt64(h.file.fileSize)
    i.bos_token = Int32(h.tokenizer?.special.bos ?? -1)
    i.eos_token = Int32(h.tokenizer?.special.eos ?? -1)
    info.pointee = i
    return BG_OK.rawValue
}

// MARK: - Tokenizer

@_cdecl("bg_tokenize")
public func capiTokenize(_ m: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ len: Int, _ tokens: UnsafeMutablePointer<Int32>?,
                         _ capacity: Int, _ nTokens: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let h = model(m) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_tokenize: model is NULL") }
    guard let text, let nTokens, len >= 0 else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_tokenize: text or n_tokens is NULL") }
    guard tokens != nil || capacity == 0 else {
        return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_tokenize: tokens is NULL but capacity is \(capacity) (pass 0 to ask for the count)")
    }
    guard let tok = h.tokenizer else { return h.fail(BG_ERR_UNSUPPORTED, "bg_tokenize: the model has no tokenizer") }
    let ids: [Int]
    do { ids = try tok.encode(try UTF8Input.text(UnsafeRawBufferPointer(start: text, count: len))) }
    catch { return h.fail(BG_ERR_TOKENIZER, "bg_tokenize: \(error)") }
    nTokens.pointee = ids.count
    guard capacity >= ids.count else { return h.fail(BG_ERR_BUFFER_TOO_SMALL, "bg_tokenize: \(ids.count) tokens do not fit in \(capacity)") }
    for (k, id) in ids.enumerated() { tokens![k] = Int32(id) }
    return BG_OK.rawValue
}

@_cdecl("bg_detokenize")
public func capiDetokenize(_ m: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ n: Int, _ buf: UnsafeMutablePointer<CChar>?,
                           _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let h = model(m) else { return failThread(BG_ERR_INVALID_ARGUMENT, "bg_detokenize: model is NULL") }
    guard let needed, n >= 0, n == 0 || tokens != nil else { return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_detokenize: tokens or needed is NULL") }
    guard buf != nil || capacity == 0 else {
        return h.fail(BG_ERR_INVALID_ARGUMENT, "bg_detokenize: buf is NULL but capacity is \(capacity) (pass 0 to ask for the size)")
    }
    guard let tok = h.tokenizer else { return h.fail(BG_ERR_UNSUPPORTED, "bg_detokenize: the model has no tokenizer") }
    var bytes: [UInt8] = []
    for k in 0..<n {
        do { bytes += try tok.tokenBytes(Int(tokens![k])) } catch { return h.fail(BG_ERR_TOKENIZER, "bg_detokenize: \(error)") }
    }
    let text = Array(String(decoding: bytes, as: UTF8.self).utf8)
    needed.pointee = text.count + 1
    guard let buf, capacity >= text.count + 1 else {
        return h.fail(BG_ERR_BUFFER_TOO_SMALL, "bg_detokenize: \(text.count + 1) bytes needed, buffer has \(capacity)")
    }
    for (k, b) in text.enumerated() { buf[k] = CChar(bitPattern: b) }
    buf[text.count] = 0
    return BG_OK.rawValue
}
