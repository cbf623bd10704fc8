import Adapters
import Kernels

/// AdapterHub's `use_gating` (UniPELT): a `Gate` beside a bottleneck, a LoRA or a layer's prefix scales what
/// that adapter adds, per sequence. Each gated adapter declares its gate here; the forward and backward
/// passes keep σ and the per-sequence means in `LayerActivations.gates[site]`.
extension AdapterModel {
    /// A gate's `weight` `[outputs, in]` and `bias` `[outputs]`.
    struct GateSlots {
        let weight: Arena.Slot
        let bias: Arena.Slot
        let outputs: Int
        let inFeatures: Int
    }

    /// Where a layer's gates keep their activations: the five `LinearSite`s, then these.
    enum GateSite {
        static let attentionBottleneck = 5
        static let outputBottleneck = 6
        static let prefix = 7
        static let count = 8
    }

    /// Declares `p + "weight"`, `p + "bias"`; `weightInit` N(0, 0.02) (`init_bert_weights`, LoRA and prefix
    /// gates) unless given, the bias zero for a bottleneck's `bert` init and else PyTorch's Linear default.
    static func declareGate(
        _ p: String, inFeatures: Int, outputs: Int, weightInit: InitScheme = .normal, zeroBias: Bool,
        into decl: inout SlotDeclarations
    ) -> GateSlots {
        GateSlots(
            weight: decl.train(p + "weight", [outputs, inFeatures], initialize: weightInit),
            bias: decl.train(
                p + "bias", [outputs], decay: false, initialize: zeroBias ? .zeros : .uniform(1 / Float(inFeatures).squareRoot())),
            outputs: outputs, inFeatures: inFeatures)
    }

    /// Runs `gate` on `x` `[rows, in]` (sequences at `rowOffsets`), keeping σ and the means in `buffer`; returns
    /// the means `[B, outputs]`.
    @discardableResult
    func gateForward(
        _ gate: GateSlots, values: Arena, x: UnsafePointer<Float>, ldx: Int, rowOffsets: [Int], buffer: ScratchBuffer
    ) -> UnsafeMutablePointer<Float> {
        let m = rowOffsets.last ?? 0
        let b = rowOffsets.count - 1
        let k = gate.outputs
        let saved = buffer.reserve(m * k + b * k)
        Gate.forward(
            sigma: saved, means: saved + m * k, x: x, ldx: ldx, weight: values.pointer(gate.weight),
            bias: values.pointer(gate.bias), rowOffsets: rowOffsets, outputs: k, channels: gate.inFeatures)
        return saved + m * k
    }

    /// The means a forward pass kept in `buffer` for rows at `rowOffsets`.
    func gateMeans(_ gate: GateSlots, rowOffsets: [Int], buffer: ScratchBuffer) -> UnsafeMutablePointer<Float> {
        buffer.pointer + (rowOffsets.last ?? 0) * gate.outputs
    }

    /// The gate's backward from `dmeans` `[B, outputs]`: into its weight and bias, and `dx` when given.
    func gateBackward(
        _ gate: GateSlots, dmeans: UnsafePointer<Float>, x: UnsafePointer<Float>, ldx: Int, dx: UnsafeMutablePointer<Float>?,
        rowOffsets: [Int], buffer: ScratchBuffer
    ) {
        let m = rowOffsets.last ?? 0
        Gate.backward(
            dmeans: dmeans, sigma: buffer.pointer, x: x, ldx: ldx, weight: values.pointer(gate.weight),
            dweight: gradientOf[gate.weight.name], dbias: gradientOf[gate.bias.name], dx: dx, rowOffsets: rowOffsets,
            outputs: gate.outputs, channels: gate.inFeatures, scratch: gateScratch.reserve(max(m * gate.outputs, 1)))
    }

    /// Multiplies each row of `y` `[rows, C]` by its sequence's gate (`means` `[B, 1]`).
    func scaleRowsBySequence(_ y: UnsafeMutablePointer<Float>, means: UnsafePointer<Float>, rowOffsets: [Int], channels c: Int) {
        for b in 0..<(rowOffsets.count - 1) {
            let g = means[b]
            for r in rowOffsets[b]..<rowOffsets[b + 1] {
                let row = y + r * c
                for j in 0..<c { row[j] *= g }
            }
        }
    }

    /// For a gated bottleneck, whose output is `g_b · drop(u)`, u = `s·up(act)` (recomputed from the kept
    /// activation): `dout` is the gradient of u after the dropout mask (`bottleneckDropped`), so the gate's gradient
    /// is `dg_b = Σ_{rows of b} dout ⊙ u` (into `dmeans`); returns `g_b · dout`, the gradient of u.
    func gatedBottleneckGradient(
        _ dout: UnsafePointer<Float>, _ slots: BottleneckSlots, act: UnsafePointer<Float>, rows: Int, rowOffsets: [Int],
        gateBuffer: ScratchBuffer, dmeans: UnsafeMutablePointer<Float>
    ) -> UnsafePointer<Float> {
        guard let gate = slots.gate else { return dout }
        let c = config.hiddenSize
        let t = bottleneckTensors(slots)
        let u = gateScratch2.reserve(2 * rows * c)
        Linear.forward(out: u, x: act, weight: t.upWeight, bias: t.upBias, rows: rows, inFeatures: slots.size, outFeatures: c)
        bottleneckScale(slots).apply(u, rows: rows, channels: c)
        let means = gateMeans(gate, rowOffsets: rowOffsets, buffer: gateBuffer)
        let scaled = u + rows * c
        for b in 0..<(rowOffsets.count - 1) {
            var sum: Float = 0
            let g = means[b]
            for r in rowOffsets[b]..<rowOffsets[b + 1] {
                for j in 0..<c {
                    sum += dout[r * c + j] * u[r * c + j]
                    scaled[r * c + j] = g * dout[r * c + j]
                }
            }
            dmeans[b] = sum
        }
        return UnsafePointer(scaled)
    }

    /// Whether the last layer must run every row (not the first tokens only): a gate there reads every row of a
    /// post-attention input (a bottleneck's, the FFN LoRAs').
    var gatesReadTopRows: Bool {
        guard let top = layerAdapters.last else { return false }
        return (top.attention + top.output).contains { $0.gate != nil }
            || (top[.intermediate] + top[.output]).contains { $0.gate != nil }
    }
}
