// swift-tools-version:6.0
// Fuzz targets for every file reader, built apart from the main package (with libFuzzer and
// AddressSanitizer) by Scripts/fuzz.sh. Each target is one LLVMFuzzerTestOneInput.
import PackageDescription

let package = Package(
    name: "swift-gpt-fuzz",
    dependencies: [.package(name: "swift-gpt", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzSafetensors", dependencies: [.product(name: "GPTFormats", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzGGUF", dependencies: [.product(name: "GPTFormats", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzGGUFModel", dependencies: [.product(name: "GPTModel", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzTokenFile", dependencies: [.product(name: "GPTFormats", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzTokenizerFiles", dependencies: [.product(name: "GPTTokenizer", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzWordVectors", dependencies: [.product(name: "GPTEmbeddings", package: "swift-gpt")]),
        .executableTarget(
            name: "FuzzConfiguration",
            dependencies: [
                .product(name: "GPTModel", package: "swift-gpt"), .product(name: "GPTTraining", package: "swift-gpt"),
            ]),
    ]
)
