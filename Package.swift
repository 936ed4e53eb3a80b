// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target: Swift 5 language mode keeps the raw-pointer kernels
/// free of Sendable ceremony; release builds are -O with whole-module optimization by default.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
]

/// The HTTP server (`lm-serve`, issue 17) is on unless `BITGPT_NO_SERVER=1` is set. Hummingbird and
/// SwiftNIO add minutes to every build, so the builds that do not need the server leave it out:
/// tools/test-sanitizers.sh (the whole package under ASan and TSan) and tools/fuzz/run.sh (a separate
/// package over this one). The plain `swift build` and `swift test` build and test the server.
let withServer = Context.environment["BITGPT_NO_SERVER"] != "1"

let package = Package(
    name: "BitGPT",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BitGPT", targets: ["BitGPT"]),
        // The checkpoint readers, for tools/fuzz (a separate package) and other tools.
        .library(name: "BitGPTConvert", targets: ["BitGPTConvert"]),
        // libbitgpt.so: the C API (header Sources/CBitGPT/include/bitgpt.h).
        .library(name: "bitgpt", type: .dynamic, targets: ["BitGPTCAPI"]),
        .executable(name: "lm-run", targets: ["lm-run"]),
        .executable(name: "lm-inspect", targets: ["lm-inspect"]),
        .executable(name: "lm-init", targets: ["lm-init"]),
        .executable(name: "lm-tokenize", targets: ["lm-tokenize"]),
        .executable(name: "lm-convert", targets: ["lm-convert"]),
        .executable(name: "lm-quantize", targets: ["lm-quantize"]),
        .executable(name: "lm-diff", targets: ["lm-diff"]),
        .executable(name: "lm-perplexity", targets: ["lm-perplexity"]),
        .executable(name: "lm-bench", targets: ["lm-bench"]),
        .executable(name: "kernel-bench", targets: ["kernel-bench"]),
        .executable(name: "lm-train", targets: ["lm-train"]),
    ] + (withServer ? [.executable(name: "lm-serve", targets: ["lm-serve"])] : []),
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ] + (withServer ? serverPackages : []),
    targets: [
        // MARK: Core library: the .bgpt format, tensors, kernels, model, sampling, tokenizers.
        .target(name: "BitGPT", dependencies: ["CBitGPTKernels", "CSentencePieceShim"], swiftSettings: swiftSettings),
        // Hot kernels in C with SIMD variants chosen at run time (not API).
        .target(name: "CBitGPTKernels"),
        // libsentencepiece from the system (Debian: libsentencepiece-dev; headers in /usr/include).
        // No pkgConfig: sentencepiece.pc also names libsentencepiece_train, which only the trainer needs.
        .systemLibrary(name: "CSentencePiece", providers: [.apt(["libsentencepiece-dev"])]),
        // extern "C" shim over the SentencePiece C++ API: opaque handle, status codes, no exceptions escape.
        .target(name: "CSentencePieceShim", dependencies: ["CSentencePiece"], linkerSettings: [.linkedLibrary("sentencepiece")]),

        // MARK: Libraries over the core.
        // Checkpoint readers (PyTorch ZIP + restricted pickle, safetensors, llama2.c), family mappings, quantize, diff.
        .target(name: "BitGPTConvert", dependencies: ["BitGPT"], swiftSettings: swiftSettings),
        // The C API: bitgpt.h and its plain-C parts, and the @_cdecl Swift functions behind it.
        .target(name: "CBitGPT"),
        .target(name: "BitGPTCAPI", dependencies: ["BitGPT", "BitGPTConvert", "CBitGPT"], swiftSettings: swiftSettings),
        // Shared pieces of the command-line tools: error reporting, progress line, formatting.
        .target(
            name: "BitGPTCLI",
            dependencies: ["BitGPT", "CBitGPTKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // OpenBLAS (cblas_sgemm) for the trainer's matrix products.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev", "pkg-config"])]),
        // Open MPI (Debian: libopenmpi-dev), for data-parallel training under mpirun; shim.h wraps
        // the handles Swift cannot import (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM are macros).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // SIGINT/SIGTERM as a polled stop request (an async-signal-safe handler in C), for lm-train.
        .target(name: "CStopSignals"),
        // libsentencepiece_train (SentencePiece's trainer) and the extern "C" shim over it, for lm-train's
        // tokenizer training; apart from the core so libbitgpt.so does not need the library.
        .systemLibrary(name: "CSentencePieceTrain", providers: [.apt(["libsentencepiece-dev"])]),
        .target(name: "CSentencePieceTrainShim", dependencies: ["CSentencePieceShim", "CSentencePieceTrain"],
                linkerSettings: [.linkedLibrary("sentencepiece_train")]),
        // The trainer: hand-written forward/backward (llm.c style), BitLinear QAT, AdamW, checkpoints,
        // tokenizer training (byte-level BPE, SentencePiece).
        .target(name: "BitGPTTrain", dependencies: ["BitGPT", "BitGPTConvert", "COpenBLAS", "CMPI", "CStopSignals",
                                                    "CSentencePieceShim", "CSentencePieceTrainShim"],
                swiftSettings: swiftSettings),

        // MARK: Executables: parse arguments, call a library.
        .executableTarget(name: "lm-run", dependencies: ["BitGPTCLI", "BitGPTConvert"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-train", dependencies: ["BitGPTTrain", "BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-inspect", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-init", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-tokenize", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-convert", dependencies: ["BitGPTCLI", "BitGPTConvert", "BitGPTTrain"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-quantize", dependencies: ["BitGPTCLI", "BitGPTConvert"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-diff", dependencies: ["BitGPTCLI", "BitGPTConvert"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-bench", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-perplexity", dependencies: ["BitGPTCLI", "BitGPTConvert"], swiftSettings: swiftSettings),
        // Kernel benchmark: GB/s and GOP/s of every kernel variant on model-sized shapes.
        .executableTarget(
            name: "kernel-bench",
            dependencies: ["CBitGPTKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // MARK: Tests.
        // Test fixtures: raw file builders, seeded RNG, closeness checks.
        .target(name: "TestSupport", dependencies: ["BitGPT"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "BitGPTTests", dependencies: ["BitGPT", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KernelTests", dependencies: ["CBitGPTKernels"], swiftSettings: swiftSettings),
        .testTarget(name: "RuntimeTests", dependencies: ["BitGPT", "BitGPTConvert", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["BitGPT", "BitGPTCLI", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ConvertTests", dependencies: ["BitGPTConvert", "TestSupport"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainTests", dependencies: ["BitGPTTrain", "BitGPT", "BitGPTConvert", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["BitGPT", "BitGPTCAPI", "BitGPTConvert", "BitGPTCLI", "CBitGPT", "TestSupport"], swiftSettings: swiftSettings),
    ] + (withServer ? serverTargets : []),
    cxxLanguageStandard: .cxx17
)

// MARK: The HTTP server (left out under BITGPT_NO_SERVER=1, see `withServer`).

var serverPackages: [Package.Dependency] {
    [
        // No default traits: swift-configuration support is not used and would add to the build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ]
}

var serverTargets: [Target] {
    [
        // The OpenAI-compatible HTTP server: routes, request validation, the scheduler that owns the
        // BatchDecoder on one thread, streaming detokenization and stop strings, metrics.
        .target(
            name: "BitGPTServe",
            dependencies: [
                "BitGPT",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(name: "lm-serve", dependencies: ["BitGPTServe", "BitGPTCLI", "BitGPTConvert"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ServeTests",
            dependencies: ["BitGPTServe", "BitGPT", "TestSupport"],
            swiftSettings: swiftSettings),
    ]
}
