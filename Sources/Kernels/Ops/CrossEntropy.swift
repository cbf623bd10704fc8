import Foundation

/// Mean cross-entropy over a batch of logits, as `torch.nn.CrossEntropyLoss()`; the backward is
/// fused in (softmax − one-hot) / batch, so the probabilities are never stored apart.
public enum CrossEntropy {
    /// - Parameters: logits `[batch, classes]`, labels `[batch]` in `0..<classes`;
    ///   dlogits `[batch, classes]` receives `∂loss/∂logits` when given.
    /// - Returns: the mean loss.
    public static func forwardBackward(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
        dlogits: UnsafeMutablePointer<Float>?
    ) -> Float {
        if batch == 0 { return 0 }
        var total = 0.0
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: classes)
        defer { probs.deallocate() }
        for b in 0..<batch {
            let row = logits + b * classes
            Softmax.row(out: probs, x: row, cols: classes, scale: 1)
            let y = Int(labels[b])
            // log-softmax from the max-shifted sum, in double, for an exact loss
            var mx = -Float.infinity
            for j in 0..<classes { mx = max(mx, row[j]) }
            var s = 0.0
            for j in 0..<classes { s += exp(Double(row[j] - mx)) }
            total += -(Double(row[y] - mx) - log(s))
            if let dlogits {
                let d = dlogits + b * classes
                for j in 0..<classes {
                    d[j] = (probs[j] - (j == y ? 1 : 0)) / Float(batch)
                }
            }
        }
        return Float(total / Double(batch))
    }

    /// Mean cross-entropy over the rows whose label is not `ignoreIndex`, as `CrossEntropyLoss(ignore_index:)`
    /// (token classification: sub-tokens, special tokens). Ignored rows get a zero gradient.
    ///
    /// - Parameters: logits `[rows, classes]`, labels `[rows]` in `0..<classes` or `ignoreIndex`.
    /// - Returns: the mean loss and the number of rows it averages (0 when every row is ignored: loss 0).
    public static func forwardBackward(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, classes: Int, ignoreIndex: Int32,
        dlogits: UnsafeMutablePointer<Float>?
    ) -> (loss: Float, counted: Int) {
        var counted = 0
        for r in 0..<rows where labels[r] != ignoreIndex { counted += 1 }
        guard counted > 0 else {
            dlogits?.update(repeating: 0, count: rows * classes)
            return (0, 0)
        }
        var total = 0.0
        for r in 0..<rows {
            let row = logits + r * classes
            let y = labels[r]
            if y == ignoreIndex {
                dlogits.map { ($0 + r * classes).update(repeating: 0, count: classes) }
                continue
            }
            var mx = -Float.infinity
            for j in 0..<classes { mx = max(mx, row[j]) }
            var s = 0.0
            for j in 0..<classes { s += exp(Double(row[j] - mx)) }
            total += -(Double(row[Int(y)] - mx) - log(s))
            if let dlogits {
                let d = dlogits + r * classes
                for j in 0..<classes {
                    let p = exp(Double(row[j] - mx)) / s
                    d[j] = Float((p - (j == Int(y) ? 1 : 0)) / Double(counted))
                }
            }
        }
        return (Float(total / Double(counted)), counted)
    }
}
