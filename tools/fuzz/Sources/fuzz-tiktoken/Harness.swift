import BitGPT
import FuzzSupport

/// A .tiktoken rank file, then encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTiktoken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.file("fuzz.tiktoken", FuzzInput.bytes(data, size))
    if let s = try? TokenizerFiles.load([path]) { FuzzInput.exercise(section: s) }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_tiktoken_main")
public func fuzz_tiktokenMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzTiktoken)
}
