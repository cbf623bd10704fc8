import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A fully read reply (API calls and HEAD requests).
struct HubResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: Data
    /// The URL that gave this reply, after any redirects that were followed.
    let url: String

    func header(_ name: String) -> String? { headers.first(name: name) }
    var isRedirect: Bool { (300...399).contains(status) }
    var isSuccess: Bool { (200...299).contains(status) }
}

/// A request body that can be produced again for each retry.
enum HubRequestBody: Sendable {
    case data(Data)
    case file(URL, size: Int64)
}

/// What a request is for: names the repository and file in errors and log lines.
struct RequestContext: Sendable {
    var operation: String
    var repo: RepoReference?
    var revision: String?
    var path: String?
}

/// Which redirects `send` follows by itself.
enum RedirectPolicy: Sendable {
    /// Return the 3xx reply.
    case none
    /// Follow redirects within the same origin given as a path only (a renamed repository), but return an
    /// absolute redirect such as the Hub's redirect of LFS files to its CDN (`_httpx_follow_relative_redirects`).
    case relativeOnly
    /// Follow every redirect (the token is dropped as soon as the target leaves the endpoint's origin).
    case all
}

/// The HTTP layer shared by every Hub call: one `HTTPClient`, the token, retries with backoff, redirects, and the
/// mapping of error replies to ``HubError``.
///
/// The token is attached only to requests whose origin (scheme, host, port) is the endpoint's, so a redirect to a
/// CDN or a pre-signed upload URL never carries it; it is never logged and is scrubbed from any server text that
/// ends up in an error.
final class HubTransport: Sendable {
    let client: HTTPClient
    let endpoint: String
    let retry: RetryPolicy
    let logger: Logger
    let metadataTimeout: TimeAmount
    private let token: String?
    private let endpointOrigin: String?

    static let userAgent = "swift-adapters-hub/1.0"
    static let maxRedirects = 10

    init(environment: HubEnvironment, retry: RetryPolicy, logger: Logger) throws {
        guard let origin = Self.origin(of: environment.endpoint),
            origin.hasPrefix("http://") || origin.hasPrefix("https://")
        else { throw HubError.invalidEndpoint(environment.endpoint) }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .seconds(Int64(environment.metadataTimeout)),
                read: .seconds(Int64(environment.downloadTimeout))
            ),
            decompression: .disabled
        )
        configuration.httpVersion = .automatic
        // Our own retry loop handles refused connections with backoff; the pool's built-in retries would instead
        // keep a refused connection pending for the whole connect timeout, defeating the quick cache fallback.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.endpoint = environment.endpoint
        self.endpointOrigin = origin
        self.token = environment.token
        self.retry = retry
        self.logger = logger
        self.metadataTimeout = .seconds(Int64(environment.metadataTimeout))
    }

    var hasToken: Bool { token != nil }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// `scheme://host:port` of a URL, lower-cased, or nil when it has no host.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// True when `url` is on the endpoint's origin, the only place the token is sent.
    func isEndpointOrigin(_ url: String) -> Bool {
        Self.origin(of: url) == endpointOrigin
    }

    /// Standard headers for `url`: user agent, and the bearer token when `authorize` and the URL is the endpoint's.
    func headers(for url: String, authorize: Bool, extra: [(String, String)] = []) -> HTTPHeaders {
        var headers = HTTPHeaders([("User-Agent", Self.userAgent)])
        if authorize, let token, isEndpointOrigin(url) {
            headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        return headers
    }

    /// Removes the token from text that came from elsewhere (server messages, error descriptions).
    func redact(_ text: String) -> String {
        guard let token, !token.isEmpty else { return text }
        return text.replacingOccurrences(of: token, with: "***")
    }

    // MARK: - Requests

    /// Sends one request and reads its whole body, retrying transient failures when `retrying` is true.
    ///
    /// Error statuses are returned, not thrown (see ``check(_:_:)``); a retryable status still present after the
    /// last retry is returned too. Network failures throw ``HubError/network(repo:operation:reason:)``.
    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers extra: [(String, String)] = [],
        body: HubRequestBody? = nil,
        authorize: Bool = true,
        retrying: Bool = true,
        redirects: RedirectPolicy = .all,
        deadline: TimeAmount? = nil,
        maxBodyBytes: Int = 256 << 20,
        context: RequestContext
    ) async throws -> HubResponse {
        var method = method
        var currentURL = url
        var attempt = 0
        var redirectCount = 0
        var body = body
        while true {
            do {
                var request = HTTPClientRequest(url: currentURL)
                request.method = method
                request.headers = headers(for: currentURL, authorize: authorize, extra: extra)
                if let body { request.body = try Self.makeBody(body) }
                let timeout = deadline ?? metadataTimeout
                let response = try await client.execute(request, timeout: timeout)
                let data: Data
                if method == .HEAD {
                    data = Data()
                } else {
                    let buffer = try await response.body.collect(upTo: maxBodyBytes)
                    data = Data(buffer.readableBytesView)
                }
                let status = Int(response.status.code)
                logger.debug("\(method.rawValue) \(currentURL) -> \(status)")

                if retrying, RetryPolicy.retryableStatuses.contains(status), attempt < retry.maxRetries {
                    attempt += 1
                    let wait = retry.delay(
                        beforeRetry: attempt,
                        retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap { Int($0) }
                    )
                    logger.debug("HTTP \(status) on \(method.rawValue) \(currentURL); retry \(attempt) in \(wait)")
                    try await Task.sleep(for: wait)
                    continue
                }
                if (300...399).contains(status), redirects != .none,
                    let location = response.headers.first(name: "Location"),
                    let target = URL(string: location, relativeTo: URL(string: currentURL))?.absoluteURL.absoluteString
                {
                    let isRelative = URLComponents(string: location)?.host == nil
                    if redirects == .relativeOnly && !isRelative {
                        return HubResponse(status: status, headers: response.headers, body: data, url: currentURL)
                    }
                    redirectCount += 1
                    guard redirectCount <= Self.maxRedirects else {
                        throw HubError.invalidResponse(
                            repo: context.repo, operation: context.operation, reason: "too many redirects")
                    }
                    logger.debug("redirect \(status) -> \(target)")
                    if status == 303 && method != .HEAD {
                        method = .GET
                        body = nil
                    }
                    currentURL = target
                    continue
                }
                return HubResponse(status: status, headers: response.headers, body: data, url: currentURL)
            } catch let error as HubError {
                throw error
            } catch {
                guard Self.isTransient(error) else { throw mapTransportError(error, context: context) }
                guard retrying, attempt < retry.maxRetries else { throw mapTransportError(error, context: context) }
                attempt += 1
                let wait = retry.delay(beforeRetry: attempt, retryAfterSeconds: nil)
                logger.debug("\(method.rawValue) \(currentURL) failed (\(error)); retry \(attempt) in \(wait)")
                try await Task.sleep(for: wait)
            }
        }
    }

    /// Sends a JSON-returning request and decodes it, throwing the mapped error for any non-2xx reply.
    func sendJSON<T: Decodable>(
        _ type: T.Type,
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)] = [],
        body: HubRequestBody? = nil,
        retrying: Bool = true,
        context: RequestContext
    ) async throws -> (T, HubResponse) {
        let response = try await send(
            method, url, headers: headers, body: body, retrying: retrying, redirects: .all, context: context)
        try check(response, context)
        do {
            return (try JSONDecoder().decode(T.self, from: response.body), response)
        } catch {
            throw HubError.invalidResponse(
                repo: context.repo, operation: context.operation, reason: "malformed JSON: \(error)")
        }
    }

    static func makeBody(_ body: HubRequestBody) throws -> HTTPClientRequest.Body {
        switch body {
        case .data(let data):
            return .bytes(ByteBuffer(bytes: data))
        case .file(let url, let size):
            let chunks = try FileChunks(url: url)
            return .stream(chunks, length: .known(size))
        }
    }

    // MARK: - Errors

    /// Throws the ``HubError`` for a reply that is not 2xx (redirects pass).
    func check(_ response: HubResponse, _ context: RequestContext) throws {
        if response.isSuccess || response.isRedirect { return }
        throw error(for: response, context)
    }

    /// The typed error for an error reply, using the Hub's `X-Error-Code` to tell a missing repository from a
    /// missing revision or file.
    func error(for response: HubResponse, _ context: RequestContext) -> HubError {
        let code = response.header("X-Error-Code")
        let message = serverMessage(response)
        let repo = context.repo ?? RepoReference(Self.placeholderRepo, type: .model)
        let revision = context.revision ?? RepoPath.defaultRevision
        switch code {
        case "RevisionNotFound":
            return .revisionNotFound(repo: repo, revision: revision)
        case "EntryNotFound":
            return .entryNotFound(repo: repo, revision: revision, path: context.path ?? "")
        case "GatedRepo":
            return .gatedRepo(repo: repo, message: message)
        case "RepoNotFound", "RepositoryNotFound":
            return .repositoryNotFound(repo: repo)
        default:
            break
        }
        switch response.status {
        case 401, 403:
            return .unauthorized(repo: repo, status: response.status, tokenSent: hasToken, message: message)
        case 404 where context.repo != nil:
            return .notFound(repo: repo, revision: context.revision, path: context.path)
        default:
            return .httpStatus(
                repo: context.repo, operation: context.operation, status: response.status, message: message)
        }
    }

    private static let placeholderRepo = RepoID(uncheckedNamespace: nil, name: "unknown")

    /// `X-Error-Message`, else an `error` field of a JSON body, else a short text body; token scrubbed.
    func serverMessage(_ response: HubResponse) -> String? {
        if let header = response.header("X-Error-Message"), !header.isEmpty { return redact(header) }
        if let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let text = object["error"] as? String ?? object["message"] as? String
        {
            return redact(String(text.prefix(500)))
        }
        if let text = String(data: response.body.prefix(500), encoding: .utf8)?
            .trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty, !text.hasPrefix("<")
        {
            return redact(text)
        }
        return nil
    }

    func mapTransportError(_ error: any Error, context: RequestContext) -> any Error {
        if error is CancellationError { return error }
        return HubError.network(repo: context.repo, operation: context.operation, reason: redact(Self.describe(error)))
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .readTimeout { return "read timed out" }
            if error == .connectTimeout { return "connection timed out" }
            if error == .deadlineExceeded { return "request timed out" }
            if error == .remoteConnectionClosed { return "the server closed the connection" }
        }
        return String(describing: error)
    }

    /// Worth retrying: timeouts, refused, reset or dropped connections; not malformed URLs or cancellation.
    static func isTransient(_ error: any Error) -> Bool {
        if error is CancellationError || error is HubError { return false }
        if let error = error as? HTTPClientError {
            let permanent: [HTTPClientError] = [
                .invalidURL, .emptyHost, .emptyScheme, .alreadyShutdown, .cancelled, .missingSocketPath,
                .redirectLimitReached, .redirectCycleDetected, .traceRequestWithBody,
                .invalidRedirectConfiguration, .requestStreamCancelled,
            ]
            return !permanent.contains(error)
        }
        return true
    }
}
