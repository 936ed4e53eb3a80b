import BitGPT
import FuzzSupport

/// .bgpt: the path of lm-inspect --verify and lm-run. Each input is tried as given and with its
/// header repaired (data_offset, data_size and header checksum recomputed, padding zeroed), so
/// mutations reach the metadata and tensor table instead of stopping at the checksum.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBGPT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    check(bytes)
    if let repaired = repair(bytes) { check(repaired) }
    return 0
}

/// Recomputes the fields of the fixed header that a mutation almost always breaks.
func repair(_ input: [UInt8]) -> [UInt8]? {
    guard input.count >= BGPTLayout.fixedHeaderSize else { return nil }
    var b = input
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
    func set(_ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    let align = UInt64(b[12]) | UInt64(b[13]) << 8 | UInt64(b[14]) << 16 | UInt64(b[15]) << 24
    guard align >= 8, align <= 65_536, align & (align - 1) == 0 else { return nil }
    let headerSize = u64(32)
    guard headerSize >= 64, headerSize <= UInt64(b.count), let dataOffset = alignUp(headerSize, align),
          dataOffset <= UInt64(b.count) else { return nil }
    set(40, dataOffset)
    set(48, UInt64(b.count) - dataOffset)
    for i in Int(headerSize)..<Int(dataOffset) { b[i] = 0 }
    let sum = b.withUnsafeBytes { BGPTFile.headerChecksum(UnsafeRawBufferPointer(rebasing: $0[0..<Int(headerSize)])) }
    set(56, sum)
    return b
}

func check(_ bytes: [UInt8]) {
    guard let file = try? BGPTFile(bytes: bytes) else { return }
    _ = try? file.verify()
    for t in file.tensors where t.rows * t.cols <= 1 << 16 {
        let v = file.view(t)
        if (try? v.validateCodes()) != nil {
            _ = v.dequantized()
            _ = v.ternaryValues()
        }
    }
    let vocab = file.metadata["model.vocab_size"]?.integer
    if let section = try? TokenizerSection(metadata: file.metadata, vocabSize: vocab) {
        FuzzInput.exercise(section: section)
        if let tok = try? TokenizerFactory.make(metadata: file.metadata, vocabSize: vocab ?? section.definedCount) { FuzzInput.exercise(tok) }
    }
    guard let config = try? ModelConfig(metadata: file.metadata) else { return }
    _ = config.tensorSpecs
    guard let model = try? Transformer(file: file) else { return }
    _ = model.linears
    // One forward pass for tiny models (the lm-run path); bigger ones only load.
    let c = model.config
    guard c.dim * c.nLayers * min(c.contextLength, 64) <= 1 << 16, c.vocabSize * c.dim <= 1 << 18 else { return }
    let pool = WorkerPool(threads: 1)
    guard let gen = try? Generator(model: model, pool: pool, maxBatch: 4) else { return }
    _ = try? gen.start(prompt: [0, c.vocabSize - 1])
    _ = try? gen.append(c.vocabSize / 2)
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_bgpt_main")
public func fuzz_bgptMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzBGPT)
}
