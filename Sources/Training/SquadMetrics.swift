import Foundation

extension MetricMath {
    /// SQuAD's answer normalisation (transformers' `squad_metrics.normalize_answer`, the official script's): lower
    /// case, ASCII punctuation removed, the words "a", "an" and "the" removed, whitespace collapsed.
    public static func normalizeAnswer(_ s: String) -> String {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
        let lowered = s.lowercased().unicodeScalars.filter { !punctuation.contains($0) }
        // `\b(a|an|the)\b`: a maximal run of word characters that is exactly one of the articles becomes a space.
        var out = String.UnicodeScalarView()
        var run = String.UnicodeScalarView()
        func flush() {
            let word = String(run)
            if word == "a" || word == "an" || word == "the" { out.append(" ") } else { out.append(contentsOf: run) }
            run.removeAll()
        }
        for c in lowered {
            if isWordCharacter(c) {
                run.append(c)
            } else {
                flush()
                out.append(c)
            }
        }
        flush()
        return answerTokens(String(out)).joined(separator: " ")
    }

    /// Python's `str.split()`: runs of whitespace separate, none at the ends.
    static func answerTokens(_ s: String) -> [String] {
        s.unicodeScalars.split { $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value) }.map { String($0) }
    }

    /// Python's `\w` in a Unicode pattern: letters, numbers, underscore.
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c == "_" { return true }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
            .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// 1 when the normalised answers are equal (`compute_exact`).
    public static func exactMatch(gold: String, predicted: String) -> Double {
        normalizeAnswer(gold) == normalizeAnswer(predicted) ? 1 : 0
    }

    /// Word-overlap F1 of the normalised answers (`compute_f1`); two empty answers score 1, one empty 0.
    public static func answerF1(gold: String, predicted: String) -> Double {
        let g = gold.isEmpty ? [] : answerTokens(normalizeAnswer(gold))
        let p = predicted.isEmpty ? [] : answerTokens(normalizeAnswer(predicted))
        if g.isEmpty || p.isEmpty { return g == p ? 1 : 0 }
        var counts: [String: Int] = [:]
        for t in g { counts[t, default: 0] += 1 }
        var same = 0
        for t in p where (counts[t] ?? 0) > 0 {
            counts[t]! -= 1
            same += 1
        }
        guard same > 0 else { return 0 }
        let precision = Double(same) / Double(p.count)
        let recall = Double(same) / Double(g.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// SQuAD's `exact_match` and `f1` in percent: per question the best over its gold answers (those that normalise to
    /// nothing left out; a question without any has the gold answer ""), averaged over questions.
    public static func squad(predictions: [String], golds: [[String]]) -> (exactMatch: Double, f1: Double) {
        guard !predictions.isEmpty, predictions.count == golds.count else { return (0, 0) }
        var em = 0.0
        var f1 = 0.0
        for (p, g) in zip(predictions, golds) {
            let kept = g.filter { !normalizeAnswer($0).isEmpty }
            let answers = kept.isEmpty ? [""] : kept
            em += answers.map { exactMatch(gold: $0, predicted: p) }.max() ?? 0
            f1 += answers.map { answerF1(gold: $0, predicted: p) }.max() ?? 0
        }
        return (100 * em / Double(predictions.count), 100 * f1 / Double(predictions.count))
    }
}
