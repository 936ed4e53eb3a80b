import BitGPT
import BitGPTConvert
import FuzzSupport

/// nanoGPT's meta.pkl: the restricted pickle machine with no globals, the char tokenizer built
/// from `itos`, encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetaPkl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = SourceFile(copying: FuzzInput.bytes(data, size), path: "meta.pkl")
    guard let m = try? TokenizerImport.charTokenizer(file, vocabSize: 1 << 16) else { return 0 }
    if let section = try? TokenizerSection(metadata: m) { FuzzInput.exercise(section: section) }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_metapkl_main")
public func fuzz_metapklMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzMetaPkl)
}
