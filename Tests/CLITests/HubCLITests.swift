import Foundation
import HubTestServer
import TestSupport
import Testing

/// The seed's Hub workflow through the CLI against a local Hub-compatible server (started here,
/// on a random port): model and dataset ids download into an HF-layout cache, a second run works
/// offline from it, `adapters push` uploads an adapter that `predict --adapter ID` downloads again,
/// and the token never shows.
@Suite("adapters with the Hub", .serialized)
struct HubCLITests {
    static let token = "hf_SECRETtestTOKEN123456"

    /// Every run's output is checked for the token.
    struct SecretCheckingCLI {
        let cli = CLITests()
        func run(_ arguments: [String], environment: [String: String]) throws -> CLITests.Run {
            let r = try cli.run(arguments, environment: environment)
            #expect(!r.stdout.contains(HubCLITests.token) && !r.stderr.contains(HubCLITests.token))
            return r
        }
    }
    let cli = SecretCheckingCLI()

    @Test func trainPushAndPredictThroughTheHub() async throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let server = try await HubTestServer.start(.init(requiredToken: Self.token))
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var model: [String: Data] = [:]
        for name in [
            "config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
            "special_tokens_map.json",
        ] {
            model[name] = try Data(contentsOf: Fixtures.miniLM.appendingPathComponent(name))
        }
        server.addRepo("sentence-transformers/all-MiniLM-L6-v2", files: model)
        let sample = try Data(contentsOf: Fixtures.url("datasets/amazon_polarity_sample.parquet"))
        server.addRepo(
            "amazon_polarity", type: .dataset,
            files: [
                "amazon_polarity/train-00000-of-00001.parquet": sample,
                "amazon_polarity/test-00000-of-00001.parquet": sample,
                "README.md": Data("# amazon_polarity (test copy)\n".utf8),
            ])
        let hfHome = tmp.appendingPathComponent("hf")
        let env = [
            "HF_ENDPOINT": server.endpoint, "HF_HOME": hfHome.path, "HF_TOKEN": Self.token,
            "ADAPTERS_CACHE": tmp.appendingPathComponent("adapters").path,
        ]
        let out = tmp.appendingPathComponent("run")
        let train = [
            "train", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--dataset", "amazon_polarity",
            "--eval-split", "test", "--text-field", "content", "--method", "seq_bn", "--adapter-name", "ap",
            "--max-steps", "2", "--batch-size", "8", "--max-length", "32", "--output", out.path,
        ]
        var r = try cli.run(train, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        // huggingface_hub's layout, shared with Python.
        let modelCache = hfHome.appendingPathComponent("hub/models--sentence-transformers--all-MiniLM-L6-v2")
        let commit = try String(contentsOf: modelCache.appendingPathComponent("refs/main"), encoding: .utf8)
        let weights = modelCache.appendingPathComponent("snapshots/\(commit)/model.safetensors")
        #expect(try Data(contentsOf: weights) == model["model.safetensors"])
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: weights.path)
        #expect(link.hasPrefix("../../blobs/"))
        #expect(
            FileManager.default.fileExists(atPath: hfHome.appendingPathComponent("hub/datasets--amazon_polarity").path))
        // The adapter names its base by Hub id, not by the snapshot's commit folder.
        let saved =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: out.appendingPathComponent("ap/adapter_config.json"))) as? [String: Any]
        #expect(saved?["model_name"] as? String == "sentence-transformers/all-MiniLM-L6-v2")

        // evaluate and inspect take Hub ids too.
        r = try cli.run(
            [
                "evaluate", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--adapter", out.appendingPathComponent("ap").path,
                "--dataset", "amazon_polarity", "--split", "test", "--text-field", "content", "--max-length", "32",
            ], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"accuracy\""))
        r = try cli.run(["inspect", "sentence-transformers/all-MiniLM-L6-v2"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("bert"), "\(r.stderr)")

        // Offline, from the cache: no request at all.
        server.resetRequestLog()
        var offline = env
        offline["HF_HUB_OFFLINE"] = "1"
        r = try cli.run(
            train.dropLast(2) + ["--output", tmp.appendingPathComponent("offline").path], environment: offline)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(server.requestCount == 0)
        // Offline and not cached: a clear error.
        r = try cli.run(
            ["predict", "--model", "org/not-cached", "--input", "examples/reviews.txt"], environment: offline)
        #expect(r.status != 0)
        #expect(r.stderr.contains("org/not-cached") && r.stderr.lowercased().contains("offline"))

        // Push, then download it again by id: the same bytes, the same predictions.
        r = try cli.run(
            ["push", "--adapter", out.appendingPathComponent("ap").path, "--repo", "test-user/ap-adapter"],
            environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["adapter_config.json", "adapter.safetensors", "head_config.json", "model_head.safetensors"] {
            let local = try Data(contentsOf: out.appendingPathComponent("ap/\(name)"))
            #expect(server.file("test-user/ap-adapter", path: name) == local, "\(name)")
        }
        let card = String(decoding: server.file("test-user/ap-adapter", path: "README.md") ?? Data(), as: UTF8.self)
        #expect(card.contains("adapter-transformers") && card.contains("amazon_polarity"))
        let viaHub = try cli.run(
            [
                "predict", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--adapter", "test-user/ap-adapter",
                "--input", "examples/reviews.txt",
            ], environment: env)
        let local = try cli.run(
            [
                "predict", "--model", Fixtures.miniLM.path, "--adapter", out.appendingPathComponent("ap").path,
                "--input", "examples/reviews.txt",
            ], environment: env)
        #expect(viaHub.status == 0, "\(viaHub.stderr)")
        #expect(viaHub.stdout == local.stdout && !local.stdout.isEmpty)

        // A wrong token: a typed error that does not echo it.
        var wrong = env
        wrong["HF_TOKEN"] = "hf_WRONGtoken999"
        r = try cli.run(
            ["push", "--adapter", out.appendingPathComponent("ap").path, "--repo", "test-user/other"],
            environment: wrong)
        #expect(r.status != 0)
        #expect(!r.stderr.contains("hf_WRONGtoken999"))
        await server.stop()
    }
}
