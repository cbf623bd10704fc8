/// Anything that turns a token batch into class logits: an HF `*ForSequenceClassification`
/// checkpoint (`EncoderModel` with its head) or a base model with an adapter and head
/// (`AdapterModel`).
public protocol SequenceClassifier: AnyObject {
    /// Label names by class index.
    var classLabels: [String] { get }
    /// Logits `[B, classLabels.count]`, no dropout.
    func classLogits(_ batch: TokenBatch) throws -> [Float]
}

extension EncoderModel: SequenceClassifier {
    public var classLabels: [String] { head?.labels ?? [] }
    public func classLogits(_ batch: TokenBatch) throws -> [Float] { try classify(batch) }
}

extension AdapterModel: SequenceClassifier {
    public var classLabels: [String] { head.labels }
    public func classLogits(_ batch: TokenBatch) throws -> [Float] { try logits(batch) }
}
