import Foundation
import Hub
import HubTestServer
import Testing

@Suite("Failures: resume, retries, auth, missing things, corruption")
struct FaultTests {
    let repo: RepoReference

    init() throws {
        repo = RepoReference(try RepoID("org/model"))
    }

    @Test func droppedConnectionResumesWithRangeAndLeavesNoPartialFile() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.inject(Fault(.dropConnection(afterBytes: 100_000), method: "GET", pathContains: "/lfs-cdn/"))
            let path = try await hub.client.downloadFile("model.safetensors", from: repo)

            #expect(try contents(path) == modelFiles()["model.safetensors"])
            let cdnGets = hub.server.requests.filter { $0.method == "GET" && $0.uri.contains("/lfs-cdn/") }
            #expect(cdnGets.count == 2)
            // Resumed where the received bytes end (at most what the server sent before dropping).
            let range = try #require(cdnGets.last?.headers["range"])
            let start = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
            #expect(start > 0 && start <= 100_000)
            let blobs = try FileManager.default.contentsOfDirectory(
                atPath: hub.cache.root.appendingPathComponent("models--org--model/blobs").path)
            #expect(!blobs.contains { $0.hasSuffix(".incomplete") })
        }
    }

    @Test func incompleteFileFromAnEarlierRunIsResumed() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let weights = try #require(modelFiles()["model.safetensors"])
            let metadata = try await hub.client.fileMetadata("model.safetensors", in: repo)
            let incomplete = hub.cache.incompleteURL(repo, etag: metadata.etag)
            try FileManager.default.createDirectory(
                at: incomplete.deletingLastPathComponent(), withIntermediateDirectories: true)
            try weights.prefix(123_456).write(to: incomplete)
            hub.server.resetRequestLog()

            let path = try await hub.client.downloadFile("model.safetensors", from: repo)
            #expect(try contents(path) == weights)
            #expect(hub.server.requests.contains { $0.headers["range"] == "bytes=123456-" })
            #expect(!FileManager.default.fileExists(atPath: incomplete.path))
        }
    }

    @Test func serverErrorsAreRetriedThenSucceed() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.inject(Fault(.status(500), method: "HEAD", pathContains: "config.json", times: 2))
            hub.server.inject(Fault(.status(503), method: "GET", pathContains: "/lfs-cdn/", times: 1))
            hub.server.inject(Fault(.status(429), method: "GET", pathContains: "/revision/", times: 1))
            let folder = try await hub.client.snapshot(repo)
            #expect(try contents(folder.appendingPathComponent("config.json")) == modelFiles()["config.json"])
            #expect(
                try contents(folder.appendingPathComponent("model.safetensors")) == modelFiles()["model.safetensors"])
            let configHeads = hub.server.requests.filter { $0.method == "HEAD" && $0.uri.hasSuffix("/config.json") }
            #expect(configHeads.count == 3)
        }
    }

    @Test func persistentServerErrorIsATypedErrorAfterBoundedRetries() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.inject(Fault(.status(500, message: "boom"), method: "HEAD", times: 100))
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("config.json", from: repo)
            }
            guard case .httpStatus(_, _, let status, let message) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(status == 500)
            #expect(message == "boom")
            // One quick try (then the cache is checked), then one try plus `maxRetries` retries.
            #expect(hub.server.requestCount == 1 + 1 + fastRetries.maxRetries)
            #expect(error?.description.contains("model repository 'org/model'") == true)
        }
    }

    @Test func unauthorizedWithoutTokenSaysToSetHFToken() async throws {
        try await HubFixture.with(configuration: .init(requiredToken: "hf_secret")) { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("config.json", from: repo)
            }
            guard case .unauthorized(_, 401, false, _) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(error?.description.contains("HF_TOKEN") == true)
            // Not retried: one request.
            #expect(hub.server.requestCount == 1)

            let authorized = try hub.client(token: "hf_secret")
            try await withClient(authorized) { client in
                let path = try await client.downloadFile("config.json", from: repo)
                #expect(try contents(path) == modelFiles()["config.json"])
            }
            #expect(hub.server.requests.last?.authorization == "Bearer hf_secret")
        }
    }

    @Test func wrongTokenIsReportedAsSentButRejected() async throws {
        try await HubFixture.with(configuration: .init(requiredToken: "hf_right"), token: "hf_wrong") { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("config.json", from: repo)
            }
            guard case .unauthorized(_, 401, true, _) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(error?.description.contains("hf_wrong") == false)
        }
    }

    @Test func missingRepositoryRevisionAndFileAreDistinguished() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let missingRepo = RepoReference(try RepoID("org/nothing"))
            await #expect(throws: HubError.repositoryNotFound(repo: missingRepo)) {
                _ = try await hub.client.downloadFile("config.json", from: missingRepo)
            }
            await #expect(throws: HubError.entryNotFound(repo: repo, revision: "main", path: "nope.json")) {
                _ = try await hub.client.downloadFile("nope.json", from: repo)
            }
            await #expect(throws: HubError.revisionNotFound(repo: repo, revision: "v9")) {
                _ = try await hub.client.downloadFile("config.json", from: repo, revision: "v9")
            }
            await #expect(throws: HubError.repositoryNotFound(repo: missingRepo)) {
                _ = try await hub.client.snapshot(missingRepo)
            }
            // A 404 without X-Error-Code still names what was asked for.
            hub.server.inject(Fault(.status(404), method: "HEAD"))
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("config.json", from: repo)
            }
            #expect(error == .notFound(repo: repo, revision: "main", path: "config.json"))
            #expect(error?.description.contains("config.json") == true)
        }
    }

    @Test func corruptedLFSBytesAreRejectedAndNothingIsStored() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.inject(Fault(.corruptBody, method: "GET", pathContains: "/lfs-cdn/", times: 100))
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("model.safetensors", from: repo)
            }
            guard case .checksumMismatch(_, "model.safetensors", let expected, let actual) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(expected != actual)
            let folder = hub.cache.repoFolder(repo)
            let blobs =
                (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path))
                ?? []
            #expect(blobs.isEmpty)
            let commit = try #require(hub.server.commitHash("org/model"))
            #expect(
                !FileManager.default.fileExists(
                    atPath: hub.cache.pointerURL(repo, commit: commit, path: "model.safetensors").path))

            // Once the server behaves, the same call succeeds.
            hub.server.clearFaults()
            let path = try await hub.client.downloadFile("model.safetensors", from: repo)
            #expect(try contents(path) == modelFiles()["model.safetensors"])
        }
    }

    @Test func droppedConnectionsThatNeverRecoverEndInANetworkError() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.inject(
                Fault(.dropConnection(afterBytes: 0), method: "GET", pathContains: "/lfs-cdn/", times: 100))
            let error = await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadFile("model.safetensors", from: repo)
            }
            guard case .network = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
        }
    }

    @Test func tokenIsNotSentToAnotherOrigin() async throws {
        let configuration = HubTestServer.Configuration(requiredToken: "hf_secret", cdnHost: "localhost")
        try await HubFixture.with(configuration: configuration, token: "hf_secret") { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let path = try await hub.client.downloadFile("model.safetensors", from: repo)
            #expect(try contents(path) == modelFiles()["model.safetensors"])
            let head = try #require(hub.server.requests.first { $0.method == "HEAD" })
            #expect(head.authorization == "Bearer hf_secret")
            let cdn = try #require(hub.server.requests.first { $0.uri.contains("/lfs-cdn/") })
            #expect(cdn.authorization == nil)
            #expect(cdn.headers["host"]?.hasPrefix("localhost") == true)
        }
    }
}
