// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer harnesses for every parser of BitGPT (issue 9, "Hardening").
///
/// Build only through `tools/fuzz/run.sh`, which passes `-sanitize=fuzzer,address`; each harness
/// defines `LLVMFuzzerTestOneInput` and gets its `main` from libFuzzer.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .unsafeFlags(["-parse-as-library"]),
]

/// The harnesses: (executable name, what it reads).
let harnesses = [
    "fuzz-bgpt",            // .bgpt: open, verify, config, tokenizer section, tensors, Transformer
    "fuzz-safetensors",     // safetensors reader + checkpoint mapping + tensor decoding
    "fuzz-torchzip",        // PyTorch ZIP + restricted pickle + mapping
    "fuzz-pickle",          // the restricted pickle machine alone
    "fuzz-llama2c",         // llama2.c .bin v0/v1/v2
    "fuzz-tokenizer-json",  // Hugging Face tokenizer.json
    "fuzz-gpt2-bpe",        // encoder.json NUL vocab.bpe
    "fuzz-tiktoken",        // .tiktoken rank files
    "fuzz-sentencepiece",   // SentencePiece ModelProto through the C++ shim
    "fuzz-metapkl",         // nanoGPT meta.pkl
]

let package = Package(
    name: "BitGPTFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "BitGPT", path: "../..")],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver declaration.
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: ["CLibFuzzer", .product(name: "BitGPT", package: "BitGPT"), .product(name: "BitGPTConvert", package: "BitGPT")],
            swiftSettings: swiftSettings),
    ] + harnesses.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport"], swiftSettings: swiftSettings)
    }
)
