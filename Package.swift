// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target: Swift 5 language mode keeps the raw-pointer kernels
/// free of Sendable ceremony; release builds are -O with whole-module optimization by default.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
]

let package = Package(
    name: "BitGPT",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BitGPT", targets: ["BitGPT"]),
        .executable(name: "lm-inspect", targets: ["lm-inspect"]),
        .executable(name: "lm-init", targets: ["lm-init"]),
        .executable(name: "lm-train", targets: ["lm-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Core library: the .bgpt format, tensors, kernels, model, sampling, tokenizers.
        .target(name: "BitGPT", dependencies: ["CBitGPTKernels"], swiftSettings: swiftSettings),
        // Hot kernels in C with SIMD variants chosen at run time (not API).
        .target(name: "CBitGPTKernels"),
        // Shared pieces of the command-line tools: error reporting, progress line, formatting.
        .target(
            name: "BitGPTCLI",
            dependencies: ["BitGPT", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // OpenBLAS (cblas_sgemm) for the trainer's matrix products.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev", "pkg-config"])]),
        // The trainer: hand-written forward/backward (llm.c style), BitLinear QAT, AdamW, checkpoints.
        .target(name: "BitGPTTrain", dependencies: ["BitGPT", "COpenBLAS"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "lm-train", dependencies: ["BitGPTTrain", "BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-inspect", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "lm-init", dependencies: ["BitGPTCLI"], swiftSettings: swiftSettings),
        // Test fixtures: raw file builders, seeded RNG, closeness checks.
        .target(name: "TestSupport", dependencies: ["BitGPT"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "BitGPTTests", dependencies: ["BitGPT", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainTests", dependencies: ["BitGPTTrain", "BitGPT"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["BitGPT", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
