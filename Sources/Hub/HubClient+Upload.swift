import Foundation
import NIOHTTP1

/// The result of a commit: its id and its page on the Hub.
public struct CommitInfo: Sendable, Equatable {
    public var oid: String
    public var url: String
}

/// One file to put in a commit: from disk, or bytes in memory (e.g. a generated README.md).
public struct UploadItem: Sendable {
    public enum Source: Sendable {
        case file(URL)
        case data(Data)
    }

    /// Destination path in the repository (`/`-separated).
    public var pathInRepo: String
    public var source: Source

    public init(pathInRepo: String, source: Source) {
        self.pathInRepo = pathInRepo
        self.source = source
    }
}

/// Options of ``HubClient/push(folder:to:type:options:progress:)``.
public struct PushOptions: Sendable {
    /// Create the repository as private if it does not exist yet.
    public var `private`: Bool
    /// Branch to commit to.
    public var revision: String
    /// Commit title.
    public var commitMessage: String
    /// Commit body.
    public var commitDescription: String
    /// A model card to upload as README.md.
    public var modelCard: AdapterModelCard?
    /// Replace a README.md present in the folder with ``modelCard`` (otherwise the folder's file wins).
    public var overwriteModelCard: Bool
    /// Paths (fnmatch patterns) of the folder not to upload.
    public var ignorePatterns: [String]

    public init(
        private: Bool = false,
        revision: String = RepoPath.defaultRevision,
        commitMessage: String = "Upload adapter",
        commitDescription: String = "",
        modelCard: AdapterModelCard? = nil,
        overwriteModelCard: Bool = false,
        ignorePatterns: [String] = []
    ) {
        self.private = `private`
        self.revision = revision
        self.commitMessage = commitMessage
        self.commitDescription = commitDescription
        self.modelCard = modelCard
        self.overwriteModelCard = overwriteModelCard
        self.ignorePatterns = ignorePatterns
    }
}

extension HubClient {
    /// Files huggingface_hub never uploads from a folder (`DEFAULT_IGNORE_PATTERNS`).
    public static let defaultUploadIgnorePatterns = [".git", ".git/*", "*/.git", "*/.git/*", ".cache/huggingface/*"]

    /// Creates `repo` (`POST /api/repos/create`). An existing repository is fine when `existOK` (HTTP 409).
    /// Returns the repository as the Hub names it: a bare name becomes `user/name`.
    @discardableResult
    public func createRepo(_ repo: RepoReference, private isPrivate: Bool = false, existOK: Bool = true) async throws
        -> RepoReference
    {
        try requireOnline(repo, operation: "create repository")
        var payload: [String: Any] = ["name": repo.id.name, "private": isPrivate]
        if let namespace = repo.id.namespace { payload["organization"] = namespace }
        if repo.type != .model { payload["type"] = repo.type.rawValue }
        let context = RequestContext(operation: "create repository", repo: repo, revision: nil, path: nil)
        let response = try await transport.send(
            .POST, transport.endpoint + "/api/repos/create", headers: [("Content-Type", "application/json")],
            body: .data(try Self.json(payload)), retrying: false, context: context)
        if response.status == 409 && existOK {
            logger.debug("\(repo) already exists")
        } else {
            try transport.check(response, context)
        }
        return canonicalRepo(repo, from: response.body)
    }

    /// The repository id the server answered with (`name`, or the path of `url`), else the one asked for.
    private func canonicalRepo(_ repo: RepoReference, from body: Data) -> RepoReference {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return repo }
        if let name = object["name"] as? String, name.contains("/"), let id = try? RepoID(name) {
            return RepoReference(id, type: repo.type)
        }
        if let url = object["url"] as? String, let path = URLComponents(string: url)?.path {
            var trimmed = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let prefix = repo.type.urlPrefix
            if !prefix.isEmpty, trimmed.hasPrefix(prefix) { trimmed.removeFirst(prefix.count) }
            if trimmed.contains("/"), let id = try? RepoID(trimmed) { return RepoReference(id, type: repo.type) }
        }
        return repo
    }

    /// Creates the repository if needed, adds the model card, uploads the folder in one commit
    /// (`push_adapter_to_hub`). Returns the repository as the Hub names it and the commit.
    public func push(
        folder: URL,
        to repoID: String,
        type: RepoType = .model,
        options: PushOptions = PushOptions(),
        progress: FileProgressHandler? = nil
    ) async throws -> (repo: RepoReference, commit: CommitInfo) {
        let requested = RepoReference(try RepoID(repoID), type: type)
        let repo = try await createRepo(requested, private: options.private, existOK: true)
        var extra: [String: Data] = [:]
        if let card = options.modelCard {
            let existing = folder.appendingPathComponent("README.md")
            if options.overwriteModelCard || !FileSystem.exists(existing) {
                extra["README.md"] = Data(card.render().utf8)
            }
        }
        let commit = try await uploadFolder(
            folder, to: repo, revision: options.revision, commitMessage: options.commitMessage,
            commitDescription: options.commitDescription, ignorePatterns: options.ignorePatterns,
            extraFiles: extra, progress: progress)
        return (repo, commit)
    }

    /// Uploads every file below `folder` (minus ``defaultUploadIgnorePatterns`` and `ignorePatterns`), plus
    /// `extraFiles` (which replace files of the same path), as one commit.
    public func uploadFolder(
        _ folder: URL,
        to repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        commitMessage: String = "Upload folder",
        commitDescription: String = "",
        ignorePatterns: [String] = [],
        extraFiles: [String: Data] = [:],
        progress: FileProgressHandler? = nil
    ) async throws -> CommitInfo {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw HubError.fileSystem(path: folder.path, reason: "not a folder") }
        let paths = GlobPattern.filter(
            Self.relativeFiles(in: folder), allow: nil, ignore: Self.defaultUploadIgnorePatterns + ignorePatterns)
        var items = paths.filter { extraFiles[$0] == nil }.map { path in
            UploadItem(
                pathInRepo: path,
                source: .file(path.split(separator: "/").reduce(folder) { $0.appendingPathComponent(String($1)) }))
        }
        items += extraFiles.keys.sorted().compactMap { path in
            extraFiles[path].map { UploadItem(pathInRepo: path, source: .data($0)) }
        }
        return try await upload(
            items, to: repo, revision: revision, commitMessage: commitMessage,
            commitDescription: commitDescription, progress: progress)
    }

    /// Commits `items` to `repo` at branch `revision` (`create_commit`): asks `preupload` which files go to LFS,
    /// uploads those through the git-lfs batch API (skipping objects the server already has), then posts one
    /// NDJSON commit with the regular files inline (base64) and the LFS files by sha256 and size.
    public func upload(
        _ items: [UploadItem],
        to repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        commitMessage: String,
        commitDescription: String = "",
        progress: FileProgressHandler? = nil
    ) async throws -> CommitInfo {
        try RepoPath.validateRevision(revision)
        try requireOnline(repo, operation: "upload")
        let prepared = try items.map { try PreparedUpload($0) }
        let modes = try await fetchUploadModes(prepared, repo: repo, revision: revision)

        let lfsFiles = prepared.filter {
            modes[$0.path]?.mode == "lfs" && $0.size > 0 && modes[$0.path]?.ignore != true
        }
        try await uploadLFS(lfsFiles, repo: repo, revision: revision, progress: progress)

        var lines: [[String: Any]] = [
            ["key": "header", "value": ["summary": commitMessage, "description": commitDescription]]
        ]
        for file in prepared where modes[file.path]?.ignore != true {
            if lfsFiles.contains(where: { $0.path == file.path }) {
                lines.append([
                    "key": "lfsFile",
                    "value": ["path": file.path, "algo": "sha256", "oid": file.sha256, "size": file.size],
                ])
            } else {
                let content = try file.contents().base64EncodedString()
                lines.append(["key": "file", "value": ["path": file.path, "encoding": "base64", "content": content]])
                progress?(file.path, file.size, file.size)
            }
        }
        var body = Data()
        for line in lines {
            body.append(try Self.json(line))
            body.append(UInt8(ascii: "\n"))
        }
        let context = RequestContext(operation: "commit", repo: repo, revision: revision, path: nil)
        let url = apiURL(repo, "commit/" + URLEncoding.encode(revision, keepSlash: false))
        // Not retried, as in huggingface_hub: a commit whose reply was lost would be made twice.
        let response = try await transport.send(
            .POST, url, headers: [("Content-Type", "application/x-ndjson")], body: .data(body), retrying: false,
            deadline: .seconds(300), context: context)
        try transport.check(response, context)
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let oid = object["commitOid"] as? String
        else { throw HubError.invalidResponse(repo: repo, operation: "commit", reason: "no commitOid in the reply") }
        return CommitInfo(oid: oid, url: object["commitUrl"] as? String ?? "")
    }

    // MARK: - Steps

    private struct UploadMode {
        var mode: String
        var ignore: Bool
    }

    /// `POST /api/{type}s/{repo}/preupload/{revision}`, 256 files at a time. Empty files are always regular.
    private func fetchUploadModes(
        _ files: [PreparedUpload], repo: RepoReference, revision: String
    ) async throws -> [String: UploadMode] {
        let context = RequestContext(operation: "preupload", repo: repo, revision: revision, path: nil)
        let url = apiURL(repo, "preupload/" + URLEncoding.encode(revision, keepSlash: false))
        var modes: [String: UploadMode] = [:]
        var start = 0
        while start < files.count {
            let chunk = files[start..<min(files.count, start + 256)]
            start += 256
            let payload: [String: Any] = [
                "files": chunk.map { ["path": $0.path, "sample": $0.sample.base64EncodedString(), "size": $0.size] }
            ]
            let (reply, _) = try await transport.sendJSON(
                PreuploadReply.self, .POST, url, headers: [("Content-Type", "application/json")],
                body: .data(try Self.json(payload)), context: context)
            for file in reply.files {
                guard file.uploadMode == "lfs" || file.uploadMode == "regular" else {
                    throw HubError.invalidResponse(
                        repo: repo, operation: "preupload", reason: "unknown uploadMode '\(file.uploadMode)'")
                }
                modes[file.path] = UploadMode(mode: file.uploadMode, ignore: file.shouldIgnore ?? false)
            }
        }
        for file in files {
            guard modes[file.path] != nil else {
                throw HubError.invalidResponse(repo: repo, operation: "preupload", reason: "no mode for '\(file.path)'")
            }
            if file.size == 0 { modes[file.path]?.mode = "regular" }
        }
        return modes
    }

    /// git-lfs batch API (basic transfer): PUT each object the server asks for, then POST its verify action.
    private func uploadLFS(
        _ files: [PreparedUpload], repo: RepoReference, revision: String, progress: FileProgressHandler?
    ) async throws {
        guard !files.isEmpty else { return }
        let batchURL = transport.endpoint + "/" + repo.type.urlPrefix + repo.id.id + ".git/info/lfs/objects/batch"
        let lfsHeaders = [
            ("Accept", "application/vnd.git-lfs+json"), ("Content-Type", "application/vnd.git-lfs+json"),
        ]
        let context = RequestContext(operation: "LFS batch", repo: repo, revision: revision, path: nil)
        var start = 0
        while start < files.count {
            let chunk = Array(files[start..<min(files.count, start + 256)])
            start += 256
            let payload: [String: Any] = [
                "operation": "upload",
                "transfers": ["basic"],
                "objects": chunk.map { ["oid": $0.sha256, "size": $0.size] },
                "hash_algo": "sha256",
                "ref": ["name": revision],
            ]
            let (reply, _) = try await transport.sendJSON(
                LFSBatchReply.self, .POST, batchURL, headers: lfsHeaders, body: .data(try Self.json(payload)),
                context: context)
            for object in reply.objects {
                guard let file = chunk.first(where: { $0.sha256 == object.oid }) else {
                    throw HubError.invalidResponse(
                        repo: repo, operation: "LFS batch", reason: "unexpected object \(object.oid)")
                }
                if let error = object.error {
                    throw HubError.lfsUploadRejected(
                        repo: repo, path: file.path, code: error.code, message: transport.redact(error.message))
                }
                guard let upload = object.actions?.upload else {
                    logger.debug("\(file.path) already on the LFS server")
                    progress?(file.path, file.size, file.size)
                    continue
                }
                try await putLFS(file, action: upload, repo: repo, progress: progress)
                if let verify = object.actions?.verify {
                    try await verifyLFS(file, action: verify, repo: repo)
                }
            }
        }
    }

    private func putLFS(
        _ file: PreparedUpload, action: LFSAction, repo: RepoReference, progress: FileProgressHandler?
    ) async throws {
        var headers = (action.header ?? [:]).filter { $0.key.lowercased() != "authorization" }.map {
            ($0.key, $0.value)
        }
        if headers.contains(where: { $0.0 == "chunk_size" }) {
            throw HubError.unsupportedTransfer(
                repo: repo, path: file.path, reason: "the server asked for a multipart LFS upload, not implemented")
        }
        headers.append(("Content-Type", "application/octet-stream"))
        let context = RequestContext(
            operation: "LFS upload of \(file.path)", repo: repo, revision: nil, path: file.path)
        progress?(file.path, 0, file.size)
        // Pre-signed URL: never send the Hub token there (as `_upload_single_part` does not).
        let response = try await transport.send(
            .PUT, action.href, headers: headers, body: file.body, authorize: false, deadline: .hours(6),
            context: context)
        try transport.check(response, context)
        progress?(file.path, file.size, file.size)
    }

    private func verifyLFS(_ file: PreparedUpload, action: LFSAction, repo: RepoReference) async throws {
        var headers = (action.header ?? [:]).filter { $0.key.lowercased() != "authorization" }.map {
            ($0.key, $0.value)
        }
        headers.append(("Content-Type", "application/vnd.git-lfs+json"))
        headers.append(("Accept", "application/vnd.git-lfs+json"))
        let context = RequestContext(
            operation: "LFS verify of \(file.path)", repo: repo, revision: nil, path: file.path)
        let body = try Self.json(["oid": file.sha256, "size": file.size])
        let response = try await transport.send(
            .POST, action.href, headers: headers, body: .data(body), context: context)
        try transport.check(response, context)
    }

    private func requireOnline(_ repo: RepoReference, operation: String) throws {
        if environment.offline {
            throw HubError.network(repo: repo, operation: operation, reason: "offline mode is on (HF_HUB_OFFLINE)")
        }
    }

    static func json(_ object: Any) throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw HubError.invalidResponse(repo: nil, operation: "encoding a request", reason: "\(error)")
        }
    }
}

/// A file ready to upload: size, first 512 bytes and sha256 computed once.
private struct PreparedUpload {
    let path: String
    let source: UploadItem.Source
    let size: Int64
    let sample: Data
    let sha256: String

    init(_ item: UploadItem) throws {
        try RepoPath.validateFilePath(item.pathInRepo)
        path = item.pathInRepo
        source = item.source
        switch item.source {
        case .data(let data):
            size = Int64(data.count)
            sample = data.prefix(512)
            sha256 = FileDigest.sha256(of: data)
        case .file(let url):
            guard let fileSize = FileSystem.fileSize(url) else {
                throw HubError.fileSystem(path: url.path, reason: "cannot read file")
            }
            size = fileSize
            sample = try FileDigest.prefix(of: url, count: 512)
            sha256 = try FileDigest.sha256(of: url)
        }
    }

    func contents() throws -> Data {
        switch source {
        case .data(let data):
            return data
        case .file(let url):
            do {
                return try Data(contentsOf: url)
            } catch {
                throw HubError.fileSystem(path: url.path, reason: "cannot read: \(error.localizedDescription)")
            }
        }
    }

    var body: HubRequestBody {
        switch source {
        case .data(let data): return .data(data)
        case .file(let url): return .file(url, size: size)
        }
    }
}

// Internal rather than private: the Hub fuzz target decodes these replies too.
struct PreuploadReply: Decodable {
    struct File: Decodable {
        var path: String
        var uploadMode: String
        var shouldIgnore: Bool?
    }

    var files: [File]
}

struct LFSAction: Decodable {
    var href: String
    var header: [String: String]?
}

struct LFSBatchReply: Decodable {
    struct Object: Decodable {
        struct Actions: Decodable {
            var upload: LFSAction?
            var verify: LFSAction?
        }

        struct ObjectError: Decodable {
            var code: Int?
            var message: String
        }

        var oid: String
        var size: Int64?
        var actions: Actions?
        var error: ObjectError?
    }

    var objects: [Object]
}
