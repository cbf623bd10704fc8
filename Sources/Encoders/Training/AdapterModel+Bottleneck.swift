import Adapters
import Kernels

/// Bottleneck adapters (seq_bn, double_seq_bn, par_bn, Compacter …): their tensors at one location.
extension AdapterModel {
    /// Declares one bottleneck at one location under AdapterHub's names (`p` = `…<location>.adapters.NAME.`).
    static func declareBottleneck(
        _ bn: BottleneckConfig, prefix p: String, hidden c: Int, sharedRule: Arena.Slot?, into decl: inout SlotDeclarations
    ) -> BottleneckSlots {
        let d = bn.bottleneckSize(hiddenSize: c)
        let (downInit, upInit): (InitScheme, InitScheme) =
            switch bn.initWeights {
            case "mam_adapter": (.kaimingUniform, .zeros)
            case "houlsby": (.truncatedNormal, .truncatedNormal)
            default: (.normal, .normal)
            }
        var scale: Arena.Slot?
        if let count = bn.scaling.learnedCount(hiddenSize: c) {
            scale = decl.train(p + "scaling", [count], initialize: .ones)
        }
        var fixed: Float = 1
        if case .fixed(let f) = bn.scaling { fixed = Float(f) }
        let originalLnBefore = bn.originalLnBefore && !bn.isParallel
        var slots: BottleneckSlots
        if bn.phmLayer {
            let phm = declarePHM(bn, prefix: p, hidden: c, bottleneck: d, sharedRule: sharedRule, into: &decl)
            // PHMLayer's bias is `b` (decayed: the HF Trainer's rule matches "bias", not "b").
            func bias(_ tensor: String, _ count: Int) -> Arena.Slot {
                bn.phmBias ? decl.train(p + tensor + "b", [count]) : decl.derive(p + tensor + "b", [count])
            }
            slots = BottleneckSlots(
                downWeight: phm.down.weight, downBias: bias("adapter_down.0.", d), upWeight: phm.up.weight,
                upBias: bias("adapter_up.", c), scale: scale, size: d, activation: bn.nonLinearity, fixedScaling: fixed,
                originalLnBefore: originalLnBefore, parallel: bn.isParallel)
            slots.phm = phm
        } else {
            slots = BottleneckSlots(
                downWeight: decl.train(p + "adapter_down.0.weight", [d, c], initialize: downInit),
                downBias: decl.train(p + "adapter_down.0.bias", [d], decay: false),
                upWeight: decl.train(p + "adapter_up.weight", [c, d], initialize: upInit),
                upBias: decl.train(p + "adapter_up.bias", [c], decay: false),
                scale: scale, size: d, activation: bn.nonLinearity, fixedScaling: fixed,
                originalLnBefore: originalLnBefore, parallel: bn.isParallel)
        }
        slots.dropout = Float(bn.dropout)
        slots.stochasticDepth = Float(bn.stochasticDepth)
        slots.normFreeOutput = bn.normFreeOutput
        if bn.useGating {
            // `init_weights` bert and mam_adapter draw the gate like BERT's Linear layers; houlsby leaves
            // PyTorch's default.
            let houlsby = bn.initWeights == "houlsby"
            slots.gate = declareGate(
                p + "gate.", inFeatures: c, outputs: 1, weightInit: houlsby ? .kaimingUniform : .normal, zeroBias: !houlsby,
                into: &decl)
        }
        return slots
    }

    func bottleneckTensors(_ s: BottleneckSlots) -> BottleneckTensors {
        BottleneckTensors(
            downWeight: values.pointer(s.downWeight), downBias: values.pointer(s.downBias),
            upWeight: values.pointer(s.upWeight), upBias: values.pointer(s.upBias))
    }

    func bottleneckGrads(_ s: BottleneckSlots) -> BottleneckTensors? {
        guard let dw = gradientOf[s.downWeight.name], let db = gradientOf[s.downBias.name],
            let uw = gradientOf[s.upWeight.name], let ub = gradientOf[s.upBias.name]
        else { return nil }
        return BottleneckTensors(downWeight: dw, downBias: db, upWeight: uw, upBias: ub)
    }

    /// The scale of a bottleneck adapter's output: its fixed factor or its learned tensor.
    func bottleneckScale(_ s: BottleneckSlots) -> BottleneckScale {
        guard let slot = s.scale else { return .fixed(s.fixedScaling) }
        return .learned(values.pointer(slot), count: slot.count)
    }

    /// The bottleneck's learned scale's gradient.
    func bottleneckScaleGrad(_ s: BottleneckSlots) -> UnsafeMutablePointer<Float>? {
        s.scale.flatMap { gradientOf[$0.name] }
    }
}
