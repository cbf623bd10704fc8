import Foundation
import Hub
import HubTestServer
import Testing

/// Cross-check with the real Python `huggingface_hub` (pinned 0.36.2, which scripts/setup.sh installs into
/// `.venv-hub`; `HUB_PYTHON` names another Python that has it). It runs in every `scripts/test.sh`, CI
/// included; without such a Python it fails and says so, rather than skipping without a word.
@Suite("Interop with Python huggingface_hub")
struct PythonInteropTests {
    static let script = #"""
        import json, os, sys
        mode = sys.argv[1]
        from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir, HfApi, __version__
        out = {"version": __version__}
        if mode == "read-offline":
            out["snapshot"] = snapshot_download("org/model")
            out["weights"] = hf_hub_download("org/model", "model.safetensors")
            with open(out["weights"], "rb") as f:
                out["weights_size"] = len(f.read())
            info = scan_cache_dir()
            out["warnings"] = [str(w) for w in info.warnings]
            out["repos"] = sorted(r.repo_id for r in info.repos)
        elif mode == "download":
            out["config"] = hf_hub_download("org/py", "config.json")
            out["weights"] = hf_hub_download("org/py", "model.safetensors")
            out["data"] = hf_hub_download("org/pydata", "data/train-00000-of-00001.parquet", repo_type="dataset")
        elif mode == "upload":
            api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
            url = api.create_repo("org/from-python", exist_ok=True)
            info = api.upload_folder(folder_path=sys.argv[2], repo_id="org/from-python", commit_message="py upload")
            out["oid"] = info.oid
        print(json.dumps(out))
        """#

    func runPython(_ mode: String, _ extra: [String] = [], environment: [String: String]) throws -> [String: Any] {
        var env = environment
        env["HF_HUB_DISABLE_XET"] = "1"
        let (status, data, errorText) = try HubPython.run(Self.script, environment: env) { _ in [mode] + extra }
        #expect(status == 0, "\(mode): \(errorText)")
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "{}"
        let result = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
        #expect(result["version"] as? String == "0.36.2", "the pinned huggingface_hub (scripts/setup.sh)")
        return result
    }

    @Test func pythonReadsOurCacheAndWeReadPythons() async throws {
        try await HubFixture.with(token: "hf_interop") { hub in
            hub.server.addRepo("org/model", files: modelFiles())
            hub.server.addRepo("org/py", files: modelFiles())
            hub.server.addRepo(
                "org/pydata", type: .dataset,
                files: [
                    "data/train-00000-of-00001.parquet": fixtureBytes(4000, seed: 5)
                ])
            let ours = try await hub.client.snapshot(RepoReference(try RepoID("org/model")))
            let cache = hub.cache.root.path

            // 1. Python, offline, finds what we downloaded, and its cache scan reports no problem.
            let read = try runPython("read-offline", environment: ["HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"])
            #expect(
                read["snapshot"] as? String == ours.path || (read["snapshot"] as? String).map { $0 + "/" } == ours.path)
            #expect(read["weights_size"] as? Int == 300_000)
            #expect((read["warnings"] as? [String])?.isEmpty == true, "\(read["warnings"] ?? "")")
            #expect(read["repos"] as? [String] == ["org/model"])

            // 2. Python downloads online into the same cache; we then read it offline.
            hub.server.resetRequestLog()
            _ = try runPython("download", environment: ["HF_HUB_CACHE": cache, "HF_ENDPOINT": hub.server.endpoint])
            #expect(hub.server.requests.contains { $0.uri.contains("/lfs-cdn/") })
            try await withClient(try hub.client(offline: true)) { offline in
                let weights = try await offline.downloadFile("model.safetensors", from: "org/py")
                #expect(try contents(weights) == modelFiles()["model.safetensors"])
                let data = try await offline.downloadFile(
                    "data/train-00000-of-00001.parquet", from: "org/pydata", type: .dataset)
                #expect(try contents(data) == fixtureBytes(4000, seed: 5))
            }

            // 3. Python's uploader speaks to our test server; we download what it pushed.
            let folder = hub.cacheRoot.appendingPathComponent("py-upload")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
            try fixtureBytes(50_000, seed: 8).write(to: folder.appendingPathComponent("adapter.safetensors"))
            let upload = try runPython(
                "upload", [folder.path],
                environment: ["HF_ENDPOINT": hub.server.endpoint, "HF_TOKEN": "hf_interop", "HF_HUB_CACHE": cache])
            let oid = try #require(upload["oid"] as? String)
            let pushed = try await hub.client.snapshot(RepoReference(try RepoID("org/from-python")), revision: oid)
            #expect(try contents(pushed.appendingPathComponent("adapter.safetensors")) == fixtureBytes(50_000, seed: 8))
        }
    }
}
