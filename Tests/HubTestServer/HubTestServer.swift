import Foundation
import Hummingbird
import Logging
import NIOCore

/// An in-process stand-in for the Hugging Face Hub on `127.0.0.1` (random port), serving the subset of its HTTP
/// API that a download/upload client uses, from memory:
///
/// - `HEAD`/`GET /{repo}/resolve/{rev}/{path}` (and `/datasets/...`): `X-Repo-Commit`, `ETag` (git blob sha1);
///   LFS files answer `302` to `/lfs-cdn/{sha256}` with `X-Linked-Etag` (sha256) and `X-Linked-Size`; `Range` → 206.
/// - `GET /api/{models|datasets}/{repo}/revision/{rev}` and `.../tree/{rev}[/{path}]?recursive=` (paginated
///   with `Link` when `treePageSize` is set).
/// - `POST /api/repos/create`, `.../preupload/{rev}`, `/{repo}.git/info/lfs/objects/batch`, `PUT /lfs-upload/`,
///   `POST /lfs-verify/`, `.../commit/{rev}` (NDJSON).
/// - Errors as the Hub sends them: 404 with `X-Error-Code` `RepoNotFound`, `RevisionNotFound`, `EntryNotFound`;
///   401 without a valid token when one is required; 307 relative redirects for renamed repositories.
///
/// Tests inject faults (``Fault``) and read the request log. Usage:
///
/// ```swift
/// let server = try await HubTestServer.start()
/// defer { Task { await server.stop() } }   // or `await server.stop()` at the end
/// server.addRepo("org/model", files: ["config.json": data])
/// // HF_ENDPOINT = server.endpoint
/// ```
public final class HubTestServer: Sendable {
    /// Server behaviour.
    public struct Configuration: Sendable {
        /// When set, every request except the pre-signed CDN and upload URLs must carry `Bearer <token>`.
        public var requiredToken: String?
        /// Files at least this large are stored as LFS.
        public var lfsThreshold: Int
        /// Files with these extensions are LFS whatever their size (as the Hub's default `.gitattributes`).
        public var lfsExtensions: [String]
        /// Host name used in LFS redirect URLs; `localhost` makes the CDN a different origin than `127.0.0.1`.
        public var cdnHost: String
        /// Owner of repositories created without an organisation.
        public var username: String
        /// Entries per page of the tree API; nil sends everything at once.
        public var treePageSize: Int?

        public init(
            requiredToken: String? = nil,
            lfsThreshold: Int = 10 * 1024 * 1024,
            lfsExtensions: [String] = [".safetensors", ".bin", ".parquet", ".pt", ".h5", ".msgpack"],
            cdnHost: String = "127.0.0.1",
            username: String = "test-user",
            treePageSize: Int? = nil
        ) {
            self.requiredToken = requiredToken
            self.lfsThreshold = lfsThreshold
            self.lfsExtensions = lfsExtensions
            self.cdnHost = cdnHost
            self.username = username
            self.treePageSize = treePageSize
        }

        func isLFS(path: String, size: Int) -> Bool {
            size > 0 && (size >= lfsThreshold || lfsExtensions.contains { path.hasSuffix($0) })
        }
    }

    /// The port the server listens on.
    public let port: Int
    let state: TestHubState
    private let task: Task<Void, Never>

    /// `http://127.0.0.1:<port>`: what `HF_ENDPOINT` should be.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, state: TestHubState, task: Task<Void, Never>) {
        self.port = port
        self.state = state
        self.task = task
    }

    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts a server on `127.0.0.1` with a port chosen by the system; returns once it accepts connections.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> HubTestServer {
        let state = TestHubState(configuration: configuration)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "HubTestServer")
        logger.logLevel = .critical
        let portBox = PortBox()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await HubTestRouter(state: state, port: portBox.value).respond(to: request)
        }
        let app = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                if let port = channel.localAddress?.port {
                    portBox.value = port
                    continuation.yield(port)
                }
                continuation.finish()
            },
            logger: logger
        )
        let task = Task {
            do {
                try await app.run()
            } catch {
                // Cancellation (stop) or a bind failure: the stream ends either way.
            }
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw StartFailure(description: "the test Hub server did not start")
        }
        return HubTestServer(port: port, state: state, task: task)
    }

    /// Stops the server and waits until it has shut down.
    public func stop() async {
        task.cancel()
        await task.value
    }

    // MARK: - Seeding

    /// Creates a repository with one commit holding `files` on `main`; returns the commit hash.
    /// Files become LFS by ``Configuration/lfsThreshold`` and ``Configuration/lfsExtensions``.
    @discardableResult
    public func addRepo(
        _ id: String, type: TestRepoType = .model, files: [String: Data], isPrivate: Bool = false,
        message: String = "initial commit"
    ) -> String {
        _ = state.createRepo(type, id, isPrivate: isPrivate, initialFiles: [:])
        return (try? state.commit(type, id, branch: "main", message: message, add: files, delete: [])) ?? ""
    }

    /// Adds a commit to `branch` of an existing repository (a new branch starts from `main`); returns its hash.
    @discardableResult
    public func commit(
        _ id: String, type: TestRepoType = .model, files: [String: Data], deleting: [String] = [],
        branch: String = "main", message: String = "update"
    ) -> String {
        (try? state.commit(
            type, id, branch: branch, message: message, add: files, delete: deleting, createBranch: true)) ?? ""
    }

    /// Points `tag` at `commit`.
    public func tag(_ id: String, type: TestRepoType = .model, tag: String, commit: String) {
        state.setTag(type, id, tag: tag, commit: commit)
    }

    /// Renames a repository: requests for the old id get a relative 307 redirect, as on the Hub.
    public func renameRepo(_ id: String, type: TestRepoType = .model, to newID: String) {
        state.rename(type, from: id, to: newID)
    }

    /// The commit `revision` (branch, tag or hash) points at.
    public func commitHash(_ id: String, type: TestRepoType = .model, revision: String = "main") -> String? {
        state.repo(type, id)?.commit(for: revision)?.sha
    }

    /// A file's bytes at `revision`.
    public func file(_ id: String, type: TestRepoType = .model, path: String, revision: String = "main") -> Data? {
        state.repo(type, id)?.commit(for: revision)?.files[path]?.data
    }

    /// Whether a file is stored as LFS.
    public func isLFS(_ id: String, type: TestRepoType = .model, path: String, revision: String = "main") -> Bool? {
        state.repo(type, id)?.commit(for: revision)?.files[path]?.isLFS
    }

    /// Paths of all files at `revision`.
    public func files(_ id: String, type: TestRepoType = .model, revision: String = "main") -> [String] {
        (state.repo(type, id)?.commit(for: revision)?.files.keys).map { Array($0).sorted() } ?? []
    }

    /// Commit messages of `branch`, newest first.
    public func commitMessages(_ id: String, type: TestRepoType = .model, branch: String = "main") -> [String] {
        guard let repo = state.repo(type, id) else { return [] }
        var messages: [String] = []
        var sha = repo.branches[branch]
        while let current = sha, let commit = repo.commits[current] {
            messages.append(commit.message)
            sha = commit.parent
        }
        return messages
    }

    // MARK: - Faults and the request log

    /// Adds a fault; faults apply in the order added.
    public func inject(_ fault: Fault) {
        state.addFault(fault)
    }

    public func clearFaults() {
        state.clearFaults()
    }

    /// Every request received, in order.
    public var requests: [RecordedRequest] { state.requests }

    /// Number of requests received.
    public var requestCount: Int { state.requests.count }

    /// Forgets the requests received so far.
    public func resetRequestLog() {
        state.clearLog()
    }
}

/// The bound port, known only once the server runs (LFS redirect URLs need it).
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0

    var value: Int {
        get { lock.withLock { port } }
        set { lock.withLock { port = newValue } }
    }
}
