import Foundation
import Hub
import HubTestServer
import Testing

@Suite("Snapshots, listings and dataset splits")
struct SnapshotTests {
    @Test func patternsSelectFiles() async throws {
        try await HubFixture.with { hub in
            var files = modelFiles()
            files["pytorch_model.bin"] = fixtureBytes(5000, seed: 3)
            files["onnx/model.onnx"] = fixtureBytes(100, seed: 4)
            files["tf_model.h5"] = fixtureBytes(100, seed: 5)
            hub.server.addRepo("org/model", files: files)
            let repo = RepoReference(try RepoID("org/model"))

            let (folder, _, selected) = try await hub.client.snapshotWithFiles(repo, selection: .model)
            #expect(selected == ["config.json", "merges.txt", "model.safetensors", "tokenizer.json", "vocab.json"])
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("pytorch_model.bin").path))

            let (_, _, jsonOnly) = try await hub.client.snapshotWithFiles(
                repo, selection: FileSelection(allowPatterns: ["*.json"], ignorePatterns: ["vocab*"]))
            #expect(jsonOnly == ["config.json", "tokenizer.json"])

            let (_, _, exact) = try await hub.client.snapshotWithFiles(repo, selection: .files(["onnx/model.onnx"]))
            #expect(exact == ["onnx/model.onnx"])
        }
    }

    @Test func treeListingIsPaginatedAndCachedPerCommit() async throws {
        try await HubFixture.with(configuration: .init(treePageSize: 2)) { hub in
            let commit = hub.server.addRepo(
                "org/model", files: modelFiles().merging(["sub/dir/x.txt": Data("x".utf8)]) { $1 })
            let repo = RepoReference(try RepoID("org/model"))

            let all = try await hub.client.listFiles(repo)
            #expect(all.filter { !$0.isDirectory }.count == 6)
            #expect(all.contains { $0.isDirectory && $0.path == "sub/dir" })
            let weights = try #require(all.first { $0.path == "model.safetensors" })
            #expect(weights.lfs?.size == 300_000 && weights.lfs?.oid.count == 64)
            #expect(hub.server.requests.filter { $0.uri.contains("/tree/") }.count == 4)  // 8 entries, 2 a page

            let top = try await hub.client.listFiles(repo, recursive: false)
            #expect(top.contains { $0.path == "sub" && $0.isDirectory })
            #expect(!top.contains { $0.path == "sub/dir/x.txt" })
            let sub = try await hub.client.listFiles(repo, folder: "sub/dir")
            #expect(sub.map(\.path) == ["sub/dir/x.txt"])

            let listing = try await hub.client.treeListing(repo, commit: commit)
            #expect(listing["model.safetensors"]?.lfsSHA256?.count == 64)
            let cached = hub.cache.treeURL(repo, commit: commit)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: cached)) as? [String: Any])
            #expect(json["format_version"] as? Int == 1)
            #expect((json["files"] as? [String: Any])?["config.json"] != nil)
        }
    }

    @Test func datasetSplitParquetFilesFromMain() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo(
                "amazon_polarity", type: .dataset,
                files: [
                    "amazon_polarity/train-00000-of-00002.parquet": fixtureBytes(2000, seed: 1),
                    "amazon_polarity/train-00001-of-00002.parquet": fixtureBytes(2000, seed: 2),
                    "amazon_polarity/test-00000-of-00001.parquet": fixtureBytes(2000, seed: 3),
                    "README.md": Data("# polarity".utf8),
                ])
            let files = try await hub.client.resolveDatasetSplit("amazon_polarity", split: "train")
            #expect(
                files.map(\.lastPathComponent) == [
                    "train-00000-of-00002.parquet", "train-00001-of-00002.parquet",
                ])
            #expect(try contents(files[1]) == fixtureBytes(2000, seed: 2))
            #expect(files[0].path.contains("/datasets--amazon_polarity/snapshots/"))
            let test = try await hub.client.resolveDatasetSplit("amazon_polarity", split: "test")
            #expect(test.count == 1)
            let dataset = try RepoID("amazon_polarity")
            await #expect(throws: HubError.self) {
                _ = try await hub.client.downloadDatasetSplit(dataset, split: "validation")
            }
        }
    }

    @Test func datasetSplitFallsBackToTheParquetConversionBranch() async throws {
        try await HubFixture.with { hub in
            hub.server.addRepo("org/csv-data", type: .dataset, files: ["train.csv": Data("a,b\n".utf8)])
            hub.server.commit(
                "org/csv-data", type: .dataset,
                files: [
                    "default/train/0000.parquet": fixtureBytes(500, seed: 9),
                    "default/validation/0000.parquet": fixtureBytes(500, seed: 10),
                ], branch: "refs/convert/parquet")
            let files = try await hub.client.downloadDatasetSplit(try RepoID("org/csv-data"), split: "validation")
            #expect(files.count == 1)
            #expect(try contents(files[0]) == fixtureBytes(500, seed: 10))
            #expect(hub.server.requests.contains { $0.uri.contains("/revision/refs%2Fconvert%2Fparquet") })
            let ref = hub.cache.refURL(
                RepoReference(try RepoID("org/csv-data"), type: .dataset), revision: "refs/convert/parquet")
            #expect(FileManager.default.fileExists(atPath: ref.path))
        }
    }

    @Test func splitFileNamingConventions() {
        let paths = [
            "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet",
            "data/validation-00000-of-00001.parquet", "pretrain/x.parquet", "plain_text/train/0000.parquet",
            "other/train/0000.parquet", "testing.parquet", "dev.parquet", "data/train.csv",
        ]
        #expect(
            DatasetSplitFiles.select(paths, split: "train") == [
                "data/train-00000-of-00001.parquet", "other/train/0000.parquet", "plain_text/train/0000.parquet",
            ])
        #expect(
            DatasetSplitFiles.select(paths, split: "train", config: "plain_text") == ["plain_text/train/0000.parquet"])
        #expect(
            DatasetSplitFiles.select(paths, split: "validation") == [
                "data/validation-00000-of-00001.parquet", "dev.parquet",
            ])
        #expect(
            DatasetSplitFiles.select(paths, split: "test") == ["data/test-00000-of-00001.parquet", "testing.parquet"])
        #expect(DatasetSplitFiles.select(paths, split: "train", fileExtension: "csv") == ["data/train.csv"])
    }

    @Test func localArgumentsAreNotSentToTheHub() async throws {
        try await HubFixture.with { hub in
            let folder = hub.cacheRoot.appendingPathComponent("local-model")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let resolved = try await hub.client.resolveFolder(folder.path)
            #expect(resolved.standardizedFileURL.path == folder.standardizedFileURL.path)

            let data = hub.cacheRoot.appendingPathComponent("data")
            try FileManager.default.createDirectory(
                at: data.appendingPathComponent("x"), withIntermediateDirectories: true)
            try Data().write(to: data.appendingPathComponent("x/train-0.parquet"))
            try Data().write(to: data.appendingPathComponent("x/test-0.parquet"))
            let train = try await hub.client.resolveDatasetSplit(data.path, split: "train")
            #expect(train.map(\.lastPathComponent) == ["train-0.parquet"])
            #expect(hub.server.requestCount == 0)
        }
    }
}
