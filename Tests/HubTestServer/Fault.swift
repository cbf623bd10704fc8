/// A failure the test server injects into matching requests, a given number of times.
public struct Fault: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Answer with this status instead (and `X-Error-Code`/`X-Error-Message` when given).
        case status(Int, errorCode: String? = nil, message: String? = nil)
        /// Announce the full `Content-Length`, send only this many body bytes, then close the connection.
        case dropConnection(afterBytes: Int)
        /// Serve the body with one byte flipped (same length and headers).
        case corruptBody
    }

    public var kind: Kind
    /// `GET`, `HEAD`, ... or nil for any method.
    public var method: String?
    /// The request path must contain this (e.g. `config.json` or `/lfs-cdn/`); nil matches every path.
    public var pathContains: String?
    /// How many more requests this fault applies to.
    public var remaining: Int

    public init(_ kind: Kind, method: String? = nil, pathContains: String? = nil, times: Int = 1) {
        self.kind = kind
        self.method = method
        self.pathContains = pathContains
        self.remaining = times
    }

    func matches(method: String, path: String) -> Bool {
        if let wanted = self.method, wanted.uppercased() != method.uppercased() { return false }
        if let fragment = pathContains, !path.contains(fragment) { return false }
        return remaining > 0
    }

    var isStatus: Bool {
        if case .status = kind { return true }
        return false
    }
}

/// A request as the server saw it, for assertions.
public struct RecordedRequest: Sendable {
    /// `GET`, `HEAD`, ...
    public var method: String
    /// Path and query as sent (percent-encoded).
    public var uri: String
    /// Header fields, names lower-cased (values of repeated fields joined by `, `).
    public var headers: [String: String]

    /// The `Authorization` header, if any.
    public var authorization: String? { headers["authorization"] }
}
