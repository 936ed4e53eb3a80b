import BitGPTConvert
import FuzzSupport

/// The restricted pickle machine alone, with a storage table like a checkpoint's.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    bytes.withUnsafeBytes { raw in
        let machine = PickleMachine(bytes: raw, storages: ["0": 64, "1": 4096])
        if let v = try? machine.run() {
            _ = v.description
            _ = v.items
            _ = v["model_args"]
        }
    }
    return 0
}

/// `main` of debug builds (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("fuzz_pickle_main")
public func fuzz_pickleMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzPickle)
}
