import Foundation
import Inference
import TestSupport
import Testing
import Tokenizers

/// The tagging pipeline's entities against transformers' `TokenClassificationPipeline` for every
/// `aggregation_strategy`, from the same logits (fixtures from tools/make_token_classification_fixtures.py: tiny random
/// models, WordPiece and byte-level BPE tokenizers, 39 texts each).
@Suite("Token-classification pipeline")
struct TokenClassificationPipelineTests {
    @Test(arguments: ["minilm", "roberta-base"])
    func entitiesEqualTheTransformersPipeline(tokenizerName: String) throws {
        let json = try Fixtures.json("tokenizers/token_classification.json")
        let labels = json["labels"] as? [String] ?? []
        let cases = (json["tokenizers"] as? [String: Any])?[tokenizerName] as? [[String: Any]] ?? []
        let tokenizer = try Tokenizer.load(from: Fixtures.url("tokenizers/\(tokenizerName)"))
        #expect(cases.count > 30)
        var compared = 0
        for c in cases {
            let text = c["text"] as? String ?? ""
            let encoded = tokenizer.encodeWithOffsets(text, options: EncodeOptions(maxLength: 128, truncation: true))
            #expect(encoded.encoding.ids == (c["ids"] as? [Int] ?? []).map(Int32.init), "\(text)")
            let logits = (c["logits"] as? [[Double]] ?? []).map { $0.map(Float.init) }
            for strategy in AggregationStrategy.allCases {
                let expected = c[strategy.rawValue] as? [[String: Any]] ?? []
                let got = TokenClassification.entities(
                    logits: logits, ids: encoded.encoding.ids, specialTokensMask: encoded.encoding.specialTokensMask,
                    offsets: encoded.offsets, text: text, labels: labels, tokenizer: tokenizer, strategy: strategy)
                #expect(got.count == expected.count, "\(strategy) \(text): \(got.count) entities vs \(expected.count)")
                for (g, e) in zip(got, expected) {
                    compared += 1
                    let label = (e["entity"] ?? e["entity_group"]) as? String
                    let same =
                        g.label == label && g.word == e["word"] as? String && g.start == e["start"] as? Int
                        && g.end == e["end"] as? Int && g.index == e["index"] as? Int
                    #expect(same, "\(strategy) \(text): \(g) vs \(e)")
                    let score = e["score"] as? Double ?? -1
                    #expect(
                        abs(Double(g.score) - score) <= 1e-5 * max(1, score),
                        "\(strategy) \(text): score \(g.score) vs \(score)")
                }
            }
        }
        #expect(compared > 300)
    }
}
