import Foundation
import Hub
import HubTestServer
import Testing

@Suite("Uploads: create repo, preupload, LFS batch, NDJSON commit")
struct UploadTests {
    /// An adapter folder: a small regular config and LFS weights.
    func adapterFolder(in root: URL) throws -> URL {
        let folder = root.appendingPathComponent("my-adapter")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("head"), withIntermediateDirectories: true)
        try Data(#"{"config": {"architecture": "lora"}}"#.utf8).write(
            to: folder.appendingPathComponent("adapter_config.json"))
        try fixtureBytes(200_000, seed: 11).write(to: folder.appendingPathComponent("adapter.safetensors"))
        try Data(#"{"head_type": "classification"}"#.utf8).write(
            to: folder.appendingPathComponent("head/head_config.json"))
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try Data("ref: refs/heads/main".utf8).write(to: folder.appendingPathComponent(".git/HEAD"))
        return folder
    }

    @Test func pushFolderThenDownloadIsByteIdentical() async throws {
        try await HubFixture.with(token: "hf_writer") { hub in
            let folder = try adapterFolder(in: hub.cacheRoot)
            let card = AdapterModelCard(
                repoID: "org/my-adapter", baseModel: "roberta-base", modelType: "roberta", datasets: ["sst2"],
                results: .classification(dataset: "sst2", split: "validation", accuracy: 0.91, f1: 0.905))
            let (repo, commit) = try await hub.client.push(
                folder: folder, to: "org/my-adapter",
                options: PushOptions(commitMessage: "Add LoRA adapter", modelCard: card))

            #expect(repo.id.id == "org/my-adapter")
            #expect(commit.oid.count == 40)
            #expect(commit.url.hasSuffix("/org/my-adapter/commit/\(commit.oid)"))
            #expect(hub.server.commitMessages("org/my-adapter").first == "Add LoRA adapter")
            #expect(hub.server.isLFS("org/my-adapter", path: "adapter.safetensors") == true)
            #expect(hub.server.isLFS("org/my-adapter", path: "adapter_config.json") == false)
            #expect(!hub.server.files("org/my-adapter").contains(".git/HEAD"))

            let methods = hub.server.requests.map { "\($0.method) \($0.uri.split(separator: "?")[0])" }
            #expect(methods.contains("POST /api/repos/create"))
            #expect(methods.contains("POST /api/models/org/my-adapter/preupload/main"))
            #expect(methods.contains("POST /org/my-adapter.git/info/lfs/objects/batch"))
            #expect(methods.contains { $0.hasPrefix("PUT /lfs-upload/") })
            #expect(methods.contains { $0.hasPrefix("POST /lfs-verify/") })
            #expect(methods.last == "POST /api/models/org/my-adapter/commit/main")
            let put = try #require(hub.server.requests.first { $0.method == "PUT" })
            #expect(put.authorization == nil)  // pre-signed URL: no Hub token
            #expect(put.headers["x-upload-token"]?.hasPrefix("upload-") == true)  // the action's own header
            let batch = try #require(hub.server.requests.first { $0.uri.hasSuffix("/objects/batch") })
            #expect(batch.headers["accept"] == "application/vnd.git-lfs+json")
            #expect(batch.authorization == "Bearer hf_writer")

            let downloaded = try await hub.client.snapshot(repo, revision: commit.oid)
            for path in ["adapter_config.json", "adapter.safetensors", "head/head_config.json"] {
                let original = try contents(folder.appendingPathComponent(path))
                #expect(try contents(downloaded.appendingPathComponent(path)) == original, "\(path)")
            }
            let readme = try String(contentsOf: downloaded.appendingPathComponent("README.md"), encoding: .utf8)
            #expect(readme.hasPrefix("---\nlibrary_name: adapter-transformers\n"))
            #expect(readme.contains("load_adapter(\"org/my-adapter\""))
        }
    }

    @Test func secondPushSkipsLFSObjectsTheServerHas() async throws {
        try await HubFixture.with(token: "hf_writer") { hub in
            let folder = try adapterFolder(in: hub.cacheRoot)
            _ = try await hub.client.push(folder: folder, to: "org/my-adapter")
            try Data(#"{"config": {"r": 16}}"#.utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
            hub.server.resetRequestLog()
            let (_, commit) = try await hub.client.push(folder: folder, to: "org/my-adapter")

            #expect(!hub.server.requests.contains { $0.method == "PUT" })
            #expect(hub.server.requests.first?.uri == "/api/repos/create")  // 409: exists, fine
            #expect(hub.server.commitMessages("org/my-adapter").count == 3)  // initial, first push, second push
            let repo = RepoReference(try RepoID("org/my-adapter"))
            let config = try await hub.client.downloadFile("adapter_config.json", from: repo, revision: commit.oid)
            #expect(try contents(config) == Data(#"{"config": {"r": 16}}"#.utf8))
        }
    }

    @Test func bareNameIsCreatedUnderTheUserAndReturned() async throws {
        try await HubFixture.with(token: "hf_writer") { hub in
            let folder = try adapterFolder(in: hub.cacheRoot)
            let (repo, _) = try await hub.client.push(folder: folder, to: "solo-adapter")
            #expect(repo.id.id == "test-user/solo-adapter")
            #expect(hub.server.files("test-user/solo-adapter").contains("adapter.safetensors"))
        }
    }

    @Test func uploadWithoutTokenIsUnauthorized() async throws {
        try await HubFixture.with { hub in
            let folder = try adapterFolder(in: hub.cacheRoot)
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.push(folder: folder, to: "org/my-adapter")
            }
            guard case .unauthorized(_, 401, false, _) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
        }
    }

    @Test func commitToMissingBranchIsRevisionNotFound() async throws {
        try await HubFixture.with(token: "hf_writer") { hub in
            hub.server.addRepo("org/x", files: ["a.txt": Data("a".utf8)])
            let repo = RepoReference(try RepoID("org/x"))
            await #expect(throws: HubError.revisionNotFound(repo: repo, revision: "nope")) {
                _ = try await hub.client.upload(
                    [UploadItem(pathInRepo: "b.txt", source: .data(Data("b".utf8)))], to: repo, revision: "nope",
                    commitMessage: "b")
            }
        }
    }

    @Test func emptyFilesAndDataItemsUploadAsRegular() async throws {
        try await HubFixture.with(token: "hf_writer") { hub in
            hub.server.addRepo("org/x", files: ["a.txt": Data("a".utf8)])
            let repo = RepoReference(try RepoID("org/x"))
            let commit = try await hub.client.upload(
                [
                    UploadItem(pathInRepo: "empty.bin", source: .data(Data())),
                    UploadItem(pathInRepo: "notes/b.txt", source: .data(Data("b".utf8))),
                ], to: repo, commitMessage: "more")
            #expect(hub.server.file("org/x", path: "empty.bin") == Data())
            #expect(hub.server.file("org/x", path: "notes/b.txt") == Data("b".utf8))
            #expect(hub.server.file("org/x", path: "a.txt") == Data("a".utf8))
            #expect(hub.server.commitHash("org/x") == commit.oid)
        }
    }
}
