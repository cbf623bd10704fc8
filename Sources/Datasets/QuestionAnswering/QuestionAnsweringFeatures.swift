import Tokenizers

/// Question-answering examples cut into the windows a model reads (`Tokenizer.encodeWindows`), with what turning
/// a window's start/end scores back into an answer needs.
public struct QuestionAnsweringFeatures: Sendable {
    public let examples: [QuestionAnsweringExample]
    /// The example each window belongs to (windows of one example are consecutive).
    public let exampleOf: [Int]
    /// Per window and position (unpadded): the characters of the context the token covers; nil for the question,
    /// the special tokens — what may not be part of an answer.
    public let contextSpans: [[CharacterSpan?]]
    /// Per window and position: the token's word in the context (pipelines widen answers to whole words); nil
    /// outside the context.
    public let contextWords: [[Int?]]
    /// Per window: the positions holding the tokenizer's first special token (`<s>`, `[CLS]`), which the
    /// pipeline keeps in its softmax.
    public let clsPositions: [[Int]]

    /// Window `w` with a question-answering head's logits for it, as `AnswerDecoding` reads them.
    public func scoredWindow(_ w: Int, startLogits: [Float], endLogits: [Float]) -> ScoredWindow {
        ScoredWindow(
            startLogits: startLogits, endLogits: endLogits, spans: contextSpans[w], words: contextWords[w],
            clsPositions: clsPositions[w])
    }

    /// The start and end columns of a question-answering head's `[positions, 2]` logits.
    public static func startAndEnd<C: Collection<Float>>(_ rows: C) -> (start: [Float], end: [Float]) {
        var start: [Float] = []
        var end: [Float] = []
        for (k, v) in rows.enumerated() {
            if k % 2 == 0 { start.append(v) } else { end.append(v) }
        }
        return (start, end)
    }

    /// The windows of each example, in order.
    public var windowsOf: [Range<Int>] {
        var out = [Range<Int>](repeating: 0..<0, count: examples.count)
        var w = 0
        while w < exampleOf.count {
            var end = w
            while end < exampleOf.count && exampleOf[end] == exampleOf[w] { end += 1 }
            out[exampleOf[w]] = w..<end
            w = end
        }
        return out
    }
}

extension TokenizedDataset {
    /// AdapterHub's default lengths for question answering (transformers' `run_qa.py`): 384 tokens, stride 128.
    public static let questionAnsweringMaxLength = 384
    public static let questionAnsweringStride = 128

    /// Question answering: each example's question (leading spaces dropped, as `run_qa.py` does) and context
    /// cut into windows of `maxLength` tokens overlapping by `stride` (not padded; batches pad), each labelled with
    /// the token positions of the first answer's start and end — the first position (`<s>` / `[CLS]`) when the
    /// window does not hold the whole answer or the example has none.
    ///
    /// The labels follow `run_qa.py`'s `prepare_train_features`, except that the search for the start token stays
    /// inside the context: for an answer starting in a window's last context token `run_qa.py` walks on through the
    /// separator into padding and labels a padded position.
    ///
    /// - Throws: ``DatasetError/invalidQuestion(file:location:detail:)`` when a question leaves no room for its
    ///   context or `stride` is not below the room left.
    public init(
        questionAnswering examples: [QuestionAnsweringExample], tokenizer: Tokenizer, source: String,
        maxLength: Int = TokenizedDataset.questionAnsweringMaxLength,
        stride: Int = TokenizedDataset.questionAnsweringStride
    ) throws {
        var ids: [[Int32]] = []
        var types: [[Int32]] = []
        var spans: [Int32] = []
        var exampleOf: [Int] = []
        var contextSpans: [[CharacterSpan?]] = []
        var contextWords: [[Int?]] = []
        var clsPositions: [[Int]] = []
        let cls = tokenizer.encode("", options: EncodeOptions(addSpecialTokens: true)).ids.first
        for (k, e) in examples.enumerated() {
            let question = String(e.question.drop { $0.isWhitespace })
            let windows: [OffsetEncoding]
            do {
                windows = try tokenizer.encodeWindows(
                    question: question, context: e.context, maxLength: maxLength, stride: stride, pad: false)
            } catch {
                throw DatasetError.invalidQuestion(file: source, location: "example \(e.id)", detail: error.description)
            }
            for w in windows {
                let context = w.sequenceIds.indices.filter { w.sequenceIds[$0] == 1 }
                var label: (Int32, Int32) = (0, 0)
                if let answer = e.answers.first, let first = context.first, let last = context.last {
                    let startChar = answer.start
                    let endChar = answer.start + answer.text.unicodeScalars.count
                    if w.offsets[first].start <= startChar && w.offsets[last].end >= endChar {
                        var s = first
                        while s <= last && w.offsets[s].start <= startChar { s += 1 }
                        var t = last
                        while t >= first && w.offsets[t].end >= endChar { t -= 1 }
                        label = (Int32(s - 1), Int32(t + 1))
                    }
                }
                spans += [label.0, label.1]
                ids.append(w.encoding.ids)
                types.append(w.encoding.typeIds)
                exampleOf.append(k)
                contextSpans.append(w.sequenceIds.indices.map { w.sequenceIds[$0] == 1 ? w.offsets[$0] : nil })
                contextWords.append(w.sequenceIds.indices.map { w.sequenceIds[$0] == 1 ? w.wordIds[$0] : nil })
                clsPositions.append(w.encoding.ids.indices.filter { cls != nil && w.encoding.ids[$0] == cls })
            }
        }
        let store = Self.flatten(
            ids, typeIds: tokenizer.usesTokenTypeIds ? types : nil, labels: [Int32](repeating: 0, count: ids.count))
        store.spans = spans
        self.init(store: store, maxLength: maxLength, task: .questionAnswering)
        questionAnswering = QuestionAnsweringFeatures(
            examples: examples, exampleOf: exampleOf, contextSpans: contextSpans, contextWords: contextWords,
            clsPositions: clsPositions)
    }

    /// Window `i`'s answer start and end positions (question answering; empty otherwise).
    public func spanLabels(_ i: Int) -> ArraySlice<Int32> {
        store.spans.isEmpty ? [] : store.spans[(2 * i)..<(2 * i + 2)]
    }
}
