/// Mean squared error over every element, as `torch.nn.MSELoss()` (regression heads).
public enum MeanSquaredError {
    /// - Parameters: predictions and targets `[count]`; dpredictions `[count]` receives `2(p − y) / count`.
    /// - Returns: the mean loss.
    public static func forwardBackward(
        predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int,
        dpredictions: UnsafeMutablePointer<Float>?
    ) -> Float {
        guard count > 0 else { return 0 }
        var total = 0.0
        for i in 0..<count {
            let d = Double(predictions[i]) - Double(targets[i])
            total += d * d
            dpredictions?[i] = Float(2 * d / Double(count))
        }
        return Float(total / Double(count))
    }
}
