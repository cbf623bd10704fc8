import Foundation

/// Evaluation metrics of the heads other than single-label classification, named as transformers'
/// example scripts report them (`run_glue` for STS-B, `run_ner` with seqeval), with the one that picks
/// the best checkpoint.
public struct TaskMetrics: Codable, Sendable, Equatable {
    /// `regression`, `multilabel_classification` or `tagging`.
    public var task: String
    /// The head's mean loss: MSE, binary cross-entropy, or cross-entropy over the labelled tokens.
    public var loss: Float
    /// Examples evaluated (sequences).
    public var examples: Int
    public var samplesPerSecond: Double?
    /// By name: regression `pearson`, `spearman`; multi-label `micro_f1`, `macro_f1`, `subset_accuracy`;
    /// tagging `precision`, `recall`, `f1` (entity level, seqeval's default mode), `accuracy` (per word); multiple
    /// choice `accuracy`.
    public var values: [String: Double]
    /// The name of the value a higher number of which is better, used to keep the best checkpoint.
    public var primary: String

    public var primaryValue: Double { values[primary] ?? -.infinity }

    enum CodingKeys: String, CodingKey {
        case task, loss, examples, values, primary
        case samplesPerSecond = "samples_per_second"
    }

    public init(
        task: String, loss: Float, examples: Int, samplesPerSecond: Double?, values: [String: Double], primary: String
    ) {
        self.task = task
        self.loss = loss
        self.examples = examples
        self.samplesPerSecond = samplesPerSecond
        self.values = values
        self.primary = primary
    }

    /// `"pearson 0.8712, spearman 0.8690"`: the values in a fixed order for logs.
    public var summary: String {
        values.keys.sorted { ($0 == primary ? 0 : 1, $0) < ($1 == primary ? 0 : 1, $1) }
            .map { "\($0) \(String(format: "%.4f", values[$0] ?? 0))" }.joined(separator: ", ")
    }
}

/// Correlations, F1 and entity scores over plain arrays.
public enum MetricMath {
    /// Pearson's r (scipy.stats.pearsonr); 0 when either side is constant.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard x.count == y.count, x.count > 1 else { return 0 }
        let mx = x.reduce(0, +) / n
        let my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            let dx = x[i] - mx
            let dy = y[i] - my
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return 0 }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// Spearman's ρ: Pearson's r of the ranks, ties given their average rank (scipy.stats.spearmanr).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(ranks(x), ranks(y))
    }

    /// 1-based ranks, ties averaged.
    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var out = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { out[order[k]] = rank }
            i = j + 1
        }
        return out
    }

    /// Micro and macro F1 and the exact-match ratio of 0/1 predictions against 0/1 truths `[n, labels]`
    /// (scikit-learn's `f1_score(average=…)`, a label never predicted nor present counting 0 in the macro mean).
    public static func multilabelScores(predicted: [Bool], truth: [Bool], labels: Int) -> (
        micro: Double, macro: Double, subset: Double
    ) {
        guard labels > 0, predicted.count == truth.count, !truth.isEmpty else { return (0, 0, 0) }
        var tp = [Int](repeating: 0, count: labels)
        var fp = tp
        var fn = tp
        var exact = 0
        let rows = truth.count / labels
        for r in 0..<rows {
            var same = true
            for k in 0..<labels {
                let p = predicted[r * labels + k]
                let t = truth[r * labels + k]
                if p && t { tp[k] += 1 } else if p { fp[k] += 1 } else if t { fn[k] += 1 }
                if p != t { same = false }
            }
            if same { exact += 1 }
        }
        func f1(_ tp: Int, _ fp: Int, _ fn: Int) -> Double {
            let d = Double(2 * tp + fp + fn)
            return d == 0 ? 0 : Double(2 * tp) / d
        }
        let micro = f1(tp.reduce(0, +), fp.reduce(0, +), fn.reduce(0, +))
        let macro = (0..<labels).map { f1(tp[$0], fp[$0], fn[$0]) }.reduce(0, +) / Double(labels)
        return (micro, macro, Double(exact) / Double(rows))
    }

    /// An entity: its type and first and last word.
    public struct Entity: Hashable, Sendable {
        public var type: String
        public var start: Int
        public var end: Int

        public init(type: String, start: Int, end: Int) {
            self.type = type
            self.start = start
            self.end = end
        }
    }

    /// The entities of a tag sequence as seqeval 1.2 reads IOB/IOBES tags (`get_entities`, prefix mode):
    /// a chunk starts at `B`/`S`, at an `I`/`E` after `O` or after a different type, and ends before
    /// the next start, an `O` or a type change.
    public static func entities(_ tags: [String]) -> [Entity] {
        var chunks: [Entity] = []
        var previousTag: Character = "O"
        var previousType = ""
        var begin = 0
        for (i, chunk) in (tags + ["O"]).enumerated() {
            let tag = chunk.first ?? "O"
            let rest = chunk.dropFirst()
            let type: String
            if let dash = rest.firstIndex(of: "-") {
                let after = String(rest[rest.index(after: dash)...])
                type = after.isEmpty ? "_" : after
            } else {
                type = rest.isEmpty ? "_" : String(rest)
            }
            if endOfChunk(previousTag, tag, previousType, type) {
                chunks.append(Entity(type: previousType, start: begin, end: i - 1))
            }
            if startOfChunk(previousTag, tag, previousType, type) { begin = i }
            previousTag = tag
            previousType = type
        }
        return chunks
    }

    private static func endOfChunk(_ p: Character, _ t: Character, _ pt: String, _ type: String) -> Bool {
        if p == "E" || p == "S" { return true }
        if p == "B" && (t == "B" || t == "S" || t == "O") { return true }
        if p == "I" && (t == "B" || t == "S" || t == "O") { return true }
        return p != "O" && p != "." && pt != type
    }

    private static func startOfChunk(_ p: Character, _ t: Character, _ pt: String, _ type: String) -> Bool {
        if t == "B" || t == "S" { return true }
        if (p == "E" || p == "S" || p == "O") && (t == "E" || t == "I") { return true }
        return t != "O" && t != "." && pt != type
    }

    /// Entity-level micro precision, recall and F1 over sentences (seqeval's `classification_report` totals:
    /// sentences joined with an `O` between them, entities compared as (type, start, end)).
    public static func entityScores(truth: [[String]], predicted: [[String]]) -> (
        precision: Double, recall: Double, f1: Double
    ) {
        func flat(_ s: [[String]]) -> [String] { s.flatMap { $0 + ["O"] } }
        let t = Set(entities(flat(truth)))
        let p = Set(entities(flat(predicted)))
        let correct = Double(t.intersection(p).count)
        let precision = p.isEmpty ? 0 : correct / Double(p.count)
        let recall = t.isEmpty ? 0 : correct / Double(t.count)
        let f1 = p.count + t.count == 0 ? 0 : 2 * correct / Double(p.count + t.count)
        return (precision, recall, f1)
    }
}
