import BitGPT
import CBitGPT
#if canImport(Glibc)
import Glibc
#endif

/// The objects behind the C API's opaque handles, and the status mapping.
///
/// A handle is an `Unmanaged` retain of one of these classes. A context retains its model, so a
/// model freed too early is kept alive rather than read after free. Each object keeps its last
/// error message as a C string that stays valid until the next call on it.
class Handle {
    private var message: UnsafeMutablePointer<CChar>?

    /// Records `text` as this handle's last error (and the thread's).
    func fail(_ status: bg_status, _ text: String) -> Int32 {
        free(message)
        message = strdup(text)
        bgpt_capi_set_last_error(text)
        return status.rawValue
    }

    /// The last error, "" if none.
    var lastError: UnsafePointer<CChar> { UnsafePointer(message ?? emptyString) }

    deinit { free(message) }
}

let emptyString: UnsafeMutablePointer<CChar> = strdup("")!

/// A loaded model: the mapped file, the network (nil when loaded validate-only) and the tokenizer.
final class ModelHandle: Handle {
    let file: BGPTFile
    let config: ModelConfig
    let net: Transformer?
    let tokenizer: (any Tokenizer)?

    init(file: BGPTFile, config: ModelConfig, net: Transformer?, tokenizer: (any Tokenizer)?) {
        self.file = file
        self.config = config
        self.net = net
        self.tokenizer = tokenizer
    }
}

/// Decoding state of one sequence.
final class ContextHandle: Handle {
    let model: ModelHandle
    let generator: Generator

    init(model: ModelHandle, net: Transformer, threads: Int) throws {
        self.model = model
        generator = try Generator(model: net, pool: WorkerPool(threads: threads))
    }

    /// Tokens in the sequence so far (0 before the first decode or after reset).
    var position: Int { started ? generator.tokens.count : 0 }
    var started = false
    /// Whether the logits of the last decode are valid.
    var hasLogits = false
}

/// A seeded sampler.
final class SamplerHandle: Handle {
    let options: SamplingOptions
    let seed: UInt64
    /// Built on first use, when the vocabulary size is known.
    var sampler: Sampler?
    /// The vocabulary size `sampler` was built for.
    var vocab = 0

    init(options: SamplingOptions, seed: UInt64) {
        self.options = options
        self.seed = seed
    }
}

func retain(_ h: Handle) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(h).toOpaque()) }

func model(_ p: OpaquePointer?) -> ModelHandle? {
    guard let p else { return nil }
    return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

func context(_ p: OpaquePointer?) -> ContextHandle? {
    guard let p else { return nil }
    return Unmanaged<ContextHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

func sampler(_ p: OpaquePointer?) -> SamplerHandle? {
    guard let p else { return nil }
    return Unmanaged<SamplerHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

/// Records a failure for a call that has no handle (thread-local only).
func failThread(_ status: bg_status, _ text: String) -> Int32 {
    bgpt_capi_set_last_error(text)
    return status.rawValue
}

/// The status for an error thrown while loading.
func loadStatus(_ error: Error) -> bg_status {
    switch error {
    case let e as FormatError:
        if case .io = e { return BG_ERR_IO }
        return BG_ERR_FORMAT
    case is TokenizerError: return BG_ERR_UNSUPPORTED
    case is InferenceError: return BG_ERR_UNSUPPORTED
    default: return BG_ERR_FORMAT
    }
}

/// Checks a params struct's `struct_size` (its first field) against the size this library knows.
func structSizeOK(_ raw: UnsafeRawPointer, expected: UInt32) -> Bool {
    raw.load(as: UInt32.self) == expected
}
