// swift-tools-version: 6.1
import PackageDescription

// One set of compiler settings for every target.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .enableUpcomingFeature("ExistentialAny"),
]

// Numeric kernels: bounds checks off in release builds (the kernels check shapes at their entry).
let computeSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

// librdkafka: we compile against Debian's headers but must run against librdkafka 2.16 (the local
// stack extracts it into .stack/lib); a runpath makes the loader look there first.
let rdkafkaRunpath: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", Context.packageDirectory + "/.stack/lib"]),
]

let package = Package(
    name: "CDRA",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cdra", targets: ["cdra"]),
        .executable(name: "council-generator", targets: ["CouncilGenerator"]),
        .executable(name: "critic", targets: ["CriticService"]),
        .executable(name: "lm", targets: ["lm"]),
        .executable(name: "policy-trainer", targets: ["PolicyTrainerService"]),
        .executable(name: "evaluator", targets: ["EvaluatorService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(
            name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Shared/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // MARK: - Shared libraries
        .target(name: "Resilience", path: "Shared/Resilience", swiftSettings: swiftSettings),
        .target(name: "Settings", path: "Shared/Settings", swiftSettings: swiftSettings),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "Settings"], path: "Shared/Tensor",
                swiftSettings: computeSettings),
        .target(name: "LanguageModel", dependencies: ["Tensor"], path: "Shared/LanguageModel",
                swiftSettings: computeSettings),
        // all-MiniLM-L6-v2 (the pinned wheel's files) on Tensor, for the council's paraphrase matching.
        .target(name: "SentenceEncoder", dependencies: ["LanguageModel", "Tensor"], path: "Shared/SentenceEncoder",
                swiftSettings: computeSettings),
        .target(name: "Events", dependencies: ["Resilience"], path: "Shared/Events", swiftSettings: swiftSettings),
        .target(name: "ChatCompletions", dependencies: ["Resilience", "Settings"], path: "Shared/ChatCompletions",
                swiftSettings: swiftSettings),
        .target(name: "DeepPref", dependencies: ["Events"], path: "Shared/DeepPref",
                resources: [.copy("Knowledge")], swiftSettings: swiftSettings),
        .target(name: "Critique", dependencies: ["ChatCompletions", "Events"], path: "Shared/Critique",
                swiftSettings: swiftSettings),
        .target(name: "DeepPrefFormats", dependencies: ["DeepPref", "ChatCompletions", "Events", "Resilience"],
                path: "Shared/DeepPrefFormats", swiftSettings: swiftSettings),
        .target(name: "Council", dependencies: ["DeepPref", "DeepPrefFormats", "ChatCompletions", "Critique", "Events",
                                                "Resilience", "SentenceEncoder"],
                path: "Shared/Council", swiftSettings: swiftSettings),
        .target(name: "OracleJudge", dependencies: ["Council", "Critique", "DeepPref", "ChatCompletions", "Events"],
                path: "Shared/OracleJudge", swiftSettings: swiftSettings),
        .target(name: "RewardModel", dependencies: [
                    "LanguageModel", "Tensor", "Critique", "OracleJudge", "DeepPref", "Events", "Resilience",
                ], path: "Shared/RewardModel", swiftSettings: computeSettings),
        .target(name: "PolicyOptimization", path: "Shared/PolicyOptimization", swiftSettings: swiftSettings),
        // The study report's HTML, SVG and Markdown (pure Swift; `cdra report` feeds it from Store).
        .target(name: "Report", path: "Shared/Report", swiftSettings: swiftSettings),
        .target(name: "PolicyTraining", dependencies: [
                    "PolicyOptimization", "LanguageModel", "Tensor", "Critique", "OracleJudge", "DeepPref", "Events",
                ], path: "Shared/PolicyTraining", swiftSettings: computeSettings),
        .target(name: "Bus", dependencies: [
                    "CRdKafka", "Events", "Resilience", "Settings", .product(name: "Logging", package: "swift-log"),
                ], path: "Shared/Bus", swiftSettings: swiftSettings, linkerSettings: rdkafkaRunpath),
        .target(name: "Store", dependencies: [
                    "CLibPQ", "Events", "Resilience", "Settings", .product(name: "Logging", package: "swift-log"),
                ], path: "Shared/Store", swiftSettings: swiftSettings),
        // Critique round trips to the critic replicas over Kafka, for the trainer and the evaluator.
        .target(name: "CriticClient", dependencies: [
                    "Bus", "Events", "PolicyTraining", "Resilience", .product(name: "Logging", package: "swift-log"),
                ], path: "Shared/CriticClient", swiftSettings: swiftSettings),
        .target(name: "ServiceRuntime", dependencies: [
                    "Bus", "Store", "Events", "Resilience", "Settings",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                ], path: "Shared/ServiceRuntime", swiftSettings: swiftSettings),

        // MARK: - Services
        .executableTarget(name: "cdra", dependencies: [
                    "ServiceRuntime", "Bus", "Store", "Events", "DeepPref", "DeepPrefFormats", "Council", "Resilience", "Report",
                    "SentenceEncoder", "Tensor",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                ], path: "Services/cdra", swiftSettings: swiftSettings),
        .executableTarget(name: "CouncilGenerator", dependencies: [
                    "ServiceRuntime", "Bus", "Store", "Events", "Council",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                ], path: "Services/council-generator", swiftSettings: swiftSettings),
        // Links CriticTesting for one thing only: `--backend fixture`, so the end-to-end tests and
        // `critic bench` can run the real executable on a deterministic backend.
        .executableTarget(name: "CriticService", dependencies: [
                    "ServiceRuntime", "Bus", "Store", "Events", "Critique", "CriticTesting", "OracleJudge", "RewardModel", "ChatCompletions",
                    "DeepPref", "LanguageModel", "Resilience", "Settings", "Tensor",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                ], path: "Services/critic", swiftSettings: swiftSettings),
        .executableTarget(name: "PolicyTrainerService", dependencies: [
                    "PolicyTraining", "PolicyOptimization", "CriticClient", "ServiceRuntime", "Bus", "Store", "Events", "Critique", "DeepPref",
                    "LanguageModel", "OracleJudge", "Resilience", "Settings", "Tensor",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log"),
                ], path: "Services/policy-trainer", swiftSettings: swiftSettings),
        .executableTarget(name: "EvaluatorService", dependencies: [
                    "PolicyTraining", "CriticClient", "ServiceRuntime", "Bus", "Store", "Events", "Critique", "DeepPref",
                    "LanguageModel", "OracleJudge", "Resilience", "Settings", "Tensor", "ChatCompletions",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                ], path: "Services/evaluator", swiftSettings: swiftSettings),
        .executableTarget(name: "lm", dependencies: [
                    "LanguageModel", "Tensor",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                ], path: "Services/lm", exclude: ["torch_bench.py"], swiftSettings: computeSettings),

        // MARK: - Testing support (test targets only; nothing that ships depends on these, except the
        // critic's `--backend fixture`, see CriticService)
        .target(name: "EventsTesting", dependencies: ["Events"], path: "Tests/Support/EventsTesting",
                swiftSettings: swiftSettings),
        .target(name: "ChatCompletionsTesting", dependencies: ["Resilience", "Settings"], path: "Tests/Support/ChatCompletionsTesting",
                exclude: ["chat_server.py", "llama_server.py"], swiftSettings: swiftSettings),
        .target(name: "CriticTesting", dependencies: ["Critique", "Events"], path: "Tests/Support/CriticTesting",
                swiftSettings: swiftSettings),
        .target(name: "DeepPrefTesting", dependencies: [
                    "DeepPref", "Council", "OracleJudge", "ChatCompletions", "ChatCompletionsTesting", "Events", "Resilience", "SentenceEncoder",
                ], path: "Tests/Support/DeepPrefTesting", swiftSettings: swiftSettings),

        // MARK: - Tests
        .testTarget(name: "TensorTests", dependencies: ["Tensor"], swiftSettings: swiftSettings),
        .testTarget(name: "SentenceEncoderTests", dependencies: ["SentenceEncoder"], swiftSettings: swiftSettings),
        .testTarget(name: "LanguageModelTests", dependencies: ["LanguageModel", "Tensor"],
                    exclude: ["Reference", "Corpus"], swiftSettings: swiftSettings),
        .testTarget(name: "EventsTests", dependencies: ["Events", "EventsTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "ChatCompletionsTests", dependencies: ["ChatCompletions", "ChatCompletionsTesting", "Resilience"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CritiqueTests", dependencies: ["Critique", "ChatCompletions", "ChatCompletionsTesting", "Events",
                                                          "Resilience"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CriticTests", dependencies: [
                        "CriticService", "CriticTesting", "Critique", "Bus", "Store", "Events", "Resilience", "ServiceRuntime",
                        .product(name: "Logging", package: "swift-log"),
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "DeepPrefTests", dependencies: ["DeepPref", "DeepPrefFormats", "DeepPrefTesting", "Events"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "DeepPrefFormatsTests", dependencies: [
                        "DeepPrefFormats", "DeepPref", "Council", "DeepPrefTesting", "ChatCompletions", "ChatCompletionsTesting",
                        "Events",
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "CouncilTests", dependencies: [
                        "Council", "DeepPref", "DeepPrefTesting", "ChatCompletions", "ChatCompletionsTesting", "Events",
                        "Resilience", "Settings",
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "OracleJudgeTests", dependencies: [
                        "OracleJudge", "Critique", "Council", "DeepPref", "DeepPrefTesting", "ChatCompletionsTesting", "Events",
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "RewardModelTests", dependencies: [
                        "RewardModel", "Critique", "OracleJudge", "DeepPref", "DeepPrefTesting", "Events", "LanguageModel",
                    ], swiftSettings: swiftSettings),
        // Against a real llama.cpp server (LlamaServerFixture); make test runs them on their own.
        .testTarget(name: "LLMServerTests", dependencies: [
                        "ChatCompletions", "ChatCompletionsTesting", "Council", "Critique", "DeepPref", "DeepPrefTesting",
                        "Events", "Resilience",
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "PolicyOptimizationTests", dependencies: ["PolicyOptimization"], swiftSettings: swiftSettings),
        .testTarget(name: "ReportTests", dependencies: ["Report"], swiftSettings: swiftSettings),
        .testTarget(name: "PolicyTrainingTests", dependencies: [
                        "PolicyTraining", "PolicyOptimization", "LanguageModel", "Tensor", "Critique", "OracleJudge", "DeepPref",
                        "DeepPrefTesting", "Events",
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "ResilienceTests", dependencies: ["Resilience"], swiftSettings: swiftSettings),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"], swiftSettings: swiftSettings),
        .testTarget(name: "BusTests", dependencies: [
                        "Bus", "Events", "Resilience", "ServiceRuntime", "Settings", .product(name: "Logging", package: "swift-log"),
                    ], swiftSettings: swiftSettings),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Events", "EventsTesting", "Resilience", "ServiceRuntime"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ServiceRuntimeTests", dependencies: [
                        "ServiceRuntime", "Store", "Bus", "Settings",
                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                        .product(name: "Logging", package: "swift-log"),
                        .product(name: "Metrics", package: "swift-metrics"),
                        .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    ], swiftSettings: swiftSettings),
        // Compose/compose.yaml and .env against the code's settings, Package.swift and the Dockerfile;
        // CriticService for the critic's own variables (CriticOptions.environmentVariables).
        .testTarget(name: "ComposeTests", dependencies: ["ServiceRuntime", "CriticService"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: [
                        "ServiceRuntime", "Bus", "Store", "Events", "EventsTesting", "DeepPref", "DeepPrefTesting",
                    ], swiftSettings: swiftSettings),
    ]
)
