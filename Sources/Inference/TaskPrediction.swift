import Encoders
import Foundation
import Kernels

/// What a regression, multi-label or tagging head predicts for one input.
public enum TaskPrediction: Sendable, Equatable {
    /// The head's output, untransformed (transformers' pipeline with `problem_type="regression"`).
    case regression(value: Float)
    /// Each label's sigmoid score, by class index, with the logits.
    case multilabel(scores: [Float], logits: [Float])
    /// Every token of the text (special tokens left out, as transformers' token-classification pipeline
    /// does) with its best tag; `logits` holds one row per attended position, special tokens included.
    case tagging(tokens: [TaggedToken], logits: [[Float]])
}

/// One token of a tagging prediction, named as transformers' `TokenClassificationPipeline` names them
/// (`aggregation_strategy="none"`): `index` is the position in the encoded sequence.
public struct TaggedToken: Sendable, Equatable {
    public let entity: String
    public let score: Float
    public let index: Int
    /// The token as the vocabulary spells it (`##ing`, `Ġworld`).
    public let word: String
}

extension Runner {
    /// Predictions of a regression, multi-label or tagging head (`model`, built on this runner's base) in
    /// input order; `batchSize` records per forward pass.
    public func predictTask(_ records: [InputRecord], model: AdapterModel, batchSize: Int, source: String) throws
        -> [TaskPrediction]
    {
        let head = model.head
        let n = head.numLabels
        var out: [TaskPrediction] = []
        out.reserveCapacity(records.count)
        for start in stride(from: 0, to: records.count, by: max(batchSize, 1)) {
            let slice = records[start..<min(records.count, start + max(batchSize, 1))]
            let batch = try encoder.batch(slice, source: source)
            let logits = try model.logits(batch)
            switch head.type {
            case .classification:
                guard head.isRegression else {
                    throw InferenceError.invalidInput(
                        path: source, line: nil, detail: "a single-label classification head: use predict")
                }
                for b in 0..<batch.batchSize { out.append(.regression(value: logits[b])) }
            case .multilabelClassification:
                for b in 0..<batch.batchSize {
                    let row = Array(logits[(b * n)..<((b + 1) * n)])
                    out.append(
                        .multilabel(scores: row.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }, logits: row))
                }
            case .tagging:
                let t = batch.sequenceLength
                var row = 0
                for b in 0..<batch.batchSize {
                    var tokens: [TaggedToken] = []
                    var rows: [[Float]] = []
                    let ids = Array(batch.inputIds[(b * t)..<((b + 1) * t)])
                    for p in 0..<t where batch.attentionMask[b * t + p] != 0 {
                        let z = Array(logits[(row * n)..<((row + 1) * n)])
                        row += 1
                        rows.append(z)
                        guard !(encoder.tokenizer?.isSpecial(ids[p]) ?? false) else { continue }
                        let probabilities = softmax(z)
                        var best = 0
                        for j in 1..<n where probabilities[j] > probabilities[best] { best = j }
                        tokens.append(
                            TaggedToken(
                                entity: head.labels[best], score: probabilities[best], index: p,
                                word: encoder.tokenizer?.idToToken(ids[p]) ?? String(ids[p])))
                    }
                    out.append(.tagging(tokens: tokens, logits: rows))
                }
            }
        }
        return out
    }
}
