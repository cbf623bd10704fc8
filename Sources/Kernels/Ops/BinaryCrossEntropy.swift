import Foundation

/// Mean binary cross-entropy with logits over every element, as `torch.nn.BCEWithLogitsLoss()`
/// (multi-label classification): `max(z, 0) − z·y + log(1 + e^−|z|)`, stable for any `z`.
public enum BinaryCrossEntropy {
    /// - Parameters: logits and targets `[count]` (targets in [0, 1]); dlogits `[count]` receives
    ///   `(σ(z) − y) / count` when given.
    /// - Returns: the mean loss.
    public static func forwardBackward(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int, dlogits: UnsafeMutablePointer<Float>?
    ) -> Float {
        guard count > 0 else { return 0 }
        var total = 0.0
        for i in 0..<count {
            let z = Double(logits[i])
            let y = Double(targets[i])
            total += max(z, 0) - z * y + log1p(exp(-abs(z)))
            if let dlogits {
                let sigma = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
                dlogits[i] = Float((sigma - y) / Double(count))
            }
        }
        return Float(total / Double(count))
    }
}
