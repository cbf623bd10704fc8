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
}
