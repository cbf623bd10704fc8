import Foundation
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

/// Collects log lines (message and metadata) for assertions.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return lines.joined(separator: "\n")
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return lines.count
    }

    func logger() -> Logger {
        var logger = Logger(label: "hub-tests") { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var text = "[\(event.level)] \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty { text += " \(merged)" }
        capture.append(text)
    }
}

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
        let client = try HubClient(environment: environment, retryPolicy: retry, logger: logs.logger())
        return HubFixture(server: server, cacheRoot: root, client: client, logs: logs)
    }

    /// A second client on the same cache with other settings (offline, another token).
    func client(offline: Bool = false, token: String? = nil, endpoint: String? = nil) throws -> HubClient {
        let environment = HubEnvironment(
            endpoint: endpoint ?? server.endpoint, cacheDirectory: client.cache.root, token: token, offline: offline)
        return try HubClient(environment: environment, retryPolicy: fastRetries, logger: logs.logger())
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
