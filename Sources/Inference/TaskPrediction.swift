import Datasets
import Encoders
import Foundation
import Kernels
import Tokenizers

/// What a regression, multi-label or tagging head predicts for one input.
public enum TaskPrediction: Sendable, Equatable {
    /// The head's output, untransformed (transformers' pipeline with `problem_type="regression"`).
    case regression(value: Float)
    /// Each label's sigmoid score, by class index, with the logits.
    case multilabel(scores: [Float], logits: [Float])
    /// The best choice of an example, with each choice's softmax score and logit.
    case multipleChoice(choice: Int, scores: [Float], logits: [Float])
    /// Every token of the text (special tokens left out, as transformers' token-classification pipeline
    /// does) with its best tag; `logits` holds one row per attended position, special tokens included.
    case tagging(tokens: [TaggedToken], logits: [[Float]])
    /// A question-answering head's start and end logits per attended position of one window (the answer
    /// itself needs the window's character offsets: `Runner.answer`).
    case spanLogits(start: [Float], end: [Float])
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
        var out: [TaskPrediction] = []
        out.reserveCapacity(records.count)
        try forEachBatch(records, batchSize: batchSize, source: source) { batch in
            let logits = try model.logits(batch)
            guard !head.isSingleLabel else {
                throw InferenceError.invalidInput(
                    path: source, line: nil, detail: "a single-label classification head: use predict")
            }
            out += TaskPrediction.split(logits, head: head, batch: batch, tokenizer: encoder.tokenizer)
        }
        return out
    }
}

extension TaskPrediction {
    /// Each sequence's prediction from the logits a regression, multi-label or tagging head gave for `batch`
    /// (`[B, n]`, or `[M, n]` over the attended tokens for tagging).
    public static func split(_ logits: [Float], head: HeadSpec, batch: TokenBatch, tokenizer: Tokenizer?)
        -> [TaskPrediction]
    {
        let n = head.numLabels
        switch head.type {
        case .classification:
            // A regression head (one output); a single-label head has no TaskPrediction.
            return (0..<batch.batchSize).map { .regression(value: logits[$0 * n]) }
        case .multilabelClassification:
            return (0..<batch.batchSize).map { b in
                let row = Array(logits[(b * n)..<((b + 1) * n)])
                return .multilabel(scores: row.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }, logits: row)
            }
        case .multipleChoice:
            // The batch holds each example's n choices as consecutive sequences, one logit each.
            return (0..<(batch.batchSize / max(n, 1))).map { e in
                let row = Array(logits[(e * n)..<((e + 1) * n)])
                let p = softmax(row)
                var best = 0
                for j in 1..<n where p[j] > p[best] { best = j }
                return .multipleChoice(choice: best, scores: p, logits: row)
            }
        case .tagging:
            let t = batch.sequenceLength
            var row = 0
            var out: [TaskPrediction] = []
            for b in 0..<batch.batchSize {
                var tokens: [TaggedToken] = []
                var rows: [[Float]] = []
                for p in 0..<t where batch.attentionMask[b * t + p] != 0 {
                    let z = Array(logits[(row * n)..<((row + 1) * n)])
                    row += 1
                    rows.append(z)
                    let id = batch.inputIds[b * t + p]
                    guard !(tokenizer?.isSpecial(id) ?? false) else { continue }
                    let probabilities = softmax(z)
                    var best = 0
                    for j in 1..<n where probabilities[j] > probabilities[best] { best = j }
                    tokens.append(
                        TaggedToken(
                            entity: head.labels[best], score: probabilities[best], index: p,
                            word: tokenizer?.idToToken(id) ?? String(id)))
                }
                out.append(.tagging(tokens: tokens, logits: rows))
            }
            return out
        case .questionAnswering:
            var out: [TaskPrediction] = []
            var row = 0
            for b in 0..<batch.batchSize {
                let attended = (0..<batch.sequenceLength).filter { batch.attentionMask[b * batch.sequenceLength + $0] != 0 }.count
                let columns = QuestionAnsweringFeatures.startAndEnd(logits[(row * 2)..<((row + attended) * 2)])
                out.append(.spanLogits(start: columns.start, end: columns.end))
                row += attended
            }
            return out
        }
    }
}
