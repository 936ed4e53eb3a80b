import BitGPT
import FuzzSupport

/// Hugging Face tokenizer.json through ``TokenizerFiles/load(_:)`` (the lm-tokenize and
/// lm-convert --tokenizer path), then encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.file("tokenizer.json", FuzzInput.bytes(data, size))
    if let s = try? TokenizerFiles.load([path]) { FuzzInput.exercise(section: s) }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_tokenizer_json_main")
public func fuzz_tokenizer_jsonMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzTokenizerJSON)
}
