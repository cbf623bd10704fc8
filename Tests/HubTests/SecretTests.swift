import Foundation
import Hub
import HubTestServer
import Testing

@Suite("The token stays secret")
struct SecretTests {
    static let token = "hf_SuperSecretTokenValue123"

    @Test func tokenNeverAppearsInLogsOrErrors() async throws {
        let configuration = HubTestServer.Configuration(requiredToken: Self.token, cdnHost: "localhost")
        try await HubFixture.with(configuration: configuration, token: Self.token) { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            let repo = RepoReference(try RepoID("org/model"))
            _ = try await hub.client.snapshot(repo)

            var errors: [String] = []
            // A server that echoes the token in its error message: it is scrubbed before reaching the error.
            hub.server.inject(Fault(.status(500, message: "bad token \(Self.token)"), method: "HEAD", times: 100))
            do {
                _ = try await hub.client.downloadFile("config.json", from: repo, revision: "v-missing")
            } catch {
                errors.append(String(describing: error))
            }
            hub.server.clearFaults()
            for attempt in [("nope.json", "main"), ("config.json", "no-such-branch")] {
                do {
                    _ = try await hub.client.downloadFile(attempt.0, from: repo, revision: attempt.1)
                } catch {
                    errors.append(String(describing: error))
                }
            }
            let folder = hub.cacheRoot.appendingPathComponent("up")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try fixtureBytes(100, seed: 1).write(to: folder.appendingPathComponent("w.safetensors"))
            _ = try await hub.client.push(folder: folder, to: "org/up")

            #expect(errors.count == 3)
            #expect(errors.first?.contains("***") == true)
            for text in errors {
                #expect(!text.contains(Self.token), "\(text)")
            }
            #expect(hub.logs.count > 10)
            #expect(!hub.logs.text.contains(Self.token))
            #expect(!hub.logs.text.contains("SuperSecret"))
            #expect(!String(describing: hub.client.environment).contains(Self.token))
            // …while every Hub request did carry it.
            let hubRequests = hub.server.requests.filter { !$0.uri.hasPrefix("/lfs-") }
            #expect(hubRequests.allSatisfy { $0.authorization == "Bearer \(Self.token)" })
        }
    }
}
