import Foundation

/// The on-disk cache, laid out exactly as Python's `huggingface_hub` lays it out so both can share it:
///
/// ```
/// <root>/models--org--name/
///     blobs/<etag>                      file contents, named by git-sha1 (regular) or sha256 (LFS)
///     blobs/<etag>.incomplete           a download in progress, resumed with a Range request
///     refs/<revision>                   the commit hash a branch or tag pointed to, no newline
///     snapshots/<commit>/<path>         relative symlink to ../../blobs/<etag> (more ../ when nested)
/// <root>/.locks/models--org--name/<etag>.lock
/// ```
public struct HubCache: Sendable {
    /// The cache folder (`HF_HUB_CACHE`).
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// `<root>/models--org--name`.
    public func repoFolder(_ repo: RepoReference) -> URL {
        root.appendingPathComponent(repo.cacheFolderName, isDirectory: true)
    }

    /// `blobs/<etag>`: the only place file contents live.
    public func blobURL(_ repo: RepoReference, etag: String) -> URL {
        repoFolder(repo).appendingPathComponent("blobs", isDirectory: true).appendingPathComponent(etag)
    }

    /// `blobs/<etag>.incomplete`: bytes received so far.
    public func incompleteURL(_ repo: RepoReference, etag: String) -> URL {
        repoFolder(repo).appendingPathComponent("blobs", isDirectory: true)
            .appendingPathComponent(etag + ".incomplete")
    }

    /// `snapshots/<commit>`: the folder a caller reads a whole repository from.
    public func snapshotFolder(_ repo: RepoReference, commit: String) -> URL {
        repoFolder(repo).appendingPathComponent("snapshots", isDirectory: true)
            .appendingPathComponent(commit, isDirectory: true)
    }

    /// `snapshots/<commit>/<path>`: the symlink to the blob.
    public func pointerURL(_ repo: RepoReference, commit: String, path: String) -> URL {
        var url = snapshotFolder(repo, commit: commit)
        for part in path.split(separator: "/") { url.appendPathComponent(String(part)) }
        return url
    }

    /// `refs/<revision>` (a revision such as `refs/pr/1` becomes nested folders, as in Python).
    public func refURL(_ repo: RepoReference, revision: String) -> URL {
        var url = repoFolder(repo).appendingPathComponent("refs", isDirectory: true)
        for part in revision.split(separator: "/") { url.appendPathComponent(String(part)) }
        return url
    }

    /// `.locks/models--org--name/<etag>.lock`, the same file Python's `filelock` takes.
    public func lockURL(_ repo: RepoReference, etag: String) -> URL {
        root.appendingPathComponent(".locks", isDirectory: true)
            .appendingPathComponent(repo.cacheFolderName, isDirectory: true)
            .appendingPathComponent(etag + ".lock")
    }

    /// The commit a revision means locally: the revision itself when it is a commit hash, else `refs/<revision>`.
    public func commitHash(_ repo: RepoReference, revision: String) -> String? {
        if RepoPath.isCommitHash(revision) { return revision }
        guard let text = try? String(contentsOf: refURL(repo, revision: revision), encoding: .utf8) else {
            return nil
        }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// The cached file for `path` at `revision`, if its snapshot symlink exists and resolves to a blob.
    public func cachedFile(_ repo: RepoReference, revision: String, path: String) -> URL? {
        guard let commit = commitHash(repo, revision: revision) else { return nil }
        let pointer = pointerURL(repo, commit: commit, path: path)
        return FileManager.default.fileExists(atPath: pointer.path) ? pointer : nil
    }

    /// The cached snapshot folder for `revision`, if it exists.
    public func cachedSnapshot(_ repo: RepoReference, revision: String) -> URL? {
        guard let commit = commitHash(repo, revision: revision) else { return nil }
        let folder = snapshotFolder(repo, commit: commit)
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory)
        return exists && isDirectory.boolValue ? folder : nil
    }

    /// Records that `revision` (a branch or tag) points at `commit`. Written to a temporary file and renamed,
    /// so a reader never sees half a hash; skipped when unchanged so a read-only cache still works.
    public func writeRef(_ repo: RepoReference, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = refURL(repo, revision: revision)
        if let current = try? String(contentsOf: ref, encoding: .utf8), current == commit { return }
        try FileSystem.createDirectory(ref.deletingLastPathComponent())
        let temporary = ref.deletingLastPathComponent()
            .appendingPathComponent(".\(ref.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            try Data(commit.utf8).write(to: temporary)
            try FileSystem.replace(temporary, with: ref)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw HubError.fileSystem(path: ref.path, reason: "cannot write ref: \(error.localizedDescription)")
        }
    }

    /// Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symlink (`../../blobs/<etag>`, one
    /// more `../` per folder level of `path`), so the cache keeps working when moved, as in Python.
    public func linkPointer(_ repo: RepoReference, commit: String, path: String, etag: String) throws -> URL {
        let pointer = pointerURL(repo, commit: commit, path: path)
        let depth = 2 + path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        try FileSystem.createDirectory(pointer.deletingLastPathComponent())
        let manager = FileManager.default
        if let existing = try? manager.destinationOfSymbolicLink(atPath: pointer.path), existing == target {
            return pointer
        }
        // A stale pointer (other blob, or a plain file) is replaced, as `_create_symlink` does.
        try? manager.removeItem(at: pointer)
        do {
            try manager.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
        } catch {
            // Another process may have linked the same blob between our remove and create.
            if let existing = try? manager.destinationOfSymbolicLink(atPath: pointer.path), existing == target {
                return pointer
            }
            throw HubError.fileSystem(
                path: pointer.path, reason: "cannot create symlink: \(error.localizedDescription)")
        }
        return pointer
    }
}

/// One file of a cached tree listing: `trees/<commit>.json`, in the format newer `huggingface_hub` versions write
/// (`format_version` 1), so both can skip listing a commit they have already listed.
public struct TreeCacheEntry: Sendable, Equatable, Codable {
    public var size: Int64
    public var blobID: String
    public var lfsSHA256: String?
    public var lfsSize: Int64?
    public var xetHash: String?

    enum CodingKeys: String, CodingKey {
        case size
        case blobID = "blob_id"
        case lfsSHA256 = "lfs_sha256"
        case lfsSize = "lfs_size"
        case xetHash = "xet_hash"
    }

    public init(size: Int64, blobID: String, lfsSHA256: String? = nil, lfsSize: Int64? = nil) {
        self.size = size
        self.blobID = blobID
        self.lfsSHA256 = lfsSHA256
        self.lfsSize = lfsSize
    }
}

extension HubCache {
    static let treeCacheFormatVersion = 1

    private struct TreeFile: Codable {
        var formatVersion: Int
        var files: [String: TreeCacheEntry]

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version"
            case files
        }
    }

    /// `trees/<commit>.json` inside the repository folder.
    public func treeURL(_ repo: RepoReference, commit: String) -> URL {
        repoFolder(repo).appendingPathComponent("trees", isDirectory: true).appendingPathComponent(commit + ".json")
    }

    /// The cached listing of `commit`, or nil when absent, unreadable or of another format version.
    public func readTree(_ repo: RepoReference, commit: String) -> [String: TreeCacheEntry]? {
        guard let data = try? Data(contentsOf: treeURL(repo, commit: commit)),
            let file = try? JSONDecoder().decode(TreeFile.self, from: data),
            file.formatVersion == Self.treeCacheFormatVersion
        else { return nil }
        return file.files
    }

    /// Stores the listing of `commit` (atomically; failures are ignored, the cache is only an optimisation).
    public func writeTree(_ repo: RepoReference, commit: String, files: [String: TreeCacheEntry]) {
        let url = treeURL(repo, commit: commit)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard RepoPath.isCommitHash(commit),
            let data = try? encoder.encode(TreeFile(formatVersion: Self.treeCacheFormatVersion, files: files)),
            (try? FileSystem.createDirectory(url.deletingLastPathComponent())) != nil
        else { return }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
            try FileSystem.replace(temporary, with: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
        }
    }
}
