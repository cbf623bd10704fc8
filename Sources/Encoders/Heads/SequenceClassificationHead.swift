import Kernels

/// The classification heads of HF's `*ForSequenceClassification` models, on the first token:
/// - RoBERTa (`RobertaClassificationHead`): `classifier.dense` [C, C] → tanh → `classifier.out_proj` [n, C];
/// - BERT: the encoder's pooler (dense + tanh) → `classifier` [n, C].
/// Dropout layers are identities at inference.
public final class SequenceClassificationHead {
    public enum Layout: String, Sendable, Codable {
        case roberta
        case bert
    }

    public let layout: Layout
    public let numLabels: Int
    public let hiddenSize: Int
    /// Label names by class index (`id2label`, or `LABEL_i` when the config has none).
    public let labels: [String]
    public let arena = Arena()
    public let denseWeight: Arena.Slot?
    public let denseBias: Arena.Slot?
    public let outWeight: Arena.Slot
    public let outBias: Arena.Slot
    public let bindings: [EncoderWeights.Binding]

    /// With `allocate` false the weights take no memory until `arena.allocate()` (see `EncoderWeights`).
    public init(layout: Layout, hiddenSize c: Int, numLabels: Int, labels: [String]? = nil, allocate: Bool = true) {
        self.layout = layout
        self.numLabels = numLabels
        hiddenSize = c
        self.labels = labels ?? (0..<numLabels).map { "LABEL_\($0)" }
        var bindings: [EncoderWeights.Binding] = []
        let arena = self.arena
        func slot(_ name: String, _ shape: [Int]) -> Arena.Slot {
            let s = arena.declare(name, shape: shape)
            bindings.append(.init(name: name, shape: shape, slot: s, offset: 0))
            return s
        }
        switch layout {
        case .roberta:
            denseWeight = slot("classifier.dense.weight", [c, c])
            denseBias = slot("classifier.dense.bias", [c])
            outWeight = slot("classifier.out_proj.weight", [numLabels, c])
            outBias = slot("classifier.out_proj.bias", [numLabels])
        case .bert:
            denseWeight = nil
            denseBias = nil
            outWeight = slot("classifier.weight", [numLabels, c])
            outBias = slot("classifier.bias", [numLabels])
        }
        self.bindings = bindings
        if allocate { arena.allocate() }
    }

    /// - Parameters: features `[B, C]` (first-token states for RoBERTa, pooled output for BERT).
    /// - Returns: logits `[B, numLabels]`.
    public func forward(features: [Float], batch: Int) -> [Float] {
        let c = hiddenSize
        var logits = [Float](repeating: 0, count: batch * numLabels)
        var x = features
        if let denseWeight, let denseBias {
            var h = [Float](repeating: 0, count: batch * c)
            h.withUnsafeMutableBufferPointer { hp in
                x.withUnsafeBufferPointer { xp in
                    Linear.forward(
                        out: hp.baseAddress!, x: xp.baseAddress!, weight: arena.pointer(denseWeight),
                        bias: arena.pointer(denseBias), rows: batch, inFeatures: c, outFeatures: c)
                }
                Tanh.forward(out: hp.baseAddress!, x: hp.baseAddress!, count: batch * c)
            }
            x = h
        }
        logits.withUnsafeMutableBufferPointer { lp in
            x.withUnsafeBufferPointer { xp in
                Linear.forward(
                    out: lp.baseAddress!, x: xp.baseAddress!, weight: arena.pointer(outWeight),
                    bias: arena.pointer(outBias), rows: batch, inFeatures: c, outFeatures: numLabels)
            }
        }
        return logits
    }
}
