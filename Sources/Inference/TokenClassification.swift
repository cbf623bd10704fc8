import Foundation
import Tokenizers

/// How token predictions become entities, as transformers' `TokenClassificationPipeline` offers
/// (`aggregation_strategy`).
public enum AggregationStrategy: String, Sendable, CaseIterable {
    /// Every token with its best label (tokens labelled `O` left out).
    case none
    /// Adjacent tokens with the same entity type (a `B-` tag starts a new one) grouped, scores averaged.
    case simple
    /// Each word takes its first token's label, then words are grouped as `simple`.
    case first
    /// Each word takes the label of its tokens' averaged scores, then grouped.
    case average
    /// Each word takes the label of its most confident token, then grouped.
    case max
}

/// One entity of the pipeline's output: a token (`none`: `entity`, with its `index`) or a group (`entity_group`).
public struct TokenEntity: Sendable, Equatable {
    /// The label (`none`) or the entity type without its `B-`/`I-` prefix (the other strategies).
    public var label: String
    public var score: Float
    /// The token's position in the encoded sequence (`none` only).
    public var index: Int?
    public var word: String
    /// Character span in the text; nil for pre-tokenized input.
    public var start: Int?
    public var end: Int?
}

/// transformers' token-classification post-processing for one sequence.
public enum TokenClassification {
    /// The pipeline's entities from a tagging head's logits.
    ///
    /// - Parameters:
    ///   - logits: one row per attended position (special tokens included), as `TaskPrediction.tagging` holds them.
    ///   - ids, specialTokensMask: the encoded sequence's attended positions.
    ///   - offsets, text: each position's character span in `text`; nil for pre-tokenized input (no spans, no words).
    ///   - ignoreLabels: entities with these labels are left out (the pipeline's default: `O`).
    public static func entities(
        logits: [[Float]], ids: [Int32], specialTokensMask: [Int32], offsets: [CharacterSpan]?, text: String?,
        labels: [String], tokenizer: Tokenizer, strategy: AggregationStrategy, ignoreLabels: Set<String> = ["O"]
    ) -> [TokenEntity] {
        let scalars = text.map { Array($0.unicodeScalars) }
        struct Pre {
            var word: String
            var scores: [Float]
            var start: Int?
            var end: Int?
            var index: Int
            var isSubword: Bool
        }
        var pre: [Pre] = []
        for (idx, row) in logits.enumerated() where idx < ids.count && specialTokensMask[idx] == 0 {
            var word = tokenizer.idToToken(ids[idx]) ?? ""
            var start: Int? = nil
            var end: Int? = nil
            var isSubword = false
            if let offsets, let scalars, idx < offsets.count {
                let (s, e) = (offsets[idx].start, offsets[idx].end)
                start = s
                end = e
                let reference = CharacterSpan(start: s, end: e).text(in: scalars)
                if tokenizer.kind == .wordPiece {
                    // A word-aware tokenizer: a piece spelled longer than its text is a `##` continuation.
                    isSubword = word.unicodeScalars.count != reference.unicodeScalars.count
                } else {
                    // The pipeline's fallback for tokenizers without word pieces.
                    isSubword = s > 0 && !CharacterSpan(start: s - 1, end: s + 1).text(in: scalars).contains(" ")
                }
                if ids[idx] == tokenizer.unknownTokenId {
                    word = reference
                    isSubword = false
                }
            }
            pre.append(
                Pre(word: word, scores: softmax(row), start: start, end: end, index: idx, isSubword: isSubword))
        }
        var tokens: [TokenEntity] = []
        switch strategy {
        case .none, .simple:
            for p in pre {
                let best = argmax(p.scores)
                tokens.append(
                    TokenEntity(
                        label: labels[best], score: p.scores[best], index: p.index, word: p.word, start: p.start,
                        end: p.end))
            }
        case .first, .average, .max:
            var groups: [[Pre]] = []
            for p in pre {
                if p.isSubword, !groups.isEmpty { groups[groups.count - 1].append(p) } else { groups.append([p]) }
            }
            for g in groups {
                let scores: [Float]
                switch strategy {
                case .first:
                    scores = g[0].scores
                case .max:
                    // Python's max keeps the first of equal maxima.
                    var top = g[0]
                    for p in g.dropFirst() where (p.scores.max() ?? 0) > (top.scores.max() ?? 0) { top = p }
                    scores = top.scores
                default:
                    scores = (0..<g[0].scores.count).map { j in
                        g.reduce(Float(0)) { $0 + $1.scores[j] } / Float(g.count)
                    }
                }
                let best = argmax(scores)
                tokens.append(
                    TokenEntity(
                        label: labels[best], score: scores[best], index: nil,
                        word: tokenizer.convertTokensToString(g.map(\.word)), start: g[0].start, end: g[g.count - 1].end
                    ))
            }
        }
        if strategy == .none { return tokens.filter { !ignoreLabels.contains($0.label) } }
        // Group adjacent entities of one type; a `B-` tag starts a new group.
        func tag(_ label: String) -> (bi: String, type: String) {
            if label.hasPrefix("B-") { return ("B", String(label.dropFirst(2))) }
            if label.hasPrefix("I-") { return ("I", String(label.dropFirst(2))) }
            return ("I", label)
        }
        var grouped: [TokenEntity] = []
        var run: [TokenEntity] = []
        func flush() {
            guard let first = run.first else { return }
            let type = first.label.split(separator: "-", maxSplits: 1).last.map(String.init) ?? first.label
            grouped.append(
                TokenEntity(
                    label: type, score: run.reduce(Float(0)) { $0 + $1.score } / Float(run.count), index: nil,
                    word: tokenizer.convertTokensToString(run.map(\.word)), start: first.start,
                    end: run[run.count - 1].end))
            run = []
        }
        for e in tokens {
            if let last = run.last {
                let (bi, type) = tag(e.label)
                if type == tag(last.label).type && bi != "B" {
                    run.append(e)
                    continue
                }
                flush()
            }
            run.append(e)
        }
        flush()
        return grouped.filter { !ignoreLabels.contains($0.label) }
    }

    /// The first index of the largest value (numpy's argmax).
    static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for j in x.indices where x[j] > x[best] { best = j }
        return best
    }
}

extension Runner {
    /// The token-classification pipeline's entities for one input from its tagging logits (one row per attended
    /// position, `TaskPrediction.tagging`): the text is encoded again with character offsets (same ids as the batch);
    /// pre-tokenized input has no offsets, so its entities carry no spans and every token is a word of its own.
    public func entities(
        for record: InputRecord, logits: [[Float]], labels: [String], strategy: AggregationStrategy
    ) -> [TokenEntity] {
        guard let tokenizer = encoder.tokenizer else { return [] }
        switch record {
        case .text(let text, let pair):
            let options = EncodeOptions(
                addSpecialTokens: true, maxLength: encoder.truncation ? encoder.maxLength : nil,
                truncation: encoder.truncation, padding: .none)
            let e = tokenizer.encodeWithOffsets(text, pair: pair, options: options)
            // A pair's second text has offsets of its own: only the first text's tokens get spans.
            let offsets = pair == nil ? e.offsets : nil
            return TokenClassification.entities(
                logits: logits, ids: e.encoding.ids, specialTokensMask: e.encoding.specialTokensMask, offsets: offsets,
                text: pair == nil ? text : nil, labels: labels, tokenizer: tokenizer, strategy: strategy)
        case .tokens(let ids, let mask, _):
            let attended = zip(ids, mask).filter { $0.1 != 0 }.map(\.0)
            return TokenClassification.entities(
                logits: logits, ids: attended, specialTokensMask: attended.map { tokenizer.isSpecial($0) ? 1 : 0 },
                offsets: nil, text: nil, labels: labels, tokenizer: tokenizer, strategy: strategy)
        }
    }
}
