import Encoders
import Tokenizers

/// A label with its softmax probability, as transformers' pipelines report it.
public struct LabelScore: Sendable, Equatable, CustomStringConvertible {
    public let label: String
    public let score: Float

    public init(label: String, score: Float) {
        self.label = label
        self.score = score
    }

    public var description: String { "{label: \(label), score: \(score)}" }
}

/// Texts in, labels with scores out: transformers' `TextClassificationPipeline` for any
/// `SequenceClassifier` (an HF `*ForSequenceClassification` checkpoint, an `AdapterModel`, or a
/// `ModelWithAdapters` with its active adapters and head).
///
/// Scores are the softmax over the head's labels; `topK` 1 gives the best label (the pipeline's
/// default), `nil` every label, best first. Texts are tokenized in batches of `batchSize` and,
/// unless `truncation` is off, cut to `maxLength` tokens (default: what the model can embed).
///
/// ```swift
/// let classify = TextClassificationPipeline(classifier: model, tokenizer: tokenizer, config: config)
/// let results = try classify(["A gripping film.", "Dull."])   // [[LabelScore]]
/// ```
public struct TextClassificationPipeline {
    public let classifier: SequenceClassifier
    public let encoder: TextEncoder
    public var batchSize: Int

    public init(
        classifier: SequenceClassifier, tokenizer: Tokenizer, config: EncoderConfig, batchSize: Int = 8,
        truncation: Bool = true, maxLength: Int? = nil
    ) {
        self.classifier = classifier
        encoder = TextEncoder(tokenizer: tokenizer, config: config, maxLength: maxLength, truncation: truncation)
        self.batchSize = batchSize
    }

    /// The `topK` best labels of each text (nil: all labels), best first; ties keep label order.
    public func callAsFunction(_ texts: [String], topK: Int? = 1) throws -> [[LabelScore]] {
        let labels = classifier.classLabels
        guard labels.count >= 2 else {
            throw InferenceError.invalidInput(
                path: "pipeline", line: nil, detail: "the classifier has no labels (no active head?)")
        }
        if let topK, topK < 1 {
            throw InferenceError.invalidInput(
                path: "pipeline", line: nil, detail: "topK must be at least 1, got \(topK)")
        }
        let records = texts.map { InputRecord.text($0, pair: nil) }
        var results: [[LabelScore]] = []
        results.reserveCapacity(texts.count)
        let step = max(batchSize, 1)
        for start in stride(from: 0, to: records.count, by: step) {
            let batch = try encoder.batch(records[start..<min(records.count, start + step)], source: "pipeline input")
            let logits = try classifier.classLogits(batch)
            let n = labels.count
            for b in 0..<batch.batchSize {
                let probabilities = softmax(Array(logits[b * n..<(b + 1) * n]))
                results.append(
                    rankByProbability(probabilities).prefix(topK ?? n).map {
                        LabelScore(label: labels[$0], score: probabilities[$0])
                    })
            }
        }
        return results
    }

    /// One text's `topK` best labels.
    public func callAsFunction(_ text: String, topK: Int? = 1) throws -> [LabelScore] {
        try self([text], topK: topK)[0]
    }
}
