import Adapters
import Kernels

extension AdapterModel {
    /// What the head's forward pass keeps for its backward pass.
    struct HeadActivations {
        /// The input of each linear layer after its dropout `[R, C]` (R: sequences, or tokens for tagging).
        var inputs: [[Float]] = []
        /// Each hidden layer's pre-activation `[R, C]`.
        var preActivations: [[Float]] = []
        /// Which rows belong to which sequence (each sequence's dropout stream): one row each for a sequence
        /// head, its tokens for a tagging head.
        var rowOffsets: [Int] = [0]
        var rows: Int { rowOffsets.last ?? 0 }
    }

    /// AdapterHub's prediction head on `features` `[R, C]` whose sequences occupy `rowOffsets`: for each layer
    /// dropout (site = the layer's index, of layer L) → linear, the hidden ones followed by the activation.
    /// - Returns: the logits `[R, numLabels]` and what the backward pass needs.
    func headForward(_ features: [Float], rowOffsets: [Int], seed: UInt64, keys: [UInt64], training: Bool)
        -> (logits: [Float], activations: HeadActivations)
    {
        let c = config.hiddenSize
        let rows = rowOffsets.last ?? 0
        let p: Float = training ? head.dropout : 0
        var saved = HeadActivations(rowOffsets: rowOffsets)
        var x = features
        for (i, linear) in headLinears.enumerated() {
            if p > 0 {
                let input = x
                x.withUnsafeMutableBufferPointer {
                    hiddenDropout(
                        $0.baseAddress!, input, rowOffsets: rowOffsets, keys: keys, p: p, seed: seed,
                        layer: config.numHiddenLayers, site: i)
                }
            }
            saved.inputs.append(x)
            let last = i == headLinears.count - 1
            let width = last ? head.outputWidth : c
            var y = [Float](repeating: 0, count: rows * width)
            y.withUnsafeMutableBufferPointer { yp in
                Linear.forward(
                    out: yp.baseAddress!, x: x, weight: values.pointer(linear.weight),
                    bias: values.pointer(linear.bias),
                    rows: rows, inFeatures: c, outFeatures: width)
            }
            if !last {
                saved.preActivations.append(y)
                y.withUnsafeMutableBufferPointer {
                    ActivationKernel.forward(
                        head.config.activation, out: $0.baseAddress!, x: $0.baseAddress!, count: rows * c)
                }
            }
            x = y
        }
        return (x, saved)
    }

    /// The head's backward pass from `dlogits` `[R, numLabels]`: accumulates the head's gradients and
    /// returns the gradient of its input features `[R, C]`.
    func headBackward(_ dlogits: [Float], _ saved: HeadActivations, seed: UInt64, keys: [UInt64], training: Bool)
        -> [Float]
    {
        let c = config.hiddenSize
        let rows = saved.rows
        let p: Float = training ? head.dropout : 0
        var dy = dlogits
        for i in stride(from: headLinears.count - 1, through: 0, by: -1) {
            let linear = headLinears[i]
            let width = i == headLinears.count - 1 ? head.outputWidth : c
            if i < headLinears.count - 1 {
                // dy holds dL/d(activation output): through the activation to the pre-activation.
                let pre = saved.preActivations[i]
                dy.withUnsafeMutableBufferPointer {
                    ActivationKernel.backward(
                        head.config.activation, dx: $0.baseAddress!, dout: $0.baseAddress!, x: pre, count: rows * c)
                }
            }
            var dx = [Float](repeating: 0, count: rows * c)
            dx.withUnsafeMutableBufferPointer { dxp in
                Linear.backward(
                    dx: dxp.baseAddress!, dweight: gradientOf[linear.weight.name], dbias: gradientOf[linear.bias.name],
                    dout: dy, x: saved.inputs[i], weight: values.pointer(linear.weight), rows: rows, inFeatures: c,
                    outFeatures: width)
                if p > 0 {
                    hiddenDropout(
                        dxp.baseAddress!, dxp.baseAddress!, rowOffsets: saved.rowOffsets, keys: keys, p: p, seed: seed,
                        layer: config.numHiddenLayers, site: i)
                }
            }
            dy = dx
        }
        return dy
    }

    /// The loss of `logits` (`[B, n]`, or `[M, n]` over the attended tokens for tagging) against `targets`,
    /// with `dlogits` filled when given.
    func headLoss(
        _ logits: [Float], targets: HeadTargets, packed: PackedBatch, batch: TokenBatch,
        dlogits: UnsafeMutablePointer<Float>?
    ) throws -> Float {
        let b = batch.batchSize
        let n = head.numLabels
        switch (head.type, targets) {
        case (.classification, .classes(let labels)) where !head.isRegression:
            guard labels.count == b else {
                throw EncoderError.invalidInput("\(labels.count) labels for a batch of \(b)")
            }
            for (i, y) in labels.enumerated() where y < 0 || Int(y) >= n {
                throw EncoderError.invalidInput("label \(y) of example \(i) is outside the head's \(n) labels")
            }
            return labels.withUnsafeBufferPointer {
                CrossEntropy.forwardBackward(
                    logits: logits, labels: $0.baseAddress!, batch: b, classes: n, dlogits: dlogits)
            }
        case (.classification, .values(let values)) where head.isRegression:
            guard values.count == b else {
                throw EncoderError.invalidInput("\(values.count) targets for a batch of \(b)")
            }
            try requireFinite(values)
            return MeanSquaredError.forwardBackward(
                predictions: logits, targets: values, count: b, dpredictions: dlogits)
        case (.multilabelClassification, .values(let values)):
            guard values.count == b * n else {
                throw EncoderError.invalidInput("\(values.count) targets for a batch of \(b) × \(n) labels")
            }
            for (i, y) in values.enumerated() where !(0...1).contains(y) {
                throw EncoderError.invalidInput("target \(y) of example \(i / n), label \(i % n) is outside [0, 1]")
            }
            return BinaryCrossEntropy.forwardBackward(logits: logits, targets: values, count: b * n, dlogits: dlogits)
        case (.tagging, .tokenClasses(let labels)):
            let t = batch.sequenceLength
            guard labels.count == b * t else {
                throw EncoderError.invalidInput("\(labels.count) token labels for a batch of \(b) × \(t) positions")
            }
            // The attended positions in packed order: the rows of the logits.
            var packedLabels: [Int32] = []
            packedLabels.reserveCapacity(packed.tokens)
            for i in 0..<(b * t) where batch.attentionMask[i] != 0 {
                let y = labels[i]
                guard y == HeadTargets.ignoreIndex || (y >= 0 && Int(y) < n) else {
                    throw EncoderError.invalidInput(
                        "token label \(y) of example \(i / t), position \(i % t) is outside the head's \(n) labels")
                }
                packedLabels.append(y)
            }
            let (loss, counted) = packedLabels.withUnsafeBufferPointer {
                CrossEntropy.forwardBackward(
                    logits: logits, labels: $0.baseAddress!, rows: packedLabels.count, classes: n,
                    ignoreIndex: HeadTargets.ignoreIndex, dlogits: dlogits)
            }
            guard counted > 0 else {
                throw EncoderError.invalidInput(
                    "no token of the batch has a label (every one is \(HeadTargets.ignoreIndex) or padding)")
            }
            return loss
        case (.questionAnswering, .spans(let positions)):
            guard positions.count == 2 * b else {
                throw EncoderError.invalidInput("\(positions.count) span positions for a batch of \(b) (a start and an end each)")
            }
            // The logit rows are the attended positions in order; a target names a position of its padded row.
            let t = batch.sequenceLength
            var sequences: [(first: Int, count: Int)] = []
            var halves: [[Int]] = [[], []]
            for i in 0..<b {
                let first = packed.offsets[i]
                sequences.append((first, packed.offsets[i + 1] - first))
                for half in 0..<2 {
                    let p = max(0, Int(positions[2 * i + half]))
                    let row = p < t ? packed.rowOf[i * t + p] : -1
                    halves[half].append(row >= 0 ? row - first : -1)
                }
            }
            let (loss, counted) = SpanCrossEntropy.forwardBackward(
                logits: logits, sequences: sequences, starts: halves[0], ends: halves[1], dlogits: dlogits)
            guard counted.starts > 0 || counted.ends > 0 else {
                throw EncoderError.invalidInput("no answer position of the batch falls inside its sequence")
            }
            return loss
        case (.multipleChoice, .classes(let labels)):
            // One score per choice sequence; an example's n choices are consecutive sequences.
            guard b % n == 0, labels.count == b / n else {
                throw EncoderError.invalidInput(
                    "\(labels.count) labels for \(b) sequences: a \(n)-choice head needs \(n) sequences per example")
            }
            for (i, y) in labels.enumerated() where y < 0 || Int(y) >= n {
                throw EncoderError.invalidInput("label \(y) of example \(i) is outside the head's \(n) choices")
            }
            return labels.withUnsafeBufferPointer {
                CrossEntropy.forwardBackward(
                    logits: logits, labels: $0.baseAddress!, batch: b / n, classes: n, dlogits: dlogits)
            }
        default:
            throw EncoderError.invalidInput("\(Self.targetsDescription(targets)) do not fit a \(head.describe) head")
        }
    }

    private func requireFinite(_ values: [Float]) throws {
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw EncoderError.invalidInput("target \(values[i]) of example \(i) is not finite")
        }
    }

    static func targetsDescription(_ targets: HeadTargets) -> String {
        switch targets {
        case .classes: "class labels"
        case .values: "real-valued targets"
        case .tokenClasses: "token labels"
        case .spans: "answer spans"
        }
    }
}
