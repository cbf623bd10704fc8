import Foundation
import Hub
import HubTestServer
import Testing

@Suite("Downloads into the huggingface_hub cache layout")
struct DownloadTests {
    @Test func singleFileLandsInBlobsRefsAndSnapshots() async throws {
        try await HubFixture.with { hub in
            let commit = hub.server.addRepo("org/tiny", files: modelFiles())
            let repo = RepoReference(try RepoID("org/tiny"))
            let path = try await hub.client.downloadFile("config.json", from: repo)

            let folder = hub.cache.root.appendingPathComponent("models--org--tiny")
            #expect(path.path == folder.appendingPathComponent("snapshots/\(commit)/config.json").path)
            #expect(try contents(path) == modelFiles()["config.json"])
            #expect(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8) == commit)
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: path.path)
            #expect(target.hasPrefix("../../blobs/"))
            let etag = String(target.dropFirst("../../blobs/".count))
            #expect(etag.count == 40)  // git blob sha1 for a regular file
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("blobs/\(etag)").path))
        }
    }

    @Test func modelFolderSnapshotWithLFSWeights() async throws {
        try await HubFixture.with { hub in
            let files = modelFiles()
            let commit = hub.server.addRepo("org/model", files: files)
            #expect(hub.server.isLFS("org/model", path: "model.safetensors") == true)
            let repo = RepoReference(try RepoID("org/model"))
            let recorder = ProgressRecorder()
            let folder = try await hub.client.snapshot(repo, progress: recorder.handler)

            #expect(folder.path.hasSuffix("models--org--model/snapshots/\(commit)"))
            for (path, data) in files {
                #expect(try contents(folder.appendingPathComponent(path)) == data, "\(path)")
            }
            let weights = folder.appendingPathComponent("model.safetensors").path
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: weights)
            let sha = String(target.dropFirst("../../blobs/".count))
            #expect(sha.count == 64)  // LFS blobs are named by sha256
            #expect(recorder.last("model.safetensors")?.done == 300_000)
            #expect(recorder.last("model.safetensors")?.total == 300_000)
            let blobs = try FileManager.default.contentsOfDirectory(
                atPath: hub.cache.root.appendingPathComponent("models--org--model/blobs").path)
            #expect(blobs.count == files.count)
            #expect(!blobs.contains { $0.hasSuffix(".incomplete") })
        }
    }

    @Test func nestedPathsGetDeeperRelativeSymlinks() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/nested", files: ["a/b/c.txt": Data("deep".utf8)])
            let path = try await hub.client.downloadFile("a/b/c.txt", from: "org/nested")
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: path.path).hasPrefix("../../../../blobs/"))
            #expect(try contents(path) == Data("deep".utf8))
        }
    }

    @Test func secondDownloadMakesNoRequest() async throws {
        try await HubFixture.with { hub in
            let commit = hub.server.addRepo("org/model", files: modelFiles())
            let repo = RepoReference(try RepoID("org/model"))
            _ = try await hub.client.snapshot(repo)
            hub.server.resetRequestLog()

            // By commit hash: answered from the cache without any request.
            let folder = try await hub.client.snapshot(repo, revision: commit)
            let file = try await hub.client.downloadFile("model.safetensors", from: repo, revision: commit)
            #expect(hub.server.requestCount == 0)
            #expect(file.path.hasPrefix(folder.path))

            // By branch: one revision lookup, no file request at all (as snapshot_download does).
            _ = try await hub.client.snapshot(repo)
            #expect(hub.server.requests.map(\.method) == ["GET"])
            #expect(hub.server.requests.first?.uri.contains("/api/models/org/model/revision/main") == true)
        }
    }

    @Test func existingBlobIsLinkedWithoutGET() async throws {
        try await HubFixture.with { hub in
            let files = modelFiles()
            hub.server.addRepo("org/model", files: files)
            let repo = RepoReference(try RepoID("org/model"))
            _ = try await hub.client.downloadFile("model.safetensors", from: repo)
            // A new commit with the same weights: new snapshot folder, same blob.
            let second = hub.server.commit("org/model", files: ["README.md": Data("# hi".utf8)])
            hub.server.resetRequestLog()
            let path = try await hub.client.downloadFile("model.safetensors", from: repo)
            #expect(path.path.contains("/snapshots/\(second)/"))
            #expect(hub.server.requests.map(\.method) == ["HEAD"])
        }
    }

    @Test func concurrentDownloadsOfOneBlobShareTheLockAndOneGET() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let repo = RepoReference(try RepoID("org/model"))
            let other = try hub.client()
            async let first = hub.client.downloadFile("model.safetensors", from: repo)
            async let second = other.downloadFile("model.safetensors", from: repo)
            let (a, b) = try await (first, second)
            try await other.shutdown()
            #expect(a == b)
            #expect(try contents(a) == modelFiles()["model.safetensors"])
            #expect(hub.server.requests.filter { $0.method == "GET" && $0.uri.contains("/lfs-cdn/") }.count == 1)
            let lock = hub.cache.lockURL(repo, etag: String(a.resolvingSymlinksInPath().lastPathComponent))
            #expect(FileManager.default.fileExists(atPath: lock.path))
        }
    }

    @Test func tagsAndCommitsResolveAndRefsAreRecorded() async throws {
        try await HubFixture.with { hub in
            let first = hub.server.addRepo("org/model", files: ["config.json": Data("1".utf8)])
            hub.server.tag("org/model", tag: "v1", commit: first)
            hub.server.commit("org/model", files: ["config.json": Data("2".utf8)])
            let repo = RepoReference(try RepoID("org/model"))
            let old = try await hub.client.downloadFile("config.json", from: repo, revision: "v1")
            let new = try await hub.client.downloadFile("config.json", from: repo)
            #expect(try contents(old) == Data("1".utf8))
            #expect(try contents(new) == Data("2".utf8))
            #expect(hub.cache.commitHash(repo, revision: "v1") == first)
        }
    }

    @Test func renamedRepositoryFollowsRelativeRedirect() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/old-name", files: modelFiles())
            hub.server.renameRepo("org/old-name", to: "org/new-name")
            let repo = RepoReference(try RepoID("org/old-name"))
            let folder = try await hub.client.snapshot(repo)
            #expect(
                try contents(folder.appendingPathComponent("model.safetensors")) == modelFiles()["model.safetensors"])
            // The cache keeps the name that was asked for, as in Python.
            #expect(folder.path.contains("models--org--old-name"))
        }
    }

    @Test func datasetRepositoriesUseTheirPrefixAndFolder() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo(
                "org/data", type: .dataset, files: ["data/train-00000-of-00001.parquet": fixtureBytes(1000)])
            let repo = RepoReference(try RepoID("org/data"), type: .dataset)
            let path = try await hub.client.downloadFile("data/train-00000-of-00001.parquet", from: repo)
            #expect(path.path.contains("/datasets--org--data/snapshots/"))
            #expect(hub.server.requests.contains { $0.uri.hasPrefix("/datasets/org/data/resolve/main/") })
        }
    }

    @Test func bareCanonicalModelNames() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("roberta-base", files: modelFiles())
            let folder = try await hub.client.resolveFolder("roberta-base", selection: .model)
            #expect(folder.path.contains("/models--roberta-base/snapshots/"))
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path))
        }
    }
}

/// Keeps the last progress report per file.
final class ProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [String: (done: Int64, total: Int64?)] = [:]

    var handler: FileProgressHandler {
        { [self] path, done, total in
            self.lock.lock()
            self.reports[path] = (done, total)
            self.lock.unlock()
        }
    }

    func last(_ path: String) -> (done: Int64, total: Int64?)? {
        lock.lock()
        defer { lock.unlock() }
        return reports[path]
    }
}
