import Foundation
import Hub
import HubTestServer
import Testing

@Suite("Offline mode and unreachable Hub")
struct OfflineTests {
    let repo: RepoReference

    init() throws {
        repo = RepoReference(try RepoID("org/model"))
    }

    @Test func offlineModeAnswersFromTheCacheWithoutRequests() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let online = try await hub.client.snapshot(repo)
            hub.server.resetRequestLog()

            try await withClient(try hub.client(offline: true)) { offline in
                let folder = try await offline.snapshot(repo)
                #expect(folder == online)
                let file = try await offline.downloadFile("config.json", from: repo)
                #expect(try contents(file) == modelFiles()["config.json"])
                let resolved = try await offline.resolveFolder("org/model")
                #expect(resolved == online)
            }
            #expect(hub.server.requestCount == 0)
        }
    }

    @Test func offlineModeFailsClearlyForAFileNotInTheCache() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            _ = try await hub.client.downloadFile("config.json", from: repo)
            try await withClient(try hub.client(offline: true)) { offline in
                let error = await #expect(throws: HubError.self) {
                    _ = try await offline.downloadFile("vocab.json", from: repo)
                }
                #expect(error == .notInCache(repo: repo, revision: "main", path: "vocab.json", offline: true))
                let text = error?.description ?? ""
                #expect(
                    text.contains("vocab.json") && text.contains("not in the local cache") && text.contains("offline"))

                let other = RepoReference(try RepoID("org/other"))
                await #expect(throws: HubError.notInCache(repo: other, revision: "main", path: nil, offline: true)) {
                    _ = try await offline.snapshot(other)
                }
            }
            #expect(hub.server.requests.count == 2)  // only the first, online download
        }
    }

    @Test func unreachableHubFallsBackToTheCachedRevision() async throws {
        let fixture = try await HubFixture.start()
        fixture.server.addRepo("org/model", files: modelFiles())
        let folder = try await fixture.client.snapshot(repo)
        let endpoint = fixture.server.endpoint
        await fixture.server.stop()

        // Same endpoint, nobody listening: connection refused, so the cached revision is used.
        try await withClient(try fixture.client(endpoint: endpoint)) { client in
            let again = try await client.snapshot(repo)
            #expect(again == folder)
            let file = try await client.downloadFile("config.json", from: repo)
            #expect(try contents(file) == modelFiles()["config.json"])
            let error = await #expect(throws: HubError.self) {
                _ = try await client.downloadFile("missing.json", from: repo)
            }
            guard case .network = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
        }
        try await fixture.client.shutdown()
        try? FileManager.default.removeItem(at: fixture.cacheRoot)
    }

    @Test func serverErrorsFallBackToTheCacheWithoutWaiting() async throws {
        try await HubFixture.with(retry: RetryPolicy(maxRetries: 5, baseDelay: .seconds(30))) { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let file = try await hub.client.downloadFile("config.json", from: repo)
            hub.server.inject(Fault(.status(503), times: 100))
            hub.server.resetRequestLog()
            let again = try await hub.client.downloadFile("config.json", from: repo)
            let folder = try await hub.client.snapshot(repo)
            #expect(again == file)
            #expect(again.path.hasPrefix(folder.path))
            // No backoff: exactly one try each (a retry would be a further request, after a 30 s wait), then
            // the cache. The server saw the file's HEAD and the revision lookup, both answered 503, nothing else.
            let seen = hub.server.requests.map { "\($0.method) \($0.uri.split(separator: "?")[0])" }
            #expect(
                seen == ["HEAD /org/model/resolve/main/config.json", "GET /api/models/org/model/revision/main"],
                "requests: \(seen)")
        }
    }
}
