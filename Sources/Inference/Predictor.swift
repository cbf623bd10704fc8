import Encoders
import Foundation
import Kernels

/// A classification result, as transformers' `TextClassificationPipeline` reports it, plus logits.
public struct Prediction: Sendable, Equatable {
    public let label: String
    /// Softmax probability of `label`.
    public let score: Float
    public let logits: [Float]
    /// Softmax probability of every label, by class index.
    public let probabilities: [Float]

    /// The `k` most probable labels with their scores, best first (transformers' `top_k`; ties keep
    /// class order).
    public func top(_ k: Int, labels: [String]) -> [(label: String, score: Float)] {
        rankByProbability(probabilities).prefix(max(0, k)).map { (labels[$0], probabilities[$0]) }
    }
}

/// Class indices, most probable first; ties keep class order (as transformers' pipelines sort).
func rankByProbability(_ probabilities: [Float]) -> [Int] {
    probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
}

/// How `embed` turns token states into one vector.
public enum Pooling: String, Sendable, CaseIterable, Codable {
    /// Mean over attended tokens (sentence-transformers' `pooling_mode_mean_tokens`).
    case mean
    /// The first token's state (`[CLS]` / `<s>`).
    case cls
}

/// Batched classification and embedding over input records.
public struct Runner {
    public let model: PretrainedModel
    public let encoder: TextEncoder
    /// What `predict` runs: an adapter with its head, or the checkpoint's own head.
    public let classifier: SequenceClassifier?

    public init(model: PretrainedModel, maxLength: Int? = nil, classifier: SequenceClassifier? = nil) {
        self.model = model
        encoder = TextEncoder(tokenizer: model.tokenizer, config: model.config, maxLength: maxLength)
        self.classifier = classifier ?? (model.encoder.head == nil ? nil : model.encoder)
    }

    /// Predictions in input order; `batchSize` records per forward pass.
    public func predict(_ records: [InputRecord], batchSize: Int, source: String) throws -> [Prediction] {
        guard let classifier else {
            throw InferenceError.invalidInput(
                path: model.folder.path, line: nil,
                detail: "the model has no sequence-classification head (config.json architectures names none): give --adapter, or use `embed`")
        }
        let labels = classifier.classLabels
        var out: [Prediction] = []
        out.reserveCapacity(records.count)
        try forEachBatch(records, batchSize: batchSize, source: source) { batch in
            let logits = try classifier.classLogits(batch)
            let n = labels.count
            for b in 0..<batch.batchSize {
                let row = Array(logits[b * n..<(b + 1) * n])
                let probs = softmax(row)
                var best = 0
                for j in 1..<n where probs[j] > probs[best] { best = j }
                out.append(Prediction(label: labels[best], score: probs[best], logits: row, probabilities: probs))
            }
        }
        return out
    }

    /// Runs `body` on `records` encoded `batchSize` at a time, in order.
    func forEachBatch(_ records: [InputRecord], batchSize: Int, source: String, _ body: (TokenBatch) throws -> Void) throws {
        for start in stride(from: 0, to: records.count, by: max(batchSize, 1)) {
            try body(try encoder.batch(records[start..<min(records.count, start + max(batchSize, 1))], source: source))
        }
    }

    /// Embeddings `[records][C]` in input order.
    public func embed(_ records: [InputRecord], pooling: Pooling, batchSize: Int, source: String) throws -> [[Float]] {
        var out: [[Float]] = []
        let c = model.config.hiddenSize
        for start in stride(from: 0, to: records.count, by: max(batchSize, 1)) {
            let slice = records[start..<min(records.count, start + max(batchSize, 1))]
            let batch = try encoder.batch(slice, source: source)
            let output = try model.encoder.forward(batch)
            let pooled = pooling == .mean ? output.meanPooled() : try output.firstToken()
            for b in 0..<batch.batchSize { out.append(Array(pooled[b * c..<(b + 1) * c])) }
        }
        return out
    }
}

/// Softmax of a small vector, in double for exact scores.
public func softmax(_ logits: [Float]) -> [Float] {
    guard let mx = logits.max() else { return [] }
    let e = logits.map { Foundation.exp(Double($0 - mx)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}
