// swift-tools-version:6.0
// SwiftAdapters: parameter-efficient fine-tuning of pre-trained transformer encoders, natively in Swift.
//
// Layering (see README.md, "Architecture"): CBLAS → Kernels → Encoders; Kernels → ModelIO;
// Tokenizers stands alone (no BLAS); Inference joins them; the `adapters` CLI only maps flags to
// library configuration.
//
// Language mode 5: the kernels hand raw pointers to parallel-loop bodies that write disjoint ranges; Swift 6 mode would reject those captures as non-Sendable although they are
// race-free by construction. All targets build warning-free in this mode.
import Foundation
import PackageDescription

#if os(Linux)
let blasDependency: [Target.Dependency] = ["CBLAS"]
let blasTargets: [Target] = [
    .systemLibrary(
        name: "CBLAS",
        pkgConfig: "openblas",
        providers: [.apt(["libopenblas-dev"])]
    )
]
let blasSettings: [LinkerSetting] = []
#else
let blasDependency: [Target.Dependency] = []
let blasTargets: [Target] = []
let blasSettings: [LinkerSetting] = [.linkedFramework("Accelerate")]
#endif

// Data-parallel training over MPI (OpenMPI's `ompi-c`): built when its pkg-config file is installed
// (scripts/setup.sh installs it on Debian), left out otherwise — the `DistributedTraining` target then
// builds without it and `train --distributed` says so. SWIFTADAPTERS_NO_MPI=1 builds without it anyway.
let mpiAvailable: Bool = {
    let env = ProcessInfo.processInfo.environment
    if env["SWIFTADAPTERS_NO_MPI"] != nil { return false }
    let dirs =
        (env["PKG_CONFIG_PATH"] ?? "").split(separator: ":").map(String.init) + [
            "/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig", "/usr/lib64/pkgconfig",
            "/usr/lib/pkgconfig", "/usr/local/lib/pkgconfig", "/usr/share/pkgconfig", "/opt/homebrew/lib/pkgconfig",
        ]
    return dirs.contains { FileManager.default.fileExists(atPath: $0 + "/ompi-c.pc") }
}()
let mpiTargets: [Target] =
    mpiAvailable
    ? [
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]),
        .target(name: "CMPIBridge", dependencies: ["CMPI"]),
    ] : []
let distributedTraining: Target = .target(
    name: "DistributedTraining",
    dependencies: ["Training"] + (mpiAvailable ? ["CMPIBridge"] : []),
    swiftSettings: mpiAvailable ? [.define("SWIFTADAPTERS_MPI")] : []
)

// bf16 GEMMs through oneDNN (`libdnnl-dev`, found by its header; scripts/setup.sh installs it on Debian):
// CDNNLBridge is built with it when present and reports "unavailable" otherwise, so the project builds
// and its fp32 paths run everywhere; `--precision bf16` then says what is missing.
// SWIFTADAPTERS_NO_DNNL=1 builds without it anyway.
let dnnlAvailable: Bool = {
    let env = ProcessInfo.processInfo.environment
    if env["SWIFTADAPTERS_NO_DNNL"] != nil { return false }
    return ["/usr/include/oneapi/dnnl/dnnl.h", "/usr/local/include/oneapi/dnnl/dnnl.h", "/opt/homebrew/include/oneapi/dnnl/dnnl.h"]
        .contains { FileManager.default.fileExists(atPath: $0) }
}()
let dnnlBridge: Target = .target(
    name: "CDNNLBridge",
    cSettings: dnnlAvailable ? [.define("SA_HAVE_DNNL")] : [],
    linkerSettings: dnnlAvailable ? [.linkedLibrary("dnnl")] : []
)

// libFuzzer targets, one per parser (Fuzz/, scripts/fuzz.sh): defined only when SWIFTADAPTERS_FUZZ is
// set, so the normal build never sees them; fuzz.sh builds them with -sanitize=fuzzer and AddressSanitizer.
let fuzzing = ProcessInfo.processInfo.environment["SWIFTADAPTERS_FUZZ"] != nil
let fuzzTargets: [Target] =
    fuzzing
    ? [.target(name: "FuzzSupport", dependencies: ["Kernels", "Tokenizers"], path: "Fuzz/FuzzSupport")]
        + [
            ("FuzzSafetensors", ["ModelIO", "Kernels"]), ("FuzzShardedIndex", ["ModelIO", "Kernels"]),
            ("FuzzModelConfig", ["Encoders"]), ("FuzzAdapterConfigs", ["ModelIO", "Adapters"]),
            ("FuzzTokenizerJSON", ["Tokenizers"]), ("FuzzBPEFiles", ["Tokenizers"]), ("FuzzWordPieceVocab", ["Tokenizers"]),
            ("FuzzPickle", ["ModelIO"]), ("FuzzPyTorchZip", ["ModelIO", "FileMapping"]), ("FuzzThrift", ["Parquet"]),
            ("FuzzParquet", ["Parquet"]), ("FuzzCSV", ["Datasets"]), ("FuzzJSONL", ["Datasets"]), ("FuzzHub", ["Hub"]),
            ("FuzzServerRequest", ["Serving"]),
        ].map { name, deps in
            Target.executableTarget(
                name: name, dependencies: ["FuzzSupport"] + deps.map { Target.Dependency(stringLiteral: $0) },
                path: "Fuzz/\(name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])])
        } : []

let package = Package(
    name: "SwiftAdapters",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "ModelIO", targets: ["ModelIO"]),
        .library(name: "Adapters", targets: ["Adapters"]),
        .library(name: "Encoders", targets: ["Encoders"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Parquet", targets: ["Parquet"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Hub", targets: ["Hub"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Charts", targets: ["Charts"]),
        .library(name: "Statistics", targets: ["Statistics"]),
        .library(name: "Comparison", targets: ["Comparison"]),
        .library(name: "Serving", targets: ["Serving"]),
        .library(name: "DistributedTraining", targets: ["DistributedTraining"]),
        .executable(name: "adapters", targets: ["AdaptersCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The Hub client (HTTP, SHA-256) and, for the tests only, a local Hub-compatible server.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already under Hummingbird and AsyncHTTPClient; named for the server's connection checks (TCP_INFO).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        // The inference server: metrics in Prometheus' format, graceful shutdown on signals.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: blasTargets + mpiTargets + fuzzTargets + [
        distributedTraining,
        dnnlBridge,
        .target(name: "CVectorKernels"),
        .target(name: "CWorkerPool"),
        .target(
            name: "Kernels",
            dependencies: blasDependency + ["CVectorKernels", "CWorkerPool", "CDNNLBridge"],
            linkerSettings: blasSettings
        ),
        .target(name: "Adapters", dependencies: ["Kernels"]),
        .target(name: "FileMapping"),
        .target(
            name: "ModelIO",
            dependencies: ["Kernels", "Adapters", "FileMapping"]
        ),
        .target(
            name: "Encoders",
            dependencies: ["Kernels", "Adapters", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "Tokenizers"),
        // Reports: self-contained SVG charts and the statistics of comparisons across seeds.
        .target(name: "Charts"),
        .target(name: "Statistics"),
        // `adapters compare` and `adapters report`: the sweep's plan, the runs read back, the statistics
        // and the reports (comparison.json, report.md, report.html).
        .target(name: "Comparison", dependencies: ["Charts", "Statistics"]),
        // `adapters serve`: one base model, many adapters, mixed-adapter batches over HTTP.
        .target(
            name: "Serving",
            dependencies: [
                "Encoders", "Training", "Inference", "Tokenizers", "Datasets", "Hub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Parquet (how the Hub stores datasets): a hand-written Thrift/page decoder; Snappy, GZIP and
        // ZSTD pages through Debian's C libraries.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"]), .brew(["snappy"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .target(name: "Parquet", dependencies: ["CSnappy", "CZlib", "CZstd"]),
        .target(name: "Datasets", dependencies: ["Tokenizers", "FileMapping", "Parquet"]),
        .target(
            name: "Hub",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Training",
            dependencies: ["Kernels", "Adapters", "Encoders", "ModelIO", "Datasets", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Inference",
            dependencies: [
                "Kernels", "ModelIO", "Encoders", "Tokenizers", "Datasets",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "AdaptersCLI",
            dependencies: [
                "Kernels", "ModelIO", "Encoders", "Tokenizers", "Inference", "Adapters", "Datasets", "Training", "Hub",
                "Comparison", "Serving", "DistributedTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The seed's workflow through the Swift API (scripts/quickstart.sh runs it).
        .executableTarget(
            name: "Workflow",
            dependencies: ["Adapters", "Datasets", "Encoders", "Hub", "Inference", "Kernels", "Training"],
            path: "examples/Workflow"
        ),
        .target(
            name: "TestSupport", dependencies: ["CZlib", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"),
        .target(
            name: "HubTestServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HubTestServer"
        ),
        .testTarget(
            name: "HubTests", dependencies: ["Hub", "HubTestServer", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CVectorKernels", "TestSupport"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "Encoders", "FileMapping", "TestSupport"]),
        .testTarget(
            name: "EncodersTests",
            dependencies: ["Encoders", "Adapters", "ModelIO", "TestSupport"],
            resources: []
        ),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"]),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"]),
        .testTarget(name: "ComparisonTests", dependencies: ["Comparison"]),
        .testTarget(
            name: "ServingTests",
            dependencies: [
                "Serving", "Adapters", "Inference", "Encoders", "Training", "Tokenizers", "Kernels", "TestSupport", "HubTestServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "ParquetTests", dependencies: ["Parquet"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenizers", "TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "Encoders", "Adapters", "ModelIO", "Kernels", "Datasets", "Inference", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "TestSupport", "HubTestServer", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
    ],
    swiftLanguageModes: [.v5]
)
