import BitGPT
import FuzzSupport

/// GPT-2's encoder.json and vocab.bpe, given as one input split at its first NUL byte.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGPT2BPE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (encoder, vocab) = FuzzInput.split(FuzzInput.bytes(data, size))
    let e = FuzzInput.file("encoder.json", encoder), v = FuzzInput.file("vocab.bpe", vocab)
    if let s = try? TokenizerFiles.load([e, v]) { FuzzInput.exercise(section: s) }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_gpt2_bpe_main")
public func fuzz_gpt2_bpeMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzGPT2BPE)
}
