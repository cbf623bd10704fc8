import Foundation

/// Extractive question answering's loss, as AdapterHub's `QuestionAnsweringHead` (and transformers'
/// `*ForQuestionAnswering`) take it: a cross-entropy over each sequence's positions for the start score and
/// another for the end score, each averaged over the sequences whose target it counts, then
/// `(start + end) / 2`. The backward is fused in: `(softmax − one-hot) / (2 · counted)` on the column.
public enum SpanCrossEntropy {
    /// - Parameters:
    ///   - logits: `[M, 2]` rows of all sequences back to back (column 0 start, column 1 end scores).
    ///   - sequences: each sequence's first row and row count in `logits`.
    ///   - starts / ends: each sequence's target row within its own rows, or -1 where that half counts nothing.
    ///   - dlogits: `[M, 2]`, receives `∂loss/∂logits` when given (zero for sequences nothing counts).
    /// - Returns: the loss and how many sequences each half averaged over (a half with none adds 0).
    public static func forwardBackward(
        logits: UnsafePointer<Float>, sequences: [(first: Int, count: Int)], starts: [Int], ends: [Int],
        dlogits: UnsafeMutablePointer<Float>?
    ) -> (loss: Float, counted: (starts: Int, ends: Int)) {
        let rows = sequences.last.map { $0.first + $0.count } ?? 0
        dlogits?.update(repeating: 0, count: rows * 2)
        var loss = 0.0
        var counted = (starts: 0, ends: 0)
        for (column, targets) in [(0, starts), (1, ends)] {
            let n = targets.filter { $0 >= 0 }.count
            if column == 0 { counted.starts = n } else { counted.ends = n }
            guard n > 0 else { continue }
            var total = 0.0
            for (s, (first, count)) in sequences.enumerated() where targets[s] >= 0 && count > 0 {
                // log-softmax over the sequence's positions, shifted by the max, in double.
                var mx = -Float.infinity
                for r in 0..<count { mx = max(mx, logits[(first + r) * 2 + column]) }
                var sum = 0.0
                for r in 0..<count { sum += exp(Double(logits[(first + r) * 2 + column] - mx)) }
                total += -(Double(logits[(first + targets[s]) * 2 + column] - mx) - log(sum))
                if let dlogits {
                    let scale = 1 / (2 * Double(n))
                    for r in 0..<count {
                        let p = exp(Double(logits[(first + r) * 2 + column] - mx)) / sum
                        dlogits[(first + r) * 2 + column] = Float((p - (r == targets[s] ? 1 : 0)) * scale)
                    }
                }
            }
            loss += total / Double(n) / 2
        }
        return (Float(loss), counted)
    }
}
