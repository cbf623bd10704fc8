import Datasets
import Encoders
import Foundation
import Tokenizers

/// An answer as transformers' `QuestionAnsweringPipeline` reports it (`score`, `start`, `end`, `answer`), with the
/// start and end logits of every window of the context (one list per window, over its attended positions).
public struct AnswerPrediction: Sendable, Equatable {
    public let answer: DecodedAnswer
    public let startLogits: [[Float]]
    public let endLogits: [[Float]]
}

extension Runner {
    /// Answers each question from its context with a question-answering head (`model`, built on this runner's base),
    /// as transformers' question-answering pipeline does: the question and each window of the context
    /// (`maxLength` tokens, consecutive windows sharing `stride` context tokens) scored together, the best span of at
    /// most `maxAnswerLength` tokens widened to whole words (`AnswerDecoding.pipeline`). A question without any
    /// context token gets the empty answer with score 0.
    ///
    /// - Parameter maxLength: tokens per window; nil: 384, or the model's limit when smaller (the pipeline's default).
    /// - Parameter stride: nil: `min(maxLength / 2, 128)` (the pipeline's default).
    /// - Throws: `InferenceError` when a question leaves no room for its context in `maxLength` tokens.
    public func answer(
        _ questions: [QuestionAnsweringExample], model: AdapterModel, maxLength: Int? = nil, stride: Int? = nil,
        maxAnswerLength: Int = 15, batchSize: Int = 32, source: String
    ) throws -> [AnswerPrediction] {
        guard model.head.type == .questionAnswering else {
            throw InferenceError.invalidInput(
                path: source, line: nil,
                detail: "the head '\(model.head.name)' is \(model.head.describe), not question_answering")
        }
        guard let tokenizer = encoder.tokenizer else {
            throw InferenceError.invalidInput(
                path: source, line: nil, detail: "answering questions needs the model's tokenizer")
        }
        let length = min(maxLength ?? 384, TextEncoder.modelMaxLength(model.config))
        let windows: TokenizedDataset
        do {
            windows = try TokenizedDataset(
                questionAnswering: questions, tokenizer: tokenizer, source: source, maxLength: length,
                stride: stride ?? min(length / 2, 128))
        } catch let error as DatasetError {
            throw InferenceError.invalidInput(path: source, line: nil, detail: error.description)
        }
        guard let features = windows.questionAnswering else { return [] }
        var logits: [(start: [Float], end: [Float])] = []
        logits.reserveCapacity(windows.count)
        for lo in Swift.stride(from: 0, to: windows.count, by: max(1, batchSize)) {
            let padded = windows.batch(
                Array(lo..<min(windows.count, lo + max(1, batchSize))), padId: tokenizer.padTokenId)
            let batch = try TokenBatch(
                batchSize: padded.batchSize, sequenceLength: padded.sequenceLength, inputIds: padded.inputIds,
                attentionMask: padded.attentionMask, tokenTypeIds: padded.tokenTypeIds)
            for case .spanLogits(let start, let end) in TaskPrediction.split(
                try model.logits(batch), head: model.head, batch: batch, tokenizer: tokenizer)
            {
                logits.append((start, end))
            }
        }
        return features.windowsOf.enumerated().map { e, range in
            let scored = range.map {
                features.scoredWindow($0, startLogits: logits[$0].start, endLogits: logits[$0].end)
            }
            let answer =
                AnswerDecoding.pipeline(scored, context: questions[e].context, maxAnswerLength: maxAnswerLength)
                ?? DecodedAnswer(text: "", start: 0, end: 0, score: 0)
            return AnswerPrediction(
                answer: answer, startLogits: range.map { logits[$0].start }, endLogits: range.map { logits[$0].end })
        }
    }
}
