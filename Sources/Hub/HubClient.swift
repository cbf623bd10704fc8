import Foundation
import Logging

/// Progress of one file: bytes received (or sent) so far and the total when known.
public typealias ProgressHandler = @Sendable (_ bytesDone: Int64, _ bytesTotal: Int64?) -> Void

/// Progress of a file among several (snapshots, dataset splits, uploads): its path in the repository, then bytes.
public typealias FileProgressHandler = @Sendable (_ path: String, _ bytesDone: Int64, _ bytesTotal: Int64?) -> Void

/// A client for the Hugging Face Hub that shares its cache, token and endpoint with Python's `huggingface_hub`.
///
/// ```swift
/// let hub = try HubClient()                       // reads HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE
/// defer { Task { try await hub.shutdown() } }     // or use HubClient.with { hub in ... }
/// let folder = try await hub.resolveFolder("roberta-base", selection: .model)
/// ```
///
/// Always call ``shutdown()`` (or use ``with(environment:retryPolicy:logger:_:)``): the client owns an HTTP
/// connection pool.
public final class HubClient: Sendable {
    /// The settings this client was made with.
    public let environment: HubEnvironment
    /// The cache it reads and writes.
    public let cache: HubCache
    let transport: HubTransport
    let logger: Logger

    /// Creates a client. `logger` receives debug lines (URLs, statuses, retries); the token never appears in them.
    public init(
        environment: HubEnvironment = HubEnvironment(),
        retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "hub")
    ) throws {
        self.environment = environment
        self.cache = HubCache(root: environment.cacheDirectory)
        self.transport = try HubTransport(environment: environment, retry: retryPolicy, logger: logger)
        self.logger = logger
    }

    /// Closes the connection pool. Call once when done; the client cannot be used afterwards.
    public func shutdown() async throws {
        try await transport.shutdown()
    }

    /// Runs `body` with a new client and shuts it down afterwards, whether `body` throws or not.
    public static func with<T>(
        environment: HubEnvironment = HubEnvironment(),
        retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "hub"),
        _ body: (HubClient) async throws -> T
    ) async throws -> T {
        let client = try HubClient(environment: environment, retryPolicy: retryPolicy, logger: logger)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Whether requests are allowed (`HF_HUB_OFFLINE` unset).
    public var isOffline: Bool { environment.offline }

    // MARK: - URLs

    /// `{endpoint}/{datasets/}{repo}/resolve/{revision}/{path}`, revision and path percent-encoded as in Python.
    func resolveURL(_ repo: RepoReference, revision: String, path: String) -> String {
        transport.endpoint + "/" + repo.type.urlPrefix + repo.id.id + "/resolve/"
            + URLEncoding.encode(revision, keepSlash: false) + "/" + URLEncoding.encode(path, keepSlash: true)
    }

    /// `{endpoint}/api/{models|datasets}/{repo}/{suffix}`.
    func apiURL(_ repo: RepoReference, _ suffix: String) -> String {
        transport.endpoint + "/api/" + repo.type.plural + "/" + repo.id.id + "/" + suffix
    }
}

/// Percent-encoding as Python's `urllib.parse.quote`: letters, digits and `-._~` stay, `/` stays when asked.
enum URLEncoding {
    static func encode(_ text: String, keepSlash: Bool) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                result.append("/")
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
