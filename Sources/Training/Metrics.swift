/// Classification metrics over predicted and true class ids.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public var loss: Float
    public var accuracy: Float
    /// Unweighted mean of per-class F1 (scikit-learn's `average="macro"`; a class never predicted
    /// and never present counts as 0, as there).
    public var macroF1: Float
    public var examples: Int
    public var samplesPerSecond: Double?

    enum CodingKeys: String, CodingKey {
        case loss, accuracy, examples
        case macroF1 = "macro_f1"
        case samplesPerSecond = "samples_per_second"
    }

    public init(loss: Float, predictions: [Int], labels: [Int], classes: Int, samplesPerSecond: Double? = nil) {
        self.loss = loss
        examples = labels.count
        self.samplesPerSecond = samplesPerSecond
        var correct = 0
        var tp = [Int](repeating: 0, count: classes)
        var fp = tp
        var fn = tp
        for (p, y) in zip(predictions, labels) {
            if p == y {
                correct += 1
                tp[y] += 1
            } else {
                fp[p] += 1
                fn[y] += 1
            }
        }
        accuracy = labels.isEmpty ? 0 : Float(correct) / Float(labels.count)
        var f1 = 0.0
        for k in 0..<classes {
            let denominator = Double(2 * tp[k] + fp[k] + fn[k])
            f1 += denominator == 0 ? 0 : Double(2 * tp[k]) / denominator
        }
        macroF1 = classes == 0 ? 0 : Float(f1 / Double(classes))
    }
}
