import BitGPT
import FuzzSupport

/// A SentencePiece ModelProto through the C++ shim (libsentencepiece parses it), then the
/// section round trip through .bgpt metadata, encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSentencePiece(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let t = try? SentencePieceTokenizer(modelProto: FuzzInput.bytes(data, size)) {
        FuzzInput.exercise(t)
        FuzzInput.exercise(section: t.section)
    }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_sentencepiece_main")
public func fuzz_sentencepieceMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzSentencePiece)
}
