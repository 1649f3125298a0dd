// swift-tools-version: 6.2
// Micro-benchmarks (ordo-one/benchmark). A separate package so that the main build and CI never
// compile the benchmark harness. Run from this folder: swift package benchmark
import PackageDescription

let package = Package(
    name: "akis-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "akis", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "AkisBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RingBuffer", package: "akis"),
                .product(name: "Ingest", package: "akis"),
                .product(name: "Aggregator", package: "akis"),
                .product(name: "Store", package: "akis"),
            ],
            path: "Benchmarks/AkisBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
