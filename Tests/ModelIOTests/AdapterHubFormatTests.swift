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

    @Test(arguments: [("seq_bn", AdapterMethod.seqBn), ("double_seq_bn", .doubleSeqBn), ("lora", .lora)])
    func configsAreByteIdentical(fixture: (String, AdapterMethod)) throws {
        let folder = Fixtures.url("adapterhub/\(fixture.0)")
        let expected = try String(contentsOf: folder.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        let ours = AdapterHubFolder.adapterConfigJSON(name: "rt", config: .defaults(for: fixture.1), model: Self.model).serialized()
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
