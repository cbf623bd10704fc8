import Foundation
import Hub

/// How `adapters serve` listens and what it accepts. The defaults follow Hugging Face
/// text-embeddings-inference where it has the same setting.
public struct ServerConfiguration: Sendable {
    /// Loopback only unless asked: a model server should not be reachable from the network by accident.
    public var host = "127.0.0.1"
    /// 0 lets the system choose (tests); the chosen port is reported once listening.
    public var port = 8080
    /// Tokens (summed over inputs) one batch may hold.
    public var maxBatchTokens = 16_384
    /// Inputs (× adapters) one batch may hold.
    public var maxBatchRequests = 64
    /// Inputs waiting for a batch; beyond it requests get 429 with Retry-After.
    public var maxQueue = 1_024
    /// Longest input in tokens, special tokens included; nil: the model's own limit.
    public var maxInputLength: Int?
    /// Inputs one request may carry.
    public var maxInputsPerRequest = 64
    /// Request bodies beyond this are refused with 413.
    public var maxBodyBytes = 2 * 1024 * 1024
    /// When set, every route but /health needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// `POST /adapters` with a folder path reads only below this folder; nil refuses folder paths.
    public var adapterRoot: URL?
    /// How long a shutdown (SIGTERM, SIGINT) waits for queued work before giving up.
    public var drainSeconds: Double = 30
    /// Requests that waited in the queue at least this long are checked, just before their batch runs, for
    /// a client that has closed its connection; those are dropped instead of computed. Fresh requests are
    /// not checked (the check is an event-loop hop per request).
    public var abandonedCheckSeconds: Double = 0.01
    /// Where `POST /adapters` fetches Hub ids (endpoint, cache, token: the HF_* variables by default).
    public var hub = HubEnvironment()

    public init() {}

    public func validate() throws {
        func bad(_ s: String) -> ServingError { .configuration(s) }
        if maxBatchTokens < 1 { throw bad("--max-batch-tokens must be at least 1") }
        if maxBatchRequests < 1 { throw bad("--max-batch-requests must be at least 1") }
        if maxQueue < 1 { throw bad("--max-queue must be at least 1") }
        if let m = maxInputLength, m < 2 { throw bad("--max-input-length must be at least 2") }
        if maxInputsPerRequest < 1 { throw bad("at least one input per request") }
        if !(0...65_535).contains(port) { throw bad("--port \(port) is not a port") }
        if let key = apiKey, key.isEmpty { throw bad("the API key is empty") }
        if !(abandonedCheckSeconds >= 0) { throw bad("the abandoned-request check age must be at least 0 seconds") }
    }
}
