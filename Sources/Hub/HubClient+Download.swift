import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What a HEAD on a `resolve` URL says about a file.
public struct FileMetadata: Sendable, Equatable {
    /// The commit the revision resolved to (`X-Repo-Commit`).
    public var commit: String
    /// The blob name: sha256 for LFS files (`X-Linked-Etag`), git blob sha1 otherwise (`ETag`), unquoted.
    public var etag: String
    /// Size in bytes (`X-Linked-Size`, else `Content-Length`).
    public var size: Int64
    /// Where to GET the bytes: the CDN URL for LFS files, else the resolve URL.
    public var location: String

    /// True when the etag is a sha256, which the downloaded bytes are then checked against.
    public var isLFS: Bool { FileDigest.isSHA256(etag) }
}

extension HubClient {
    /// Downloads one file into the cache (or finds it there) and returns its path inside the snapshot folder,
    /// `.../snapshots/<commit>/<path>`, a symlink into `blobs/`.
    ///
    /// Mirrors `hf_hub_download`: no request at all when `revision` is a commit hash already cached; a HEAD for
    /// the etag and commit otherwise, then a GET only if the blob is missing. Offline, or when the Hub cannot be
    /// reached or refuses access, a cached copy of the revision is returned instead.
    public func downloadFile(
        _ path: String,
        from repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        progress: ProgressHandler? = nil
    ) async throws -> URL {
        try RepoPath.validateFilePath(path)
        try RepoPath.validateRevision(revision)

        if RepoPath.isCommitHash(revision), let cached = cache.cachedFile(repo, revision: revision, path: path) {
            return cached
        }
        if environment.offline {
            if let cached = cache.cachedFile(repo, revision: revision, path: path) { return cached }
            throw HubError.notInCache(repo: repo, revision: revision, path: path, offline: true)
        }

        let metadata: FileMetadata
        do {
            // First try without retries: if the Hub is down, a cached copy is better than waiting.
            metadata = try await fileMetadata(path, in: repo, revision: revision, retrying: false)
        } catch let error as HubError where error.allowsCacheFallback {
            if let cached = cache.cachedFile(repo, revision: revision, path: path) {
                logger.debug("using cached \(path) of \(repo) at \(revision): \(error)")
                return cached
            }
            guard error.isTransient else { throw error }
            metadata = try await fileMetadata(path, in: repo, revision: revision, retrying: true)
        }
        return try await store(path, from: repo, revision: revision, metadata: metadata, progress: progress)
    }

    /// Convenience for ``downloadFile(_:from:revision:progress:)`` with a repository id string.
    public func downloadFile(
        _ path: String,
        from repoID: String,
        type: RepoType = .model,
        revision: String = RepoPath.defaultRevision,
        progress: ProgressHandler? = nil
    ) async throws -> URL {
        try await downloadFile(
            path, from: RepoReference(RepoID(repoID), type: type), revision: revision, progress: progress)
    }

    /// HEAD `resolve/{revision}/{path}` (following relative redirects of renamed repositories, not the CDN one).
    public func fileMetadata(
        _ path: String,
        in repo: RepoReference,
        revision: String = RepoPath.defaultRevision,
        retrying: Bool = true
    ) async throws -> FileMetadata {
        try RepoPath.validateFilePath(path)
        let url = resolveURL(repo, revision: revision, path: path)
        let context = RequestContext(operation: "metadata of \(path)", repo: repo, revision: revision, path: path)
        let response = try await transport.send(
            .HEAD, url, headers: [("Accept-Encoding", "identity")], retrying: retrying,
            redirects: .relativeOnly, context: context)
        try transport.check(response, context)

        func missing(_ header: String) -> HubError {
            .invalidResponse(repo: repo, operation: context.operation, reason: "no \(header) header")
        }
        guard let commit = response.header("X-Repo-Commit"), !commit.isEmpty else {
            throw missing("X-Repo-Commit (is HF_ENDPOINT a Hugging Face Hub?)")
        }
        // Commit and etag become path components in the cache: accept only what the Hub sends.
        guard RepoPath.isCommitHash(commit) else {
            throw HubError.invalidResponse(
                repo: repo, operation: context.operation, reason: "X-Repo-Commit is not a commit hash")
        }
        guard let etag = Self.normalizeETag(response.header("X-Linked-Etag") ?? response.header("ETag")) else {
            throw missing("ETag")
        }
        let sizeText =
            response.header("X-Linked-Size") ?? (response.isRedirect ? nil : response.header("Content-Length"))
        guard let sizeText, let size = Int64(sizeText), size >= 0 else { throw missing("size (X-Linked-Size)") }
        guard !etag.contains("/"), !etag.contains("\\"), etag != ".", etag != ".." else {
            throw HubError.invalidResponse(
                repo: repo, operation: context.operation, reason: "the ETag cannot name a file in blobs/")
        }
        let location =
            response.isRedirect
            ? (response.header("Location").flatMap { URL(string: $0, relativeTo: URL(string: response.url)) }?
                .absoluteURL.absoluteString ?? response.url)
            : response.url
        return FileMetadata(commit: commit, etag: etag, size: size, location: location)
    }

    /// `W/"abc"` or `"abc"` → `abc` (`_normalize_etag`).
    static func normalizeETag(_ etag: String?) -> String? {
        guard var etag else { return nil }
        if etag.hasPrefix("W/") { etag.removeFirst(2) }
        etag = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return etag.isEmpty ? nil : etag
    }

    /// Puts the file described by `metadata` into the cache: ref, blob (downloaded under a lock if missing) and
    /// snapshot symlink.
    func store(
        _ path: String,
        from repo: RepoReference,
        revision: String,
        metadata: FileMetadata,
        progress: ProgressHandler?
    ) async throws -> URL {
        let pointer = cache.pointerURL(repo, commit: metadata.commit, path: path)
        try cache.writeRef(repo, revision: revision, commit: metadata.commit)
        if FileSystem.exists(pointer) { return pointer }

        let blob = cache.blobURL(repo, etag: metadata.etag)
        try FileSystem.createDirectory(blob.deletingLastPathComponent())
        return try await FileLock.withLock(cache.lockURL(repo, etag: metadata.etag)) {
            if !FileSystem.exists(blob) {
                try await fetchBlob(metadata, path: path, repo: repo, into: blob, progress: progress)
            } else {
                progress?(metadata.size, metadata.size)
            }
            return try cache.linkPointer(repo, commit: metadata.commit, path: path, etag: metadata.etag)
        }
    }

    /// GETs the bytes into `blobs/<etag>.incomplete`, resuming what an earlier attempt left there with a Range
    /// request, then checks size (and sha256 for LFS) and renames it to `blobs/<etag>`. A failed check deletes the
    /// partial file: nothing half-written ever sits at a final path.
    func fetchBlob(
        _ metadata: FileMetadata,
        path: String,
        repo: RepoReference,
        into blob: URL,
        progress: ProgressHandler?
    ) async throws {
        let incomplete = cache.incompleteURL(repo, etag: metadata.etag)
        let context = RequestContext(
            operation: "download of \(path)", repo: repo, revision: metadata.commit, path: path)
        let expected = metadata.size
        var failures = 0

        while true {
            var done = FileSystem.fileSize(incomplete) ?? 0
            if done > expected {
                try? FileManager.default.removeItem(at: incomplete)
                done = 0
            }
            if done == expected { break }

            let outcome: DownloadAttempt
            do {
                outcome = try await downloadAttempt(
                    metadata.location, to: incomplete, from: done, expected: expected, repo: repo, context: context,
                    progress: progress)
            } catch let error as HubError {
                throw error
            } catch {
                guard HubTransport.isTransient(error) else {
                    throw transport.mapTransportError(error, context: context)
                }
                outcome = .interrupted(error)
            }
            switch outcome {
            case .finished:
                continue
            case .retryableStatus(let status, let retryAfter):
                failures += 1
                guard failures <= transport.retry.maxRetries else {
                    throw HubError.httpStatus(repo: repo, operation: context.operation, status: status, message: nil)
                }
                try await Task.sleep(for: transport.retry.delay(beforeRetry: failures, retryAfterSeconds: retryAfter))
            case .interrupted(let error):
                // Data that did arrive counts as progress: only attempts that get nothing use up retries.
                let now = FileSystem.fileSize(incomplete) ?? 0
                if now > done { failures = 0 }
                failures += 1
                guard failures <= transport.retry.maxRetries else {
                    throw transport.mapTransportError(error, context: context)
                }
                logger.debug("download of \(path) interrupted at \(now)/\(expected) bytes (\(error)); resuming")
                try await Task.sleep(for: transport.retry.delay(beforeRetry: failures, retryAfterSeconds: nil))
            }
        }

        if metadata.isLFS {
            let actual = try FileDigest.sha256(of: incomplete)
            if actual != metadata.etag {
                try? FileManager.default.removeItem(at: incomplete)
                throw HubError.checksumMismatch(repo: repo, path: path, expected: metadata.etag, actual: actual)
            }
        }
        try FileSystem.replace(incomplete, with: blob)
    }

    enum DownloadAttempt {
        case finished
        case retryableStatus(Int, retryAfter: Int?)
        case interrupted(any Error)
    }

    /// One GET from byte `offset`, appending to `file`. Follows redirects (the token only to the endpoint).
    private func downloadAttempt(
        _ url: String,
        to file: URL,
        from offset: Int64,
        expected: Int64,
        repo: RepoReference,
        context: RequestContext,
        progress: ProgressHandler?
    ) async throws -> DownloadAttempt {
        var extra = [("Accept-Encoding", "identity")]
        if offset > 0 { extra.append(("Range", "bytes=\(offset)-")) }
        var currentURL = url
        var response: HTTPClientResponse
        var redirects = 0
        while true {
            var request = HTTPClientRequest(url: currentURL)
            request.method = .GET
            request.headers = transport.headers(for: currentURL, authorize: true, extra: extra)
            // No overall deadline: a large file takes as long as it takes; the read timeout catches stalls.
            response = try await transport.client.execute(request, deadline: .distantFuture)
            let status = Int(response.status.code)
            transport.logger.debug("GET \(currentURL) -> \(status)")
            guard (300...399).contains(status), let location = response.headers.first(name: "Location"),
                let target = URL(string: location, relativeTo: URL(string: currentURL))?.absoluteURL.absoluteString
            else { break }
            redirects += 1
            guard redirects <= HubTransport.maxRedirects else {
                throw HubError.invalidResponse(
                    repo: context.repo, operation: context.operation, reason: "too many redirects")
            }
            currentURL = target
        }

        let status = Int(response.status.code)
        if RetryPolicy.retryableStatuses.contains(status) {
            return .retryableStatus(status, retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) })
        }
        var start = offset
        switch status {
        case 206:
            // The range must start where our file ends, else appending would corrupt it.
            let range = response.headers.first(name: "Content-Range") ?? ""
            if Self.contentRangeStart(range) != offset {
                try? FileManager.default.removeItem(at: file)
                return .finished
            }
        case 200:
            start = 0  // the server ignored Range: start over
        case 416:
            try? FileManager.default.removeItem(at: file)
            return .finished
        default:
            let body = try? await response.body.collect(upTo: 64 << 10)
            let reply = HubResponse(
                status: status, headers: response.headers, body: body.map { Data($0.readableBytesView) } ?? Data(),
                url: currentURL)
            throw transport.error(for: reply, context)
        }

        let handle = try Self.openForAppending(file, truncate: start == 0)
        defer { try? handle.close() }
        var written = start
        progress?(written, expected)
        for try await chunk in response.body {
            do {
                try chunk.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
            } catch {
                throw HubError.fileSystem(path: file.path, reason: "cannot write: \(error.localizedDescription)")
            }
            written += Int64(chunk.readableBytes)
            progress?(written, expected)
            if written > expected {
                try? handle.close()
                try? FileManager.default.removeItem(at: file)
                throw HubError.sizeMismatch(repo: repo, path: context.path ?? "", expected: expected, actual: written)
            }
        }
        if written < expected {
            // The body ended early without an error from the client: same as a dropped connection.
            return .interrupted(HTTPClientError.remoteConnectionClosed)
        }
        return .finished
    }

    /// `bytes 100-199/200` → 100.
    static func contentRangeStart(_ header: String) -> Int64? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = trimmed.dropFirst("bytes ".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        return Int64(spec[spec.startIndex..<dash])
    }

    private static func openForAppending(_ url: URL, truncate: Bool) throws -> FileHandle {
        let manager = FileManager.default
        if truncate || !manager.fileExists(atPath: url.path) {
            guard manager.createFile(atPath: url.path, contents: nil) else {
                throw HubError.fileSystem(path: url.path, reason: "cannot create file")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            return handle
        } catch {
            throw HubError.fileSystem(path: url.path, reason: "cannot open for writing: \(error.localizedDescription)")
        }
    }
}

extension HubError {
    /// Errors after which huggingface_hub looks in the cache before giving up: the Hub was unreachable, failed,
    /// or refused access, but did not say the revision or file does not exist.
    var allowsCacheFallback: Bool {
        switch self {
        case .network, .httpStatus, .unauthorized, .repositoryNotFound, .gatedRepo, .notFound, .invalidResponse:
            return true
        default:
            return false
        }
    }

    /// Errors worth another attempt with retries.
    var isTransient: Bool {
        switch self {
        case .network: return true
        case .httpStatus(_, _, let status, _): return RetryPolicy.retryableStatuses.contains(status)
        default: return false
        }
    }
}
