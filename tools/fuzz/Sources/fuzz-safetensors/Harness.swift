import BitGPTConvert
import FuzzSupport

/// safetensors: the reader (8-byte length, JSON header, tensor table), then lm-convert's mapping
/// and tensor decoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = SourceFile(copying: FuzzInput.bytes(data, size), path: "fuzz.safetensors")
    if let s = try? SafetensorsFile(file: file) {
        _ = s.hyperParameters
        FuzzInput.exercise(checkpoint: s, salt: size)
    }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_safetensors_main")
public func fuzz_safetensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzSafetensors)
}
