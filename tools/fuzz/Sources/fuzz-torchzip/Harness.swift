import BitGPTConvert
import FuzzSupport

/// PyTorch .pt: the ZIP reader, the restricted pickle machine over `data.pkl`, tensor records,
/// then lm-convert's mapping and tensor decoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = SourceFile(copying: FuzzInput.bytes(data, size), path: "fuzz.pt")
    if let archive = try? ZipArchive(file) {
        for e in archive.entries.prefix(64) { _ = ZipArchive.crc32(archive.data(e, in: file)) }
    }
    if let t = try? TorchCheckpoint(file: file) {
        _ = t.root.description
        _ = t.hyperParameters
        FuzzInput.exercise(checkpoint: t, salt: size)
    }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_torchzip_main")
public func fuzz_torchzipMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzTorchZip)
}
