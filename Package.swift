// swift-tools-version:6.0
import PackageDescription

// Layers (dependencies point down only), as in docs/architecture.md:
//   gpt (executable) → GPTServer, GPTTraining, GPTGeneration, GPTEmbeddings, GPTVisualization
//   GPTServer (Hummingbird) → GPTGeneration, GPTVisualization
//   GPTTraining, GPTGeneration → GPTModel → GPTFormats, GPTTokenizer → GPTTensor → CBLAS, CKernels
//   C kernels by concept, each compiled at every instruction level: CKernels (elementwise, attention,
//   decode; the level machinery), CQuantized (ggml's weight formats and their products, GPTTensor), COptimizers (GPTTraining), CTSNE (GPTVisualization), CProbe (the
//   benchmarks' bandwidth probe, GPTTensor); CWord2Vec (GPTEmbeddings); CMPI (Open MPI loaded at run time, GPTTraining).
let package = Package(
    name: "swift-gpt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gpt", targets: ["gpt"]),
        .library(name: "GPTTensor", targets: ["GPTTensor"]),
        .library(name: "GPTFormats", targets: ["GPTFormats"]),
        .library(name: "GPTTokenizer", targets: ["GPTTokenizer"]),
        .library(name: "GPTModel", targets: ["GPTModel"]),
        .library(name: "GPTTraining", targets: ["GPTTraining"]),
        .library(name: "GPTGeneration", targets: ["GPTGeneration"]),
        .library(name: "GPTEmbeddings", targets: ["GPTEmbeddings"]),
        .library(name: "GPTVisualization", targets: ["GPTVisualization"]),
        .library(name: "GPTServer", targets: ["GPTServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        // OpenBLAS from Debian's libopenblas-dev (Linux); macOS uses Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "pkg-config"])]
        ),
        // Fused kernels in C, each compiled for baseline / AVX2 / AVX-512 and reached through a table per
        // level (gpt_levels.h): the best level is picked at run time, a lower one on request. No unsafe flags.
        .target(name: "CKernels"),
        .target(name: "COptimizers", dependencies: ["CKernels"]),
        .target(name: "CTSNE", dependencies: ["CKernels"]),
        .target(name: "CProbe", dependencies: ["CKernels"]),
        .target(name: "CWord2Vec"),
        // Open MPI, opened at run time only under mpirun (no MPI is needed to build or run otherwise).
        .target(name: "CMPI"),
        // ggml's block formats (bit for bit) and the products over them, at every level.
        .target(name: "CQuantized", dependencies: ["CKernels"]),
        .target(
            name: "GPTTensor",
            dependencies: [
                "CKernels", "CProbe", "CQuantized",
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
            ]
        ),
        .target(name: "GPTFormats", dependencies: ["GPTTensor"]),
        .target(name: "GPTTokenizer", dependencies: ["GPTTensor"]),
        .target(name: "GPTModel", dependencies: ["GPTTensor", "GPTFormats", "GPTTokenizer"]),
        .target(name: "GPTGeneration", dependencies: ["GPTModel", "GPTTokenizer", "GPTTensor"]),
        .target(name: "GPTEmbeddings", dependencies: ["CWord2Vec", "GPTTensor", "GPTFormats"]),
        .target(name: "GPTVisualization", dependencies: ["GPTTensor", "CTSNE"]),
        .target(name: "GPTTraining", dependencies: ["GPTModel", "GPTTensor", "GPTFormats", "GPTTokenizer", "COptimizers", "CMPI"]),
        // The OpenAI-compatible HTTP server over the continuous-batching scheduler.
        .target(
            name: "GPTServer",
            dependencies: [
                "GPTGeneration", "GPTVisualization",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "gpt",
            dependencies: [
                "GPTTraining",
                "GPTGeneration",
                "GPTEmbeddings",
                "GPTVisualization",
                "GPTServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "GPTTestSupport", dependencies: ["GPTTensor", "GPTModel"]),
        .testTarget(name: "GPTTensorTests", dependencies: ["GPTTensor", "GPTTestSupport"]),
        .testTarget(name: "GPTFormatsTests", dependencies: ["GPTFormats", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GPTTokenizerTests", dependencies: ["GPTTokenizer", "GPTFormats", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GPTModelTests", dependencies: ["GPTModel", "GPTFormats", "GPTTokenizer", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GPTTrainingTests", dependencies: ["GPTTraining", "GPTTokenizer", "GPTTestSupport"]),
        .testTarget(name: "GPTEmbeddingsTests", dependencies: ["GPTEmbeddings", "CWord2Vec", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GPTVisualizationTests", dependencies: ["GPTVisualization", "GPTTensor", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GPTGenerationTests", dependencies: ["GPTGeneration", "GPTTraining", "GPTTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "GPTServerTests",
            dependencies: ["GPTServer", "GPTTestSupport"]
        ),
        .testTarget(name: "GPTCommandTests", dependencies: ["gpt", "GPTModel", "GPTFormats", "GPTTensor", "GPTTraining", "GPTTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
