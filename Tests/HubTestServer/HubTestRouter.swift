import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Maps one request to a reply. Paths are split on `/` before percent-decoding, so a revision such as
/// `refs%2Fconvert%2Fparquet` stays one segment, as on the Hub.
struct HubTestRouter: Sendable {
    let state: TestHubState
    let port: Int

    var configuration: HubTestServer.Configuration { state.configuration }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    struct Incoming {
        var request: Request
        var method: String
        var uri: String
        var segments: [String]
        var rawSegments: [String]
        var query: [String: String]
        var headers: [String: String]

        var bearerToken: String? {
            guard let value = headers["authorization"], value.hasPrefix("Bearer ") else { return nil }
            return String(value.dropFirst("Bearer ".count))
        }
    }

    func respond(to request: Request) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        // HTTPTypes keeps Host as the request's authority, not as a header field.
        if let authority = request.head.authority { headers["host"] = authority }
        let uri = request.uri.string
        state.record(RecordedRequest(method: request.method.rawValue, uri: uri, headers: headers))

        if let fault = state.takeFault(
            method: request.method.rawValue, path: uri,
            where: { kind in
                if case .status = kind { return true }
                return false
            }), case .status(let status, let code, let message) = fault
        {
            var extra: [(String, String)] = []
            if let code { extra.append(("X-Error-Code", code)) }
            if let message { extra.append(("X-Error-Message", message)) }
            return Reply.json(status, ["error": message ?? "injected failure"], headers: extra)
        }

        let rawSegments = request.uri.path.split(separator: "/").map(String.init)
        let incoming = Incoming(
            request: request, method: request.method.rawValue, uri: uri, segments: rawSegments.map(Self.decode),
            rawSegments: rawSegments, query: Self.parseQuery(request.uri.query), headers: headers)
        let s = incoming.segments

        if s.first == "api" { return try await api(incoming) }
        if s.count == 2, s[0] == "lfs-cdn" { return try await cdn(incoming, sha256: s[1]) }
        if s.count == 2, s[0] == "lfs-upload", incoming.method == "PUT" {
            return try await lfsUpload(incoming, oid: s[1])
        }
        if s.count == 2, s[0] == "lfs-verify", incoming.method == "POST" {
            return try await lfsVerify(incoming, oid: s[1])
        }
        if let git = s.firstIndex(where: { $0.hasSuffix(".git") }),
            Array(s[(git + 1)...]) == ["info", "lfs", "objects", "batch"]
        {
            return try await lfsBatch(incoming, gitIndex: git)
        }
        var rest = s
        var type = TestRepoType.model
        if rest.first == "datasets" {
            type = .dataset
            rest.removeFirst()
        }
        if let r = rest.firstIndex(of: "resolve"), r == 1 || r == 2, rest.count >= r + 3,
            incoming.method == "GET" || incoming.method == "HEAD"
        {
            return try await resolve(
                incoming, type: type, id: rest[..<r].joined(separator: "/"), revision: rest[r + 1],
                path: rest[(r + 2)...].joined(separator: "/"), idSegmentStart: type == .dataset ? 1 : 0,
                idSegmentCount: r)
        }
        return Reply.json(404, ["error": "no such route: \(incoming.method) \(request.uri.path)"])
    }

    // MARK: - Auth and lookup

    /// 401 when a required token is missing or wrong, or when a write comes without any token.
    func authFailure(_ incoming: Incoming, write: Bool) -> Response? {
        let token = incoming.bearerToken
        if let required = configuration.requiredToken {
            if token == nil { return Reply.json(401, ["error": "Authorization required"]) }
            if token != required {
                return Reply.json(
                    401, ["error": "Invalid credentials"],
                    headers: [("X-Error-Message", "Invalid credentials in Authorization header")])
            }
        } else if write && token == nil {
            return Reply.json(401, ["error": "You must be authenticated to do this"])
        }
        return nil
    }

    enum Lookup {
        case found(StoredRepo)
        case reply(Response)
    }

    /// The repository, or the reply for a missing, renamed or private one. Renames answer a relative 307 to the
    /// same URL with the new id, as the Hub does.
    func lookup(
        _ incoming: Incoming, type: TestRepoType, id: String, idSegmentStart: Int, idSegmentCount: Int
    ) -> Lookup {
        if let repo = state.repo(type, id) {
            if repo.isPrivate
                && (incoming.bearerToken == nil
                    || (configuration.requiredToken != nil && incoming.bearerToken != configuration.requiredToken))
            {
                return .reply(
                    Reply.json(401, ["error": "Repository not found"], headers: [("X-Error-Code", "RepoNotFound")]))
            }
            return .found(repo)
        }
        if let newID = state.renamedTarget(type, id) {
            var raw = incoming.rawSegments
            raw.replaceSubrange(
                idSegmentStart..<(idSegmentStart + idSegmentCount), with: newID.split(separator: "/").map(String.init))
            var location = "/" + raw.joined(separator: "/")
            if let query = incoming.request.uri.query { location += "?" + query }
            return .reply(Reply.empty(307, headers: [("Location", location)]))
        }
        return .reply(Reply.json(404, ["error": "Repository not found"], headers: [("X-Error-Code", "RepoNotFound")]))
    }

    // MARK: - resolve and the CDN

    func resolve(
        _ incoming: Incoming, type: TestRepoType, id: String, revision: String, path: String, idSegmentStart: Int,
        idSegmentCount: Int
    ) async throws -> Response {
        if let failure = authFailure(incoming, write: false) { return failure }
        let repo: StoredRepo
        switch lookup(incoming, type: type, id: id, idSegmentStart: idSegmentStart, idSegmentCount: idSegmentCount) {
        case .found(let found): repo = found
        case .reply(let reply): return reply
        }
        guard let commit = repo.commit(for: revision) else {
            return Reply.json(
                404, ["error": "Invalid rev id: \(revision)"], headers: [("X-Error-Code", "RevisionNotFound")])
        }
        guard let file = commit.files[path] else {
            return Reply.json(
                404, ["error": "Entry not found"],
                headers: [("X-Error-Code", "EntryNotFound"), ("X-Repo-Commit", commit.sha)])
        }
        let common = [("X-Repo-Commit", commit.sha), ("Accept-Ranges", "bytes")]
        if file.isLFS {
            let repoQuery = id.replacingOccurrences(of: "/", with: "%2F")
            let location = "http://\(configuration.cdnHost):\(port)/lfs-cdn/\(file.sha256)?repo=\(repoQuery)"
            return Reply.empty(
                302,
                headers: common + [
                    ("Location", location), ("ETag", "\"\(file.gitOID)\""), ("X-Linked-Etag", "\"\(file.sha256)\""),
                    ("X-Linked-Size", String(file.data.count)), ("Content-Length", "0"),
                ])
        }
        return serve(file.data, etag: file.gitOID, incoming: incoming, headers: common)
    }

    func cdn(_ incoming: Incoming, sha256: String) async throws -> Response {
        guard incoming.method == "GET" || incoming.method == "HEAD" else {
            return Reply.json(405, ["error": "method not allowed"])
        }
        guard let data = state.lfsObject(sha256) else { return Reply.json(404, ["error": "no such object"]) }
        return serve(data, etag: sha256, incoming: incoming, headers: [("Accept-Ranges", "bytes")])
    }

    /// File bytes with `Range` support (206/416), HEAD without body, and the body faults.
    func serve(_ data: Data, etag: String, incoming: Incoming, headers: [(String, String)]) -> Response {
        var headers = headers + [("ETag", "\"\(etag)\""), ("Content-Type", "application/octet-stream")]
        var status = 200
        var body = data
        if let range = incoming.headers["range"] {
            guard let (start, end) = Self.parseRange(range, size: data.count) else {
                return Reply.empty(416, headers: [("Content-Range", "bytes */\(data.count)"), ("Content-Length", "0")])
            }
            status = 206
            body = data.subdata(in: start..<(end + 1))
            headers.append(("Content-Range", "bytes \(start)-\(end)/\(data.count)"))
        }
        headers.append(("Content-Length", String(body.count)))
        if incoming.method == "HEAD" { return Reply.empty(status, headers: headers) }

        let fault = state.takeFault(method: incoming.method, path: incoming.uri) { kind in
            if case .status = kind { return false }
            return true
        }
        switch fault {
        case .dropConnection(let afterBytes):
            let partial = ByteBuffer(bytes: body.prefix(max(0, min(afterBytes, body.count - 1))))
            return Response(
                status: HTTPResponse.Status(code: status), headers: Reply.fields(headers),
                body: ResponseBody { writer in
                    try await writer.write(partial)
                    // Give the bytes time to leave before the connection is torn down.
                    try await Task.sleep(for: .milliseconds(20))
                    // Ending the body early makes the server close the connection mid-response.
                    throw DroppedConnection()
                })
        case .corruptBody:
            if !body.isEmpty {
                let index = body.startIndex + body.count / 2
                body[index] ^= 0xFF
            }
        default:
            break
        }
        return Reply.bytes(status, body, headers: headers)
    }

    struct DroppedConnection: Error {}

    /// `bytes=N-`, `bytes=N-M` or `bytes=-K` → inclusive bounds; nil when unsatisfiable.
    static func parseRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0, size > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let start = Int(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : min(Int(parts[1]) ?? size - 1, size - 1)
        return end >= start ? (start, end) : nil
    }

    // MARK: - Helpers

    static func decode(_ segment: String) -> String {
        segment.removingPercentEncoding ?? segment
    }

    static func parseQuery(_ query: String?) -> [String: String] {
        guard let query else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { decode(String($0)) }
            result[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return result
    }

    static func readBody(_ incoming: Incoming, limit: Int = 1 << 30) async throws -> Data {
        var request = incoming.request
        let buffer = try await request.collectBody(upTo: limit)
        return Data(buffer.readableBytesView)
    }
}

/// Response builders.
enum Reply {
    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    static func empty(_ status: Int, headers: [(String, String)] = []) -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: fields(headers), body: ResponseBody())
    }

    static func bytes(_ status: Int, _ data: Data, headers: [(String, String)] = []) -> Response {
        var pairs = headers
        if !pairs.contains(where: { $0.0.lowercased() == "content-length" }) {
            pairs.append(("Content-Length", String(data.count)))
        }
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields(pairs),
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(
        _ status: Int, _ object: Any, headers: [(String, String)] = [], contentType: String = "application/json"
    ) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return bytes(status, data, headers: headers + [("Content-Type", contentType)])
    }
}
