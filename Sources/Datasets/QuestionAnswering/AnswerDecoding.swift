import Foundation
import Tokenizers

/// An answer read off a context: its text and character span (Python indices), with its score.
public struct DecodedAnswer: Sendable, Equatable, Codable {
    public var text: String
    public var start: Int
    public var end: Int
    public var score: Double

    public init(text: String, start: Int, end: Int, score: Double) {
        self.text = text
        self.start = start
        self.end = end
        self.score = score
    }
}

/// One window's scores with what maps its positions back to the context (`QuestionAnsweringFeatures`).
public struct ScoredWindow: Sendable {
    /// Start and end logits per position of the window (attended positions, in order).
    public var startLogits: [Float]
    public var endLogits: [Float]
    /// Per position, its characters in the context; nil outside the context.
    public var spans: [CharacterSpan?]
    /// Per position, its word in the context; nil outside the context.
    public var words: [Int?]
    /// Positions of the `<s>` / `[CLS]` token.
    public var clsPositions: [Int]

    public init(
        startLogits: [Float], endLogits: [Float], spans: [CharacterSpan?], words: [Int?], clsPositions: [Int]
    ) {
        self.startLogits = startLogits
        self.endLogits = endLogits
        self.spans = spans
        self.words = words
        self.clsPositions = clsPositions
    }
}

/// Turning start/end scores into answers, the two ways transformers does it.
public enum AnswerDecoding {
    /// As `run_qa.py`'s `postprocess_qa_predictions` (the numbers its SQuAD evaluation reports): in every window
    /// the `nBest` highest start and end logits are paired, pairs outside the context, ending before they start or
    /// longer than `maxAnswerLength` tokens are dropped, and the pair with the highest `start + end` logit over all
    /// windows is the answer (its text sliced from the context by the tokens' offsets; run_qa's `"empty"` when there
    /// is no pair at all).
    ///
    /// - Parameter allowNoAnswer: SQuAD 2.0 (`version_2_with_negative`): the answer is `""` when the lowest null score
    ///   over the windows (`start + end` logit of the first position) beats the best pair's score.
    public static func bestLogitSum(
        _ windows: [ScoredWindow], context: String, nBest: Int = 20, maxAnswerLength: Int = 30,
        allowNoAnswer: Bool = false
    ) -> DecodedAnswer {
        let scalars = Array(context.unicodeScalars)
        var candidates: [(score: Float, start: Int, end: Int)] = []
        var null: Float? = nil
        for w in windows where !w.startLogits.isEmpty {
            let n = w.startLogits[0] + w.endLogits[0]
            if null.map({ n < $0 }) ?? true { null = n }
            let starts = topIndices(w.startLogits, nBest)
            let ends = topIndices(w.endLogits, nBest)
            for s in starts {
                guard let a = w.spans[s] else { continue }
                for e in ends {
                    guard let b = w.spans[e], e >= s, e - s + 1 <= maxAnswerLength else { continue }
                    candidates.append((w.startLogits[s] + w.endLogits[e], a.start, b.end))
                }
            }
        }
        // Python's sort is stable: among equal scores the earliest candidate stays first.
        let ranked = candidates.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }
            .prefix(nBest).map(\.element)
        func answer(_ c: (score: Float, start: Int, end: Int)) -> DecodedAnswer {
            DecodedAnswer(
                text: CharacterSpan(start: c.start, end: c.end).text(in: scalars), start: c.start, end: c.end,
                score: Double(c.score))
        }
        let best = ranked.first { !CharacterSpan(start: $0.start, end: $0.end).text(in: scalars).isEmpty }
        if allowNoAnswer, let null {
            guard let best, !(null > best.score) else {
                return DecodedAnswer(text: "", start: 0, end: 0, score: Double(null))
            }
            return answer(best)
        }
        guard let first = ranked.first,
            !(ranked.count == 1 && CharacterSpan(start: first.start, end: first.end).text(in: scalars).isEmpty)
        else {
            return DecodedAnswer(text: "empty", start: 0, end: 0, score: 0)
        }
        return answer(first)
    }

    /// As transformers' `QuestionAnsweringPipeline` (`top_k=1`, `align_to_words=True`): per window, softmax over the
    /// context tokens and `<s>`/`[CLS]` (whose probability is then zeroed); a span's score is `p_start · p_end`
    /// over spans of at most `maxAnswerLength` tokens; each window's 12 best spans widen to whole words, spans
    /// with the same text (ignoring case) add their scores, and the best over all windows is the answer.
    /// nil when no window has a context token.
    public static func pipeline(_ windows: [ScoredWindow], context: String, maxAnswerLength: Int = 15)
        -> DecodedAnswer?
    {
        let scalars = Array(context.unicodeScalars)
        var answers: [DecodedAnswer] = []
        let perWindow = 1 * 2 + 10  // the pipeline's pre_topk for top_k 1 with align_to_words
        for w in windows {
            let n = w.startLogits.count
            let allowed = (0..<n).map { w.spans[$0] != nil || w.clsPositions.contains($0) }
            func probabilities(_ logits: [Float]) -> [Double] {
                let masked = (0..<n).map { allowed[$0] ? Double(logits[$0]) : -10_000 }
                let m = masked.max() ?? 0
                let e = masked.map { Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                var p = e.map { $0 / total }
                if n > 0 { p[0] = 0 }  // "Mask CLS": the pipeline zeroes position 0 after normalising
                return p
            }
            let ps = probabilities(w.startLogits)
            let pe = probabilities(w.endLogits)
            var candidates: [(score: Double, s: Int, e: Int)] = []
            for s in 0..<n where w.spans[s] != nil {
                for e in s..<min(n, s + maxAnswerLength) where w.spans[e] != nil {
                    candidates.append((ps[s] * pe[e], s, e))
                }
            }
            // Highest first; equal scores in row-major order, as numpy's argmax over the flattened matrix.
            candidates.sort { $0.score > $1.score || ($0.score == $1.score && ($0.s, $0.e) < ($1.s, $1.e)) }
            for c in candidates.prefix(perWindow) {
                let (start, end) = wordBounds(w, c.s, c.e)
                let text = CharacterSpan(start: start, end: end).text(in: scalars)
                if let k = answers.firstIndex(where: { $0.text.lowercased() == text.lowercased() }) {
                    answers[k].score += c.score
                } else {
                    answers.append(DecodedAnswer(text: text, start: start, end: end, score: c.score))
                }
            }
        }
        // `sorted(reverse=True)` is stable: the first of equal scores wins.
        var best: DecodedAnswer? = nil
        for a in answers where a.score > (best?.score ?? -.infinity) { best = a }
        return best
    }

    /// The characters from the start of position `s`'s word to the end of position `e`'s word (the words' tokens
    /// within this window, as `Encoding.word_to_chars`).
    static func wordBounds(_ w: ScoredWindow, _ s: Int, _ e: Int) -> (Int, Int) {
        guard let ws = w.words[s], let we = w.words[e] else {
            return (w.spans[s]?.start ?? 0, w.spans[e]?.end ?? 0)
        }
        let first = w.words.firstIndex(of: ws).flatMap { w.spans[$0]?.start } ?? w.spans[s]?.start ?? 0
        let last = w.words.lastIndex(of: we).flatMap { w.spans[$0]?.end } ?? w.spans[e]?.end ?? 0
        return (first, last)
    }

    /// The indices of the `k` largest values, largest first (`np.argsort(x)[-1:-k-1:-1]`; equal values: later
    /// index first, as a stable ascending sort read backwards).
    static func topIndices(_ x: [Float], _ k: Int) -> [Int] {
        Array(x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 > $1) }.prefix(k))
    }
}
