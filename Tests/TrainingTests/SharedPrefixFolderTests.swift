import Adapters
import Encoders
import Foundation
import Logging
import ModelIO
import TestSupport
import Testing
import Training

/// Folders that `adapters` 1.3 saved from a model holding `sst`, `sst_lora` and `sst_lora_r4a16`: its
/// head filter has no dot after the name, so `sst`'s head file also carries both other heads
/// (tools/make_adapterhub_fixtures.py, `shared_prefix`). They load with Python's logits, the
/// neighbours' tensors are named once in the log, and anything else unexpected stays an error.
@Suite("AdapterHub folders with a neighbour's tensors")
struct SharedPrefixFolderTests {
    static let names = ["sst", "sst_lora", "sst_lora_r4a16"]
    static let cases: [(String, String)] = ["safetensors", "pickle"].flatMap { f in names.map { (f, $0) } }

    static func expected() throws -> (TokenBatch, [String: [Float]], [String: [String]]) {
        let json = try Fixtures.json("adapterhub/shared-prefix/expected.json")
        let ids = (json["input_ids"] as? [Any] ?? []).map(int32s)
        let mask = (json["attention_mask"] as? [Any] ?? []).map(int32s)
        let batch = try TokenBatch(
            batchSize: ids.count, sequenceLength: ids.first?.count ?? 0, inputIds: ids.flatMap { $0 },
            attentionMask: mask.flatMap { $0 })
        let logits = (json["logits"] as? [String: Any] ?? [:]).mapValues { ($0 as? [Any] ?? []).flatMap(floats) }
        let heads = (json["head_tensors"] as? [String: Any] ?? [:]).mapValues { $0 as? [String] ?? [] }
        return (batch, logits, heads)
    }

    @Test(arguments: cases)
    func loadsWithPythonsLogits(format: String, name: String) throws {
        let (batch, reference, headTensors) = try Self.expected()
        let folder = Fixtures.url("adapterhub/shared-prefix/\(format)/\(name)")
        let log = LogCapture()
        let model = try AdapterModel.load(adapterFolder: folder, base: try AdapterInteropTests.base(), logger: log.logger)
        let expected = try #require(reference[name])
        #expect(expected.count == batch.batchSize * model.head.labels.count)
        #expect(maxAbsDifference(try model.logits(batch), expected) <= 1e-4)

        // The neighbours' tensors Python wrote into this folder: each named, in one message.
        let file = try #require(headTensors["\(format)/\(name)"])
        let foreign = file.filter { !$0.hasPrefix("heads.\(name).") }
        #expect(foreign.isEmpty == (name == "sst_lora_r4a16"))
        let messages = log.lines
        #expect(messages.count == (foreign.isEmpty ? 0 : 1))
        for tensor in foreign {
            #expect(messages.first?.components(separatedBy: tensor).count == 2, "\(tensor) named once")
        }
    }

    @Test(arguments: ["safetensors", "pickle"])
    func theLifecycleAPILoadsThemToo(format: String) throws {
        let (batch, reference, _) = try Self.expected()
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        for name in Self.names {
            try model.loadAdapter(from: Fixtures.url("adapterhub/shared-prefix/\(format)/\(name)"))
        }
        #expect(model.headNames == Self.names)
        for name in Self.names {
            try model.setActiveAdapters(AdapterSetup([name]))
            #expect(maxAbsDifference(try model.logits(batch), reference[name] ?? []) <= 1e-4, "\(name)")
        }
    }

    /// A tensor of no prefix-sharing neighbour — another head, or a name ours extends — is refused.
    @Test(arguments: ["heads.other.1.bias", "heads.ss.1.bias", "roberta.encoder.layer.0.output.adapters.sst_x.bias"])
    func otherStrayTensorsStayErrors(stray: String) throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let folder = tmp.appendingPathComponent("sst_lora")
        try FileManager.default.copyItem(at: Fixtures.url("adapterhub/shared-prefix/safetensors/sst_lora"), to: folder)
        let isHead = stray.hasPrefix("heads.")
        let file = folder.appendingPathComponent(isHead ? "model_head.safetensors" : "adapter.safetensors")
        let source = try SafetensorsFile(path: file.path)
        var tensors = try source.tensorNames.map { name in
            let shape = source.shape(of: name) ?? []
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { try source.readFloats(name, into: $0.baseAddress!) }
            return SafetensorsWriter.Tensor(name: name, shape: shape, values: values)
        }
        tensors.append(.init(name: stray, shape: [4], values: [1, 2, 3, 4]))
        try SafetensorsWriter.encode(tensors).write(to: file)
        do {
            _ = try AdapterModel.load(adapterFolder: folder, base: try AdapterInteropTests.base())
            Issue.record("a folder with '\(stray)' loaded")
        } catch AdapterError.incompatible(let detail) {
            #expect(detail == "\(file.path): unexpected tensor '\(stray)' for this adapter configuration")
        }
    }

    @Test func ownersAreReadFromAdapterHubNames() {
        #expect(AdapterHubNames.owner(ofTensor: "heads.sst_lora.4.bias") == "sst_lora")
        #expect(AdapterHubNames.owner(ofTensor: "roberta.encoder.layer.1.attention.self.query.loras.a_b.lora_A") == "a_b")
        #expect(AdapterHubNames.owner(ofTensor: "bert.encoder.layer.0.output.adapters.x.adapter_up.weight") == "x")
        #expect(AdapterHubNames.owner(ofTensor: "roberta.invertible_adapters.lang.F.0.weight") == "lang")
        #expect(AdapterHubNames.owner(ofTensor: "roberta.encoder.layer.0.output.dense.weight") == nil)
        #expect(AdapterHubNames.owner(ofTensor: "heads") == nil)
    }
}
