import BitGPTConvert
import FuzzSupport

/// llama2.c .bin (v0 header-only, v1/v2 `ak42`), then lm-convert's mapping and decoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLlama2c(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = SourceFile(copying: FuzzInput.bytes(data, size), path: "fuzz.bin")
    if let l = try? Llama2cFile(file: file) { FuzzInput.exercise(checkpoint: l, salt: size) }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_llama2c_main")
public func fuzz_llama2cMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzLlama2c)
}
