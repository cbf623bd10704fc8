import Encoders
import Foundation
import ModelIO
import TestSupport
import Testing

/// Sizes in `config.json` are checked before they cost memory (issue #12): absurd values are refused by
/// name, and values that disagree with the checkpoint's shapes are refused before anything is allocated.
@Suite("config.json sizes")
struct ConfigValidationTests {
    static let folder = Fixtures.url("encoders/tiny-roberta-cls")

    static func config(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any] ?? [:]
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    static func load(_ data: Data) throws -> EncoderModel {
        let path = "/models/x/config.json"
        let config = try EncoderConfig.decode(data, path: path)
        let weights = folder.appendingPathComponent("model.safetensors").path
        return try EncoderModel.load(config: config, source: try SafetensorsFile(path: weights), sourceName: weights)
    }

    @Test(arguments: [
        ("vocab_size", 1_000_000_000_000), ("hidden_size", 1 << 40), ("num_hidden_layers", 100_000),
        ("intermediate_size", Int(Int32.max)), ("max_position_embeddings", 1 << 50), ("type_vocab_size", 1 << 30),
        ("num_attention_heads", 1 << 20),
    ])
    func absurdSizesAreRefusedByName(key: String, value: Int) throws {
        do {
            _ = try Self.load(try Self.config { $0[key] = value })
            Issue.record("\(key) = \(value) loaded")
        } catch EncoderError.invalidConfig(let path, let detail) {
            #expect(path == "/models/x/config.json")
            #expect(detail.hasPrefix("\(key) \(value) is beyond"), "\(detail)")
        }
    }

    /// Plausible but wrong sizes: the checkpoint's tensor shapes refuse them (naming the tensor) before
    /// the model's arena is allocated — a vocabulary of 16 M × hidden would otherwise take gigabytes first.
    /// The first case asks for 16 M × 32,768 floats (2 TB): allocating before checking would abort.
    @Test(arguments: [
        (["vocab_size": 16_000_000, "hidden_size": 32_768], "embeddings.word_embeddings.weight"),
        (["intermediate_size": 200_000], "encoder.layer.0.intermediate.dense.weight"),
        (["num_hidden_layers": 3], "encoder.layer.2.attention.self.query.weight"),
    ])
    func sizesMustMatchTheCheckpoint(sizes: [String: Int], tensor: String) throws {
        do {
            _ = try Self.load(try Self.config { $0.merge(sizes) { $1 } })
            Issue.record("\(sizes) loaded")
        } catch EncoderError.weightShapeMismatch(_, let name, _, _) {
            #expect(name.hasSuffix(tensor))
        } catch EncoderError.missingWeight(_, let name) {
            #expect(name.hasSuffix(tensor))
        }
    }

    @Test(arguments: [("model_type", "distilbert"), ("hidden_act", "relu"), ("position_embedding_type", "relative_key")])
    func knownButUnimplementedValuesAreUnsupported(key: String, value: String) throws {
        do {
            _ = try EncoderConfig.decode(try Self.config { $0[key] = value }, path: "/m/config.json")
            Issue.record("\(key) = \(value) accepted")
        } catch EncoderError.unsupported(let path, let detail) {
            #expect(path == "/m/config.json")
            #expect(detail.hasPrefix("\(key) '\(value)' (this version runs "), "\(detail)")
        }
    }

    @Test func inconsistentSizesAreNamed() throws {
        #expect(throws: EncoderError.invalidConfig(
            path: "c", detail: "hidden_size 48 is not a multiple of num_attention_heads 5")) {
            try EncoderConfig.decode(try Self.config { $0["num_attention_heads"] = 5 }, path: "c")
        }
    }
}
