import Foundation
import Testing
import TestSupport
import Hub
import HubTestServer
import Logging

/// Deterministic pseudo-random bytes (an LCG), so fixtures are reproducible without files.
func fixtureBytes(_ count: Int, seed: UInt64 = 1) -> Data {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    var data = Data(count: count)
    for index in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        data[index] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return data
}

/// A small model repository: JSON configs and tokenizer files (regular) and weights (LFS by extension).
func modelFiles() -> [String: Data] {
    [
        "config.json": Data(#"{"model_type": "roberta", "hidden_size": 8}"#.utf8),
        "model.safetensors": fixtureBytes(300_000, seed: 7),
        "tokenizer.json": Data(#"{"version": "1.0", "model": {"type": "BPE"}}"#.utf8),
        "vocab.json": Data(#"{"<s>": 0, "</s>": 2}"#.utf8),
        "merges.txt": Data("#version: 0.2\nĠ t\n".utf8),
    ]
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hubtests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Fast retries so fault tests take milliseconds.
let fastRetries = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(4))

/// A running test server, a temporary cache and a client pointed at both; torn down by `close()`.
struct HubFixture {
    let server: HubTestServer
    let cacheRoot: URL
    let client: HubClient
    let logs: LogCapture

    var cache: HubCache { client.cache }

    static func start(
        configuration: HubTestServer.Configuration = .init(),
        token: String? = nil,
        retry: RetryPolicy = fastRetries
    ) async throws -> HubFixture {
        let server = try await HubTestServer.start(configuration)
        let root = try temporaryFolder()
        let logs = LogCapture()
        let environment = HubEnvironment(
            endpoint: server.endpoint, cacheDirectory: root.appendingPathComponent("hub"), token: token)
        let client = try HubClient(environment: environment, retryPolicy: retry, logger: logs.logger)
        return HubFixture(server: server, cacheRoot: root, client: client, logs: logs)
    }

    /// A second client on the same cache with other settings (offline, another token).
    func client(offline: Bool = false, token: String? = nil, endpoint: String? = nil) throws -> HubClient {
        let environment = HubEnvironment(
            endpoint: endpoint ?? server.endpoint, cacheDirectory: client.cache.root, token: token, offline: offline)
        return try HubClient(environment: environment, retryPolicy: fastRetries, logger: logs.logger)
    }

    func close() async throws {
        try await client.shutdown()
        await server.stop()
        try? FileManager.default.removeItem(at: cacheRoot)
    }

    /// Runs `body` with a fixture and always tears it down.
    static func with(
        configuration: HubTestServer.Configuration = .init(),
        token: String? = nil,
        retry: RetryPolicy = fastRetries,
        _ body: (HubFixture) async throws -> Void
    ) async throws {
        let fixture = try await start(configuration: configuration, token: token, retry: retry)
        do {
            try await body(fixture)
        } catch {
            try? await fixture.close()
            throw error
        }
        try await fixture.close()
    }
}

/// Reads a file's bytes through its symlink.
func contents(_ url: URL) throws -> Data {
    try Data(contentsOf: url)
}

/// Runs `body` with a client and shuts it down.
func withClient(_ client: HubClient, _ body: (HubClient) async throws -> Void) async throws {
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// The real `huggingface_hub` (pinned 0.36.2): the Python of `.venv-hub`, which scripts/setup.sh makes, or
/// `HUB_PYTHON`. Tests that use it fail, saying what to run, when it is missing.
enum HubPython {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["HUB_PYTHON"], !path.isEmpty { return path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".venv-hub/bin/python").path
    }

    /// Runs `script` from a folder of its own (the script's folder goes first on sys.path, where stray files
    /// could shadow modules) with the HF_* variables cleared, then `environment`; `prepare` writes any input
    /// files into that folder and returns the script's arguments.
    static func run(
        _ script: String, environment: [String: String], prepare: (URL) throws -> [String] = { _ in [] }
    ) throws -> (status: Int32, output: Data, errors: String) {
        try #require(
            FileManager.default.isExecutableFile(atPath: path),
            "no Python with huggingface_hub at \(path): run scripts/setup.sh (it makes .venv-hub) or set HUB_PYTHON")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scriptURL = folder.appendingPathComponent("script.py")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [scriptURL.path] + (try prepare(folder))
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("HF_") { env[key] = nil }
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        env.merge(environment) { $1 }
        process.environment = env
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, data, errorText)
    }
}
