import Adapters
import Kernels

extension TrainingMode {
    var isComposed: Bool {
        if case .composed = self { return true }
        return false
    }
}

extension AdapterModel {
    /// A location's slots cut into the units a composed Stack runs in order: each single adapter alone, each block
    /// (Fuse, Average, Split: consecutive slots of one group that carry the block's marks) together.
    static func composedUnits(_ stack: [BottleneckSlots]) -> [[BottleneckSlots]] {
        var units: [[BottleneckSlots]] = []
        var start = 0
        while start < stack.count {
            var end = start + 1
            while end < stack.count && stack[end].block == stack[start].block { end += 1 }
            let group = stack[start..<end]
            let isBlock = group.contains { $0.fusion != nil || $0.averageFactor != nil || $0.splitStart != nil }
            if isBlock { units.append(Array(group)) } else { units += group.map { [$0] } }
            start = end
        }
        return units
    }

    /// A composed Stack at one location: its units in order, each on the previous one's output with its own rule —
    /// a single adapter, a Fuse, an Average or a Split — as AdapterHub's `compose_stack` hands its state from child to
    /// child. Returns the last unit's output in `tmp`. A trainable model keeps each unit's input for
    /// `composedBackward`.
    func composedStack(
        _ stack: [BottleneckSlots], h: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, rows m: Int,
        tmp: UnsafeMutablePointer<Float>, pre: ScratchBuffer, act: ScratchBuffer,
        adapterInput: (UnsafePointer<Float>) -> UnsafePointer<Float>, rowOffsets: [Int], gateBuffer: ScratchBuffer
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        // Each unit reads the running output from its own copy: the units write theirs into tmp.
        var input = Array(UnsafeBufferPointer(start: h, count: m * c))
        var inputs: [[Float]] = []
        for unit in Self.composedUnits(stack) {
            if parameters.trainable { inputs.append(input) }
            let o = input.withUnsafeMutableBufferPointer { x in
                bottleneckStack(
                    unit, h: x.baseAddress!, residual: residual, rows: m, tmp: tmp, pre: pre, act: act,
                    adapterInput: adapterInput, rowOffsets: rowOffsets, gateBuffer: gateBuffer)
            }
            input = Array(UnsafeBufferPointer(start: o, count: m * c))
        }
        if parameters.trainable { composedInputs[stack[0].downWeight.name] = inputs }
        tmp.update(from: input, count: m * c)
        return UnsafePointer(tmp)
    }

    /// Why this composed Stack cannot be trained, or nil: AdapterFusion over frozen adapters stacked before it
    /// (`train_adapter_fusion(Stack("lang", Fuse("a", "b")))`) trains; the frozen adapters must be plain sequential
    /// bottlenecks (no dropout, gate or invertible adapter, which the backward pass would have to replay), and
    /// after attention they must read the sub-block's output itself (double_seq_bn's `mh_adapter`).
    public var composedTrainingRefusal: String? {
        guard case .composed(let blocks) = mode else { return nil }
        guard case .fuse? = blocks.last, blocks.dropLast().allSatisfy({ if case .single = $0 { true } else { false } })
        else {
            return
                "training a Stack with composition blocks is supported for adapters followed by one Fuse (AdapterFusion over a language adapter); \(blocks.count) blocks given"
        }
        for case .single(let adapter) in blocks {
            for member in adapter.config.members {
                guard case .bottleneck(let bn) = member, !bn.isParallel, !bn.useGating, !bn.normFreeOutput,
                    bn.invAdapter == nil, bn.dropout == 0, bn.residualBeforeLn == .bool(true)
                else {
                    return
                        "training a Fuse stacked after '\(adapter.name)' (\(adapter.config.methodName)) is not supported: the adapters before it must be sequential bottlenecks without dropout, gates or invertible adapters"
                }
            }
        }
        for layer in layerAdapters where layer.attention.contains(where: \.originalLnBefore) {
            return
                "training a composed Stack with adapters after attention that read the LayerNorm's output is not supported"
        }
        return nil
    }

    /// Backward of `composedStack` at one location (its units recomputed from their saved inputs, frozen but for a
    /// Fuse's layer): from `dout` = dL/d(o_last) to `dh` = dL/d(o_0) (overwritten), adding to `dresidual` what reaches
    /// the residual r through `original_ln_before` units' a = LN(o + r) (`gamma`/`beta`: the layer's LayerNorm).
    func composedBackward(
        _ stack: [BottleneckSlots], dout: UnsafePointer<Float>, rows m: Int, residual: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>,
        dresidual: UnsafeMutablePointer<Float>
    ) {
        let c = config.hiddenSize
        let units = Self.composedUnits(stack)
        guard let inputs = composedInputs[stack[0].downWeight.name], inputs.count == units.count else {
            dh.update(from: dout, count: m * c)
            return
        }
        var d = Array(UnsafeBufferPointer(start: dout, count: m * c))
        for (unit, input) in zip(units, inputs).reversed() {
            let lnBefore = unit[0].originalLnBefore
            var a = input
            var sum = [Float](repeating: 0, count: lnBefore ? m * c : 0)
            var mean = [Float](repeating: 0, count: m)
            var rstd = [Float](repeating: 0, count: m)
            if lnBefore {
                LayerNorm.forward(
                    out: &a, x: input, residual: residual, sum: &sum, gamma: gamma, beta: beta, mean: &mean,
                    rstd: &rstd,
                    rows: m, channels: c, eps: config.layerNormEps)
            }
            var dPrevious = [Float](repeating: 0, count: m * c)
            var dA = [Float](repeating: 0, count: m * c)
            if let fusion = unit[0].fusion {
                fusionBackward(unit, fusion: fusion, dout: d, a: a, rows: m, da: &dA, dh: &dPrevious)
            } else if let slots = unit.first {
                // o = input + s·f(a), the adapter frozen: only the input's gradient.
                dPrevious = d
                let size = slots.size
                var pre = [Float](repeating: 0, count: m * size)
                var act = [Float](repeating: 0, count: m * size)
                var up = [Float](repeating: 0, count: m * c)
                var scratch = [Float](repeating: 0, count: m * c + m * size)
                Bottleneck.forward(
                    out: &up, x: a, weights: bottleneckTensors(slots), pre: &pre, act: &act, rows: m, channels: c,
                    bottleneck: size, activation: slots.activation, scale: bottleneckScale(slots))
                Bottleneck.backward(
                    dx: &dA, accumulate: false, dout: d, x: a, weights: bottleneckTensors(slots), grads: nil, pre: pre,
                    act: act, rows: m, channels: c, bottleneck: size, activation: slots.activation,
                    scale: bottleneckScale(slots), scratch: &scratch)
            }
            if lnBefore {
                var dSum = [Float](repeating: 0, count: m * c)
                LayerNorm.backward(
                    dx: &dSum, dgamma: nil, dbeta: nil, dout: dA, x: sum, gamma: gamma, mean: mean, rstd: rstd, rows: m,
                    channels: c)
                for i in 0..<(m * c) { dresidual[i] += dSum[i] }
                dA = dSum
            }
            for i in 0..<(m * c) { dPrevious[i] += dA[i] }
            d = dPrevious
        }
        dh.update(from: d, count: m * c)
    }
}
