import Adapters
import Foundation
import ModelIO
import TestSupport
import Testing

/// adapter_config.json and head_config.json byte-for-byte as the Python `adapters` 1.3.0 writes
/// them (fixtures from tools/make_adapterhub_fixtures.py).
@Suite("AdapterHub folder format")
struct AdapterHubFormatTests {
    static let model = AdapterHubFolder.ModelInfo(
        modelType: "roberta", hiddenSize: 48, modelName: "tiny-roberta", modelClass: "RobertaAdapterModel")

    @Test(arguments: [
        ("seq_bn", "seq_bn"), ("double_seq_bn", "double_seq_bn"), ("lora", "lora"), ("par_bn", "par_bn"),
        ("scaled_par_bn", "scaled_par_bn"), ("ia3", "ia3"),
        ("lora_ffn", "lora[r=4,alpha=12,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]"),
        ("compacter", "compacter[reduction_factor=4]"),
        ("compacter_pp", "compacter++[reduction_factor=4,shared_phm_rule=False,factorized_phm_W=False]"),
        ("seq_bn_inv", "seq_bn_inv"), ("union", "lora[r=4,intermediate_lora=True]|double_seq_bn[output_adapter=False]"),
        ("prompt_tuning", "prompt_tuning[prompt_length=4]"), ("dora", "dora[r=4,alpha=8,attn_matrices=[q,k,v]]"),
    ])
    func configsAreByteIdentical(fixture: (String, String)) throws {
        let folder = Fixtures.url("adapterhub/\(fixture.0)")
        let expected = try String(contentsOf: folder.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        let config = try AdapterConfig.parse(fixture.1, source: "test")
        let ours = AdapterHubFolder.adapterConfigJSON(name: "rt", config: config, model: Self.model).serialized()
        #expect(ours == expected)
        let expectedHead = try String(contentsOf: folder.appendingPathComponent("head_config.json"), encoding: .utf8)
        let head = AdapterHubFolder.Head(name: "rt", labels: ["negative", "positive"], tensors: [])
        #expect(AdapterHubFolder.headConfigJSON(head, model: Self.model).serialized() == expectedHead)
    }

    @Test func saveIsAtomicAndComplete() throws {
        let parent = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: parent) }
        let target = parent.appendingPathComponent("rt")
        let head = AdapterHubFolder.Head(
            name: "rt", labels: ["negative", "positive"], tensors: [.init(name: "heads.rt.4.bias", shape: [2], values: [1, 2])])
        for _ in 0..<2 {  // the second save replaces the first
            try AdapterHubFolder.save(
                to: target, adapterName: "rt", config: .defaults(for: .seqBn), model: Self.model,
                adapterTensors: [.init(name: "x", shape: [1], values: [3])], head: head)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["rt"])
        #expect(
            try Set(FileManager.default.contentsOfDirectory(atPath: target.path))
                == ["adapter_config.json", "adapter.safetensors", "head_config.json", "model_head.safetensors"])
        #expect(throws: ModelIOError.self) {
            try AdapterHubFolder.save(
                to: parent.appendingPathComponent("missing/rt"), adapterName: "rt", config: nil, model: Self.model,
                adapterTensors: [], head: head)
        }
    }
}

/// A head config that is well-formed JSON but asks for what we do not run is reported as unsupported,
/// naming the head type; a corrupt one as an invalid configuration — never as a safetensors problem.
@Suite("AdapterHub head configs")
struct HeadConfigErrorTests {
    /// The seq_bn fixture with `edit` applied to head_config.json's inner `config`.
    static func folder(_ edit: (inout [String: Any]) -> Void) throws -> (URL, String) {
        let tmp = try Fixtures.temporaryFolder()
        let folder = tmp.appendingPathComponent("rt")
        try FileManager.default.copyItem(at: Fixtures.url("adapterhub/seq_bn"), to: folder)
        let head = folder.appendingPathComponent("head_config.json")
        var top = try JSONSerialization.jsonObject(with: Data(contentsOf: head)) as? [String: Any] ?? [:]
        var inner = top["config"] as? [String: Any] ?? [:]
        edit(&inner)
        top["config"] = inner
        try JSONSerialization.data(withJSONObject: top).write(to: head)
        return (folder, head.path)
    }

    static let cases: [(String, @Sendable (inout [String: Any]) -> Void, ModelIOError.Kind, String)] = [
        ("dependency parsing head", { $0["head_type"] = "dependency_parsing" }, .unsupported, "head_type 'dependency_parsing'"),
        ("seven layers", { $0["layers"] = 7 }, .unsupported, "a head of 7 layers"),
        ("no activation", { $0["activation_function"] = NSNull() }, .unsupported, "a 2-layer head without an activation_function"),
        ("unknown activation", { $0["activation_function"] = "mish" }, .unsupported, "head activation_function 'mish'"),
        ("no output bias", { $0["bias"] = false }, .unsupported, "no bias"),
        ("pooler", { $0["use_pooler"] = true }, .unsupported, "use_pooler"),
        ("absurd num_labels", { $0["num_labels"] = 1_000_000_000_000 }, .invalidConfig, "num_labels 1000000000000"),
        ("num_labels against the file", { $0["num_labels"] = 3 }, .invalidConfig, "has 2 rows"),
        ("zero labels", { $0["num_labels"] = 0; $0["label2id"] = [String: Int]() }, .invalidConfig, "num_labels 0"),
        ("label outside", { $0["label2id"] = ["a": 0, "b": 7] }, .invalidConfig, "label2id maps 'b' outside 0..<2"),
    ]

    @Test(arguments: cases.map { ($0.0, $0.2, $0.3) })
    func isReportedAsWhatItIs(name: String, kind: ModelIOError.Kind, detail: String) throws {
        let edit = try #require(Self.cases.first { $0.0 == name }?.1)
        let (folder, headPath) = try Self.folder(edit)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        do {
            _ = try AdapterHubAdapter(folder: folder)
            Issue.record("\(name): loaded")
        } catch let error as ModelIOError {
            #expect(error.kind == kind, "\(error)")
            #expect(error.description.hasPrefix(headPath + ": "), "\(error)")
            #expect(error.description.contains(detail), "\(error)")
            #expect(!error.description.contains("safetensors header"), "\(error)")
        }
    }
}

/// Sizes in adapter_config.json are bounded before they size a tensor.
@Suite("AdapterHub adapter config sizes")
struct AdapterConfigSizeTests {
    @Test(arguments: [
        ("seq_bn", "reduction_factor", 1e-12 as Double, "reduction_factor 1e-12"),
        ("seq_bn", "reduction_factor", 0, "reduction_factor 0.0"),
        ("lora", "r", 1e12, "r 1000000000000"),
        ("lora", "r", 0, "r 0"),
    ])
    func absurdSizesAreRefused(fixture: String, key: String, value: Double, detail: String) throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let folder = tmp.appendingPathComponent("rt")
        try FileManager.default.copyItem(at: Fixtures.url("adapterhub/\(fixture)"), to: folder)
        let url = folder.appendingPathComponent("adapter_config.json")
        var top = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        var inner = top["config"] as? [String: Any] ?? [:]
        inner[key] = key == "r" ? Int(value) as Any : value as Any
        top["config"] = inner
        try JSONSerialization.data(withJSONObject: top).write(to: url)
        do {
            _ = try AdapterHubAdapter(folder: folder)
            Issue.record("\(key) = \(value) accepted")
        } catch AdapterError.invalidConfig(let source, let message) {
            #expect(source == url.path)
            #expect(message.hasPrefix(detail), "\(message)")
        }
    }
}
