import Foundation

/// `GET /api/{models|datasets}/{repo}/revision/{revision}`: the commit and the files of a repository.
public struct RepoInfo: Sendable, Decodable, Equatable {
    /// The repository id as the server spells it (it follows renames).
    public var id: String?
    /// The commit the revision resolved to.
    public var sha: String
    /// Every file in the repository at that commit.
    public var siblings: [Sibling]
    /// Whether the repository is private, when the server says.
    public var `private`: Bool?

    public struct Sibling: Sendable, Decodable, Equatable {
        public var rfilename: String
    }

    /// The paths of all files.
    public var files: [String] { siblings.map(\.rfilename) }

    enum CodingKeys: String, CodingKey {
        case id, sha, siblings, `private`
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        sha = try container.decode(String.self, forKey: .sha)
        siblings = try container.decodeIfPresent([Sibling].self, forKey: .siblings) ?? []
        `private` = try container.decodeIfPresent(Bool.self, forKey: .private)
    }
}

/// One entry of `GET /api/{type}s/{repo}/tree/{revision}/{path}`.
public struct RepoEntry: Sendable, Decodable, Equatable {
    /// `file` or `directory`.
    public var type: String
    /// Path from the repository root.
    public var path: String
    /// Git object id (blob or tree).
    public var oid: String?
    /// Size in bytes (for LFS files the size of the real file).
    public var size: Int64?
    /// For LFS files: the file's sha256 and size.
    public var lfs: LFSInfo?

    public struct LFSInfo: Sendable, Decodable, Equatable {
        public var oid: String
        public var size: Int64
    }

    public var isDirectory: Bool { type == "directory" }
}

/// Which files of a repository to download.
public struct FileSelection: Sendable, Equatable {
    /// Keep only paths matching one of these (fnmatch, `*` crosses `/`); nil keeps all.
    public var allowPatterns: [String]?
    /// Drop paths matching one of these.
    public var ignorePatterns: [String]?
    /// Drop PyTorch/TF/Flax/ONNX weight files when the repository has `.safetensors` weights.
    public var preferSafetensors: Bool

    public init(allowPatterns: [String]? = nil, ignorePatterns: [String]? = nil, preferSafetensors: Bool = false) {
        self.allowPatterns = allowPatterns
        self.ignorePatterns = ignorePatterns
        self.preferSafetensors = preferSafetensors
    }

    /// Every file.
    public static let all = FileSelection()

    /// What an encoder needs: configs, tokenizer files and weights, preferring safetensors and skipping the
    /// other frameworks' exports (TF, Flax, ONNX, Core ML, OpenVINO, GGUF, Rust).
    public static let model = FileSelection(
        ignorePatterns: [
            "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "onnx/", "*.tflite", "*.mlmodel", "*.mlpackage/",
            "coreml/", "openvino/", "*.gguf", "*.ckpt", "*.ckpt.index", "*.ckpt.data-*", "*.pb", "tf_model*",
            "flax_model*", "rust_model*", "*.npz",
        ],
        preferSafetensors: true
    )

    /// Exactly these paths (no pattern characters interpreted).
    public static func files(_ paths: [String]) -> FileSelection {
        FileSelection(allowPatterns: paths.map(Self.escapeGlob))
    }

    /// Applies the selection to a repository's file list.
    public func apply(to paths: [String]) -> [String] {
        var ignore = ignorePatterns ?? []
        if preferSafetensors, paths.contains(where: { $0.hasSuffix(".safetensors") }) {
            ignore += ["*.bin", "*.pt", "*.pth"]
        }
        return GlobPattern.filter(paths, allow: allowPatterns, ignore: ignore.isEmpty ? nil : ignore)
    }

    /// Wraps fnmatch's special characters in `[...]` so they match literally.
    static func escapeGlob(_ path: String) -> String {
        var result = ""
        for character in path {
            switch character {
            case "*", "?", "[": result += "[\(character)]"
            default: result.append(character)
            }
        }
        return result
    }
}

extension HubClient {
    /// The commit and file list of `repo` at `revision` (retried; follows renames).
    public func repoInfo(
        _ repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        retrying: Bool = true
    ) async throws -> RepoInfo {
        try RepoPath.validateRevision(revision)
        let context = RequestContext(operation: "repository info", repo: repo, revision: revision, path: nil)
        if environment.offline { throw HubError.notInCache(repo: repo, revision: revision, path: nil, offline: true) }
        let url = apiURL(repo, "revision/" + URLEncoding.encode(revision, keepSlash: false))
        let (info, _) = try await transport.sendJSON(RepoInfo.self, .GET, url, retrying: retrying, context: context)
        guard RepoPath.isCommitHash(info.sha) else {
            throw HubError.invalidResponse(
                repo: repo, operation: context.operation, reason: "'sha' is not a commit hash")
        }
        return info
    }

    /// Lists files (and, unless `recursive`, folders) under `folder` (the root when nil), following the API's
    /// `Link: <...>; rel="next"` pagination.
    public func listFiles(
        _ repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        folder: String? = nil,
        recursive: Bool = true
    ) async throws -> [RepoEntry] {
        try RepoPath.validateRevision(revision)
        if let folder { try RepoPath.validateFilePath(folder) }
        if environment.offline {
            throw HubError.notInCache(repo: repo, revision: revision, path: folder, offline: true)
        }
        let context = RequestContext(operation: "file listing", repo: repo, revision: revision, path: folder)
        var url = apiURL(repo, "tree/" + URLEncoding.encode(revision, keepSlash: false))
        if let folder { url += "/" + URLEncoding.encode(folder, keepSlash: false) }
        url += "?recursive=\(recursive ? "true" : "false")"
        var entries: [RepoEntry] = []
        var next: String? = url
        var pages = 0
        while let pageURL = next {
            pages += 1
            guard pages <= 10_000 else {
                throw HubError.invalidResponse(repo: repo, operation: context.operation, reason: "endless pagination")
            }
            let (page, response) = try await transport.sendJSON([RepoEntry].self, .GET, pageURL, context: context)
            entries += page
            next = Self.nextPageURL(response.header("Link"), relativeTo: response.url)
        }
        return entries
    }

    /// The `rel="next"` target of a `Link` header.
    static func nextPageURL(_ link: String?, relativeTo base: String) -> String? {
        guard let link else { return nil }
        for part in link.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">"),
                pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "rel=\"next\"" })
            else { continue }
            let raw = String(target.dropFirst().dropLast())
            return URL(string: raw, relativeTo: URL(string: base))?.absoluteURL.absoluteString
        }
        return nil
    }

    /// Downloads the files of `repo` at `revision` chosen by `selection` and returns the snapshot folder
    /// `.../snapshots/<commit>/` (`snapshot_download`).
    ///
    /// A revision request for a branch or tag, the commit's file listing (tree API, cached in `trees/<commit>.json`
    /// as newer huggingface_hub does), then each file as ``downloadFile(_:from:revision:progress:)`` with the commit
    /// hash, so files already cached cost no request: a second snapshot by commit hash makes no request at all.
    /// Offline, or when the Hub cannot be reached or refuses access, the cached snapshot of the revision is
    /// returned if there is one.
    public func snapshot(
        _ repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        selection: FileSelection = .all,
        maxConcurrentDownloads: Int = 4,
        progress: FileProgressHandler? = nil
    ) async throws -> URL {
        try await snapshotWithFiles(
            repo, revision: revision, selection: selection, maxConcurrentDownloads: maxConcurrentDownloads,
            progress: progress
        ).folder
    }

    /// Like ``snapshot(_:revision:selection:maxConcurrentDownloads:progress:)``, also returning the commit and
    /// the repository paths that were selected (when answered from the cache without the Hub: those of the cached
    /// listing, or none if there is no listing).
    public func snapshotWithFiles(
        _ repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        selection: FileSelection = .all,
        maxConcurrentDownloads: Int = 4,
        progress: FileProgressHandler? = nil
    ) async throws -> (folder: URL, commit: String, files: [String]) {
        try RepoPath.validateRevision(revision)
        func cachedSnapshot() -> (URL, String, [String])? {
            guard let folder = cache.cachedSnapshot(repo, revision: revision),
                let commit = cache.commitHash(repo, revision: revision)
            else { return nil }
            let listed = cache.readTree(repo, commit: commit).map { selection.apply(to: $0.keys.sorted()) }
            return (folder, commit, listed ?? [])
        }
        if environment.offline {
            if let cached = cachedSnapshot() { return cached }
            throw HubError.notInCache(repo: repo, revision: revision, path: nil, offline: true)
        }

        var commit = revision
        if !RepoPath.isCommitHash(revision) {
            do {
                // First without retries: if the Hub is down, a cached snapshot is better than waiting.
                commit = try await repoInfo(repo, revision: revision, retrying: false).sha
            } catch let error as HubError where error.allowsCacheFallback {
                if let cached = cachedSnapshot() {
                    logger.debug("using cached snapshot of \(repo) at \(revision): \(error)")
                    return cached
                }
                guard error.isTransient else { throw error }
                commit = try await repoInfo(repo, revision: revision, retrying: true).sha
            }
            try cache.writeRef(repo, revision: revision, commit: commit)
        }
        let tree: [String: TreeCacheEntry]
        do {
            tree = try await treeListing(repo, commit: commit)
        } catch let error as HubError where error.allowsCacheFallback {
            if let cached = cachedSnapshot() { return cached }
            throw error
        }
        let files = selection.apply(to: tree.keys.sorted())
        try FileSystem.createDirectory(cache.snapshotFolder(repo, commit: commit))
        try await downloadFiles(
            files, from: repo, commit: commit, maxConcurrent: maxConcurrentDownloads, progress: progress)
        return (cache.snapshotFolder(repo, commit: commit), commit, files)
    }

    /// The files of `commit`: from `trees/<commit>.json` when cached (a commit never changes), else from the
    /// recursive tree API, then cached.
    public func treeListing(_ repo: RepoReference, commit: String) async throws -> [String: TreeCacheEntry] {
        if let cached = cache.readTree(repo, commit: commit) { return cached }
        var files: [String: TreeCacheEntry] = [:]
        for entry in try await listFiles(repo, revision: commit, recursive: true) where !entry.isDirectory {
            files[entry.path] = TreeCacheEntry(
                size: entry.size ?? 0, blobID: entry.oid ?? "", lfsSHA256: entry.lfs?.oid, lfsSize: entry.lfs?.size)
        }
        cache.writeTree(repo, commit: commit, files: files)
        return files
    }

    /// Downloads `files` at `commit` with at most `maxConcurrent` transfers at a time; returns their local URLs in
    /// the order given.
    @discardableResult
    public func downloadFiles(
        _ files: [String],
        from repo: RepoReference,
        commit: String,
        maxConcurrent: Int = 4,
        progress: FileProgressHandler? = nil
    ) async throws -> [URL] {
        var results = [URL?](repeating: nil, count: files.count)
        try await withThrowingTaskGroup(of: (Int, URL).self) { group in
            var next = 0
            func addTask() {
                let index = next
                let path = files[index]
                next += 1
                group.addTask {
                    let handler: ProgressHandler? = progress.map { report in
                        { @Sendable done, total in report(path, done, total) }
                    }
                    return (index, try await self.downloadFile(path, from: repo, revision: commit, progress: handler))
                }
            }
            while next < files.count && next < max(1, maxConcurrent) { addTask() }
            while let (index, url) = try await group.next() {
                results[index] = url
                if next < files.count { addTask() }
            }
        }
        return results.compactMap { $0 }
    }
}
