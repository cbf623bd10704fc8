import Adapters
import Kernels

extension AdapterModel {
    /// Whether layer `l` holds trainable tensors.
    func layerTrainable(_ l: Int) -> Bool {
        if mode == .full { return true }
        return !layerAdapters[l].isEmpty
    }

    /// Whether anything below layer `l`'s input is trainable (so the gradient must reach it).
    func trainableBelow(_ l: Int) -> Bool {
        // An invertible adapter trains below layer 0.
        if mode == .full || invertible != nil || prompt != nil { return true }
        return (0..<l).contains { layerTrainable($0) }
    }

    /// Whether layer `l`'s attention sub-block holds trainable tensors.
    func attentionTrainable(_ l: Int) -> Bool {
        if mode == .full { return true }
        let a = layerAdapters[l]
        return !a.attention.isEmpty || !a[.query].isEmpty || !a[.key].isEmpty || !a[.value].isEmpty || a.prefix != nil
    }

    /// Whether layer `l`'s backward pass reads its attention context (the output dense's input): only to
    /// train that dense's weight.
    func keepsContext(_ l: Int) -> Bool {
        parameters.trainable && gradientOf[base.weights.layers[l].attentionOutWeight.name] != nil
    }

    /// Whether layer `l`'s backward pass reads `out1` (the attention LayerNorm's output, the FFN's input):
    /// to train the FFN's input dense, for LoRA / (IA)³ there, and for output adapters reading it (a
    /// parallel bottleneck, a composed Stack's residual).
    func keepsFFNInput(_ l: Int) -> Bool {
        guard parameters.trainable else { return false }
        let adapters = layerAdapters[l]
        return gradientOf[base.weights.layers[l].intermediateWeight.name] != nil || !adapters[.intermediate].isEmpty
            || adapters.output.contains { $0.parallel } || adapters.output.count > 1
    }

    /// `dout` with a bottleneck's output dropout applied (the forward pass's mask), or `dout` itself.
    func bottleneckDropped(
        _ dout: UnsafePointer<Float>, _ slots: BottleneckSlots, rows: Int, dropout: RowDropout?, site: Int
    ) -> UnsafePointer<Float> {
        guard let dropout, slots.dropout > 0 || slots.stochasticDepth > 0 else { return dout }
        let masked = adapterDropoutScratch.reserve(rows * config.hiddenSize)
        masked.update(from: dout, count: rows * config.hiddenSize)
        regularizeBottleneckOutput(masked, slots, dropout: dropout, dropoutSite: site, depthSite: site == 13 ? 5 : 6)
        return UnsafePointer(masked)
    }

    /// One bottleneck's backward from the gradient of its location's output `dout` `[rows, C]`: through its
    /// output regularisers (dropout, stochastic depth) and gate, into its tensors and — when given — `dx`, the
    /// gradient of its input `x` (overwritten unless `accumulate`; the gate's path into x always adds).
    func bottleneckBackward(
        _ slots: BottleneckSlots, dout: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
        accumulate: Bool, pre: UnsafePointer<Float>, act: UnsafePointer<Float>, rows: Int, rowOffsets: [Int],
        dropout: RowDropout?, site: Int, scratch: UnsafeMutablePointer<Float>, gateBuffer: ScratchBuffer
    ) {
        let c = config.hiddenSize
        var dGate = [Float](repeating: 0, count: rowOffsets.count - 1)
        let dOut = dGate.withUnsafeMutableBufferPointer {
            gatedBottleneckGradient(
                bottleneckDropped(dout, slots, rows: rows, dropout: dropout, site: site), slots, act: act, rows: rows,
                rowOffsets: rowOffsets, gateBuffer: gateBuffer, dmeans: $0.baseAddress!)
        }
        Bottleneck.backward(
            dx: dx, accumulate: accumulate, dout: dOut, x: x, weights: bottleneckTensors(slots), grads: bottleneckGradients(slots),
            pre: pre, act: act, rows: rows, channels: c, bottleneck: slots.size, activation: slots.activation,
            scale: bottleneckScale(slots), dscale: bottleneckScaleGrad(slots), scratch: scratch)
        if let gate = slots.gate {
            dGate.withUnsafeBufferPointer {
                gateBackward(gate, dmeans: $0.baseAddress!, x: x, ldx: c, dx: dx, rowOffsets: rowOffsets, buffer: gateBuffer)
            }
        }
        finishPHMBackward(slots)
    }

    /// Backward pass from `dlogits` `[B, n]`; accumulates into the trainable gradients.
    func backward(
        _ packed: PackedBatch, _ f: ForwardState, dlogits: [Float], seed: UInt64, training: Bool,
        ready: ((GradientGroup) -> Void)? = nil
    ) {
        let m = packed.tokens
        let c = config.hiddenSize
        let inter = config.intermediateSize
        let b = packed.offsets.count - 1
        let w = base.weights
        let full = mode == .full
        let pHidden: Float = training ? config.hiddenDropoutProb : 0
        let pAttention: Float = training ? config.attentionProbsDropoutProb : 0
        // `step` refuses stacks, so each location holds at most one adapter here.
        let d = layerAdapters.flatMap { $0.attention + $0.output }.map(\.size).max() ?? 0
        let grad = { (slot: Arena.Slot) -> UnsafeMutablePointer<Float>? in self.gradientOf[slot.name] }
        let firstTokenOffsets = Array(0...b)

        let dFeatures = headBackward(dlogits, f.head, seed: seed, keys: packed.dropoutKeys, training: training)
        ready?(.head)
        guard mode != .headOnly,
            layerTrainable(config.numHiddenLayers - 1) || trainableBelow(config.numHiddenLayers - 1)
        else {
            return
        }
        // dL/d(top hidden states): a sequence head reads only each sequence's first token. When the
        // last layer ran for the first tokens only, its states are those B rows; a tagging head reads every row.
        let firstOnly = f.firstTokensOnly
        let lastLayer = config.numHiddenLayers - 1
        let dh = gradHidden.reserve(m * c)
        if head.config.readsEveryToken {
            ParallelMemory.copy(dh, from: dFeatures, count: m * c)
        } else if firstOnly {
            ParallelMemory.copy(dh, from: dFeatures, count: b * c)
        } else {
            ParallelMemory.zero(dh, count: m * c)
            for i in 0..<b {
                let row = packed.offsets[i]
                for j in 0..<c { dh[row * c + j] = dFeatures[i * c + j] }
            }
        }
        let dOut1 = gradOut1.reserve(m * c)
        let tmp = scratchA.reserve(m * max(c, inter) + m * d)
        let tmp2 = scratchB.reserve(2 * m * max(c, inter))
        let dQKV = gradQKV.reserve(m * 3 * c)
        let dInter = gradInter.reserve(m * inter)
        _ = prefixGradient(zero: true)
        let eps = config.layerNormEps
        _ = eps

        for l in stride(from: config.numHiddenLayers - 1, through: 0, by: -1) {
            if !layerTrainable(l) && !trainableBelow(l) { break }
            let s = layerActivations[l]
            let layer = w.layers[l]
            let adapters = layerAdapters[l]
            let x = hiddenStates[l].pointer
            let needBelow = trainableBelow(l)
            let needOut1 = attentionTrainable(l) || needBelow
            // Rows after attention: B in a first-token last layer, else every token.
            let firstQueries = firstOnly && l == lastLayer
            let rows = firstQueries ? b : m
            let rowOffsets = firstQueries ? firstTokenOffsets : packed.offsets
            let rowDropout =
                training ? RowDropout(rowOffsets: rowOffsets, keys: packed.dropoutKeys, seed: seed, layer: l) : nil
            let tokenDropout =
                training ? RowDropout(rowOffsets: packed.offsets, keys: packed.dropoutKeys, seed: seed, layer: l) : nil
            // ReFT on the layer's output: dh becomes the gradient of the LayerNorm's output.
            reftBackward(layer: l, dh: dh, packed: packed, firstOnly: firstQueries, training: training, seed: seed, activations: s)
            let gamma2 = w.pointer(layer.outputNormWeight)
            let dHo = tmp2  // [M, C]
            if let plus = adapters.output.first, plus.normFreeOutput {
                // AdapterPlus: out = a + u(a), a = LN(ho + out1).
                let dA = tmp2 + rows * max(c, inter)
                ParallelMemory.copy(dA, from: dh, count: rows * c)
                bottleneckBackward(
                    plus, dout: dh, x: s.adapterIn.pointer, dx: dA, accumulate: true, pre: s.outPre.pointer,
                    act: s.outAct.pointer, rows: rows, rowOffsets: rowOffsets, dropout: rowDropout, site: 14, scratch: tmp,
                    gateBuffer: s.gates[GateSite.outputBottleneck])
                LayerNorm.backward(
                    dx: dh, dgamma: grad(layer.outputNormWeight), dbeta: grad(layer.outputNormBias), dout: dA,
                    x: s.sumA.pointer, gamma: gamma2, mean: s.meanA.pointer, rstd: s.rstdA.pointer, rows: rows, channels: c)
                ParallelMemory.copy(dOut1, from: dh, count: rows * c)
                ParallelMemory.copy(dHo, from: dh, count: rows * c)
            } else {
                // Sub-block 2: out = LN(sum2). dh holds dL/d(out) on entry.
                LayerNorm.backward(
                    dx: dh, dgamma: grad(layer.outputNormWeight), dbeta: grad(layer.outputNormBias), dout: dh,
                    x: s.sum2.pointer,
                    gamma: gamma2, mean: s.mean2.pointer, rstd: s.rstd2.pointer, rows: rows, channels: c)
                // dh now = dL/d(sum2); sum2 = o + out1 (o = ho + adapter, or ho).
                ParallelMemory.copy(dOut1, from: dh, count: rows * c)
                ParallelMemory.copy(dHo, from: dh, count: rows * c)
                if adapters.output.count > 1, adapters.output[0].block != adapters.output[adapters.output.count - 1].block {
                    // A composed Stack (frozen adapters, then a Fuse): dh holds dL/d(o_last); r = out1.
                    var dFirst = [Float](repeating: 0, count: rows * c)
                    fusionRowDropout = rowDropout
                    composedBackward(
                        adapters.output, dout: dh, rows: rows, residual: s.out1.pointer, gamma: gamma2,
                        beta: w.pointer(layer.outputNormBias), dh: &dFirst, dresidual: dOut1)
                    fusionRowDropout = nil
                    ParallelMemory.copy(dHo, from: dFirst, count: rows * c)
                } else if adapters.output.count > 1, let fusion = adapters.output[0].fusion {
                    // AdapterFusion: o = h + fuse(a, u_1…u_k); dh holds dL/do (= dL/dsum2).
                    let lnBefore = adapters.output[0].originalLnBefore
                    let dA = tmp2 + rows * max(c, inter)
                    let dFromFusion = fusionScratch.reserve(rows * c)
                    fusionRowDropout = rowDropout
                    fusionBackward(
                        adapters.output, fusion: fusion, dout: dh, a: lnBefore ? s.adapterIn.pointer : s.ffnOut.pointer,
                        rows: rows, da: dA, dh: dFromFusion)
                    fusionRowDropout = nil
                    // fusionBackward wrote dL/dh (the residual included) into dFromFusion.
                    ParallelMemory.copy(dHo, from: dFromFusion, count: rows * c)
                    if lnBefore {
                        // seq_bn: a = LN(h + out1), the layer's own LayerNorm.
                        LayerNorm.backward(
                            dx: dA, dgamma: nil, dbeta: nil, dout: dA, x: s.sumA.pointer, gamma: gamma2, mean: s.meanA.pointer,
                            rstd: s.rstdA.pointer, rows: rows, channels: c)
                        Residual.accumulate(into: dOut1, dA, count: rows * c)
                    }
                    // double_seq_bn: a = h.
                    Residual.accumulate(into: dHo, dA, count: rows * c)
                } else if let slots = adapters.output.first {
                    if slots.parallel {
                        // sum2 = ho + s·f(out1) + out1.
                        bottleneckBackward(
                            slots, dout: dh, x: s.out1.pointer, dx: needOut1 ? dOut1 : nil, accumulate: true,
                            pre: s.outPre.pointer, act: s.outAct.pointer, rows: rows, rowOffsets: rowOffsets, dropout: rowDropout,
                            site: 14, scratch: tmp, gateBuffer: s.gates[GateSite.outputBottleneck])
                    } else if slots.originalLnBefore {
                        // o = ho + s·f(a), a = LN(ho + out1).
                        let dA = tmp2 + rows * max(c, inter)
                        bottleneckBackward(
                            slots, dout: dh, x: s.adapterIn.pointer, dx: dA, accumulate: false, pre: s.outPre.pointer,
                            act: s.outAct.pointer, rows: rows, rowOffsets: rowOffsets, dropout: rowDropout, site: 14, scratch: tmp,
                            gateBuffer: s.gates[GateSite.outputBottleneck])
                        LayerNorm.backward(
                            dx: dA, dgamma: grad(layer.outputNormWeight), dbeta: grad(layer.outputNormBias), dout: dA,
                            x: s.sumA.pointer, gamma: gamma2, mean: s.meanA.pointer, rstd: s.rstdA.pointer, rows: rows,
                            channels: c)
                        Residual.accumulate(into: dHo, dA, count: rows * c)
                        Residual.accumulate(into: dOut1, dA, count: rows * c)
                    } else {
                        // sum2 = ho + s·f(ho) + out1.
                        bottleneckBackward(
                            slots, dout: dh, x: s.ffnOut.pointer, dx: dHo, accumulate: true, pre: s.outPre.pointer,
                            act: s.outAct.pointer, rows: rows, rowOffsets: rowOffsets, dropout: rowDropout, site: 14, scratch: tmp,
                            gateBuffer: s.gates[GateSite.outputBottleneck])
                    }
                }
            }
            // LoRA / (IA)³ on the FFN's dense layers need the gradient inside the FFN even when nothing
            // below it trains.
            let ffnAdapted = !adapters[.intermediate].isEmpty || !adapters[.output].isEmpty
            if !needOut1 && !full && !ffnAdapted { break }
            // FFN: ho = drop(W2·gelu(W1·out1 + b1) + b2), each dense with its LoRA / (IA)³.
            if pHidden > 0 {
                hiddenDropout(dHo, dHo, rowOffsets: rowOffsets, keys: packed.dropoutKeys, p: pHidden, seed: seed, layer: l, site: 2)
            }
            let needInter = needOut1 || full || !adapters[.intermediate].isEmpty
            let preBF16 = keepsPreActivationInBF16 ? UnsafePointer(s.preActivationBF16(reserving: 0)) : nil
            var geluOut = UnsafePointer(s.preActivation.pointer)  // unused when nothing reads it
            if full || adapters[.output].contains(where: { !$0.scales }) {
                let recomputed = scratchF.reserve(rows * inter)
                if let preBF16 {
                    GELU.forward(config.hiddenAct.geluForm, out: recomputed, xBF16: preBF16, count: rows * inter)
                } else {
                    GELU.forward(
                        config.hiddenAct.geluForm, out: recomputed, x: s.preActivation.pointer, count: rows * inter)
                }
                geluOut = UnsafePointer(recomputed)
            }
            scaleOutputGradient(adapters[.output], site: .output, dy: dHo, ldy: c, rows: rows, outFeatures: c, activations: s)
            Linear.backward(
                dx: needInter ? dInter : nil, dweight: grad(layer.outputWeight), dbias: grad(layer.outputBias), dout: dHo,
                x: geluOut, weight: w.matrix(layer.outputWeight), rows: rows, inFeatures: inter, outFeatures: c)
            addInputGradient(
                adapters[.output], site: .output, dx: needInter ? dInter : nil, dy: dHo, ldy: c, x: geluOut, rows: rows,
                inFeatures: inter, outFeatures: c, activations: s, scratch: tmp, dropout: rowDropout, rowOffsets: rowOffsets)
            if !needInter {
                ready?(.layer(l))
                break
            }
            if let preBF16 {
                GELU.backward(config.hiddenAct.geluForm, dx: dInter, dout: dInter, xBF16: preBF16, count: rows * inter)
            } else {
                GELU.backward(
                    config.hiddenAct.geluForm, dx: dInter, dout: dInter, x: s.preActivation.pointer, count: rows * inter)
            }
            scaleOutputGradient(
                adapters[.intermediate], site: .intermediate, dy: dInter, ldy: inter, rows: rows, outFeatures: inter,
                activations: s)
            Linear.backward(
                dx: needOut1 ? dOut1 : nil, dweight: grad(layer.intermediateWeight), dbias: grad(layer.intermediateBias),
                dout: dInter, x: s.out1.pointer, weight: w.matrix(layer.intermediateWeight), rows: rows, inFeatures: c,
                outFeatures: inter, accumulateInput: true)
            addInputGradient(
                adapters[.intermediate], site: .intermediate, dx: needOut1 ? dOut1 : nil, dy: dInter, ldy: inter,
                x: s.out1.pointer, rows: rows, inFeatures: c, outFeatures: inter, activations: s, scratch: tmp,
                dropout: rowDropout, rowOffsets: rowOffsets)
            if !needOut1 {
                // Nothing in the attention sub-block or below trains.
                ready?(.layer(l))
                break
            }
            // Sub-block 1: out1 = LN(sum1), sum1 = ha (+ s·f(ha)) + x.
            LayerNorm.backward(
                dx: dOut1, dgamma: grad(layer.attentionNormWeight), dbeta: grad(layer.attentionNormBias), dout: dOut1,
                x: s.sum1.pointer, gamma: w.pointer(layer.attentionNormWeight), mean: s.mean1.pointer,
                rstd: s.rstd1.pointer,
                rows: rows, channels: c)
            // dOut1 = dL/d(sum1); the residual passes it to x.
            let dHa = tmp2
            ParallelMemory.copy(dHa, from: dOut1, count: rows * c)
            if adapters.attention.count > 1,
                adapters.attention[0].block != adapters.attention[adapters.attention.count - 1].block
            {
                // A composed Stack after attention (double_seq_bn: every unit reads its input itself, no LayerNorm).
                var dFirst = [Float](repeating: 0, count: rows * c)
                var unused = [Float](repeating: 0, count: rows * c)
                fusionRowDropout = rowDropout
                composedBackward(
                    adapters.attention, dout: dOut1, rows: rows, residual: s.attentionOut.pointer,
                    gamma: w.pointer(layer.attentionNormWeight), beta: w.pointer(layer.attentionNormBias), dh: &dFirst,
                    dresidual: &unused)
                fusionRowDropout = nil
                ParallelMemory.copy(dHa, from: dFirst, count: rows * c)
            } else if adapters.attention.count > 1, let fusion = adapters.attention[0].fusion {
                // AdapterFusion after attention (double_seq_bn): sum1 = ha + fuse(ha, u_1…u_k) + x, a = ha.
                let dA = fusionScratch.reserve(2 * rows * c)
                let dFromFusion = dA + rows * c
                fusionRowDropout = rowDropout
                fusionBackward(
                    adapters.attention, fusion: fusion, dout: dOut1, a: s.attentionOut.pointer, rows: rows, da: dA,
                    dh: dFromFusion)
                fusionRowDropout = nil
                ParallelMemory.copy(dHa, from: dFromFusion, count: rows * c)
                Residual.accumulate(into: dHa, dA, count: rows * c)
            } else if let slots = adapters.attention.first {
                bottleneckBackward(
                    slots, dout: dOut1, x: s.attentionOut.pointer, dx: dHa, accumulate: true, pre: s.mhPre.pointer,
                    act: s.mhAct.pointer, rows: rows, rowOffsets: rowOffsets, dropout: rowDropout, site: 13, scratch: tmp,
                    gateBuffer: s.gates[GateSite.attentionBottleneck])
            }
            if pHidden > 0 {
                hiddenDropout(dHa, dHa, rowOffsets: rowOffsets, keys: packed.dropoutKeys, p: pHidden, seed: seed, layer: l, site: 1)
            }
            let dCtx = tmp2 + rows * max(c, inter)
            Linear.backward(
                dx: dCtx, dweight: grad(layer.attentionOutWeight), dbias: grad(layer.attentionOutBias), dout: dHa,
                x: s.context.pointer, weight: w.matrix(layer.attentionOutWeight), rows: rows, inFeatures: c,
                outFeatures: c)
            let kept = droppedProbabilityStorage(dropout: pAttention)
            let savedDropped = kept == .fp32 ? UnsafePointer(s.droppedProbs.pointer) : nil
            let savedDroppedBF16 = kept == .bf16 ? UnsafePointer(s.droppedProbsBF16(reserving: 0)) : nil
            // dx = dL/d(layer input): residual from sub-block 1, plus the QKV projection (and LoRA).
            let dx = dh
            let layerPrefix = attentionPrefix(
                layer: l, input: x, rowOffsets: packed.offsets, gateBuffer: s.gates[GateSite.prefix], computeGate: false)
            let layerShape = layerPrefix != nil ? f.prefixShape ?? f.shape : f.shape
            let dPrefix = layerPrefix.map { prefixScratch[3].reserve(b * $0.length * 2 * c) }
            if attentionInBF16(layer: l, prefixModel: self) {
                // Writes every element of dQKV: no clearing first.
                Attention.backwardBF16(
                    dqkv: dQKV, dout: dCtx, qkv: s.qkvBF16(reserving: 0), probsBF16: s.probsBF16(reserving: 0),
                    shape: layerShape,
                    dropout: pAttention, seed: dropoutSeed(seed, layer: l, site: 0), droppedProbs: savedDroppedBF16,
                    firstQueries: firstQueries)
            } else {
                ParallelMemory.zero(dQKV, count: m * 3 * c)
                let backward = firstQueries ? Attention.backwardFirstQueries : Attention.backward
                backward(
                    dQKV, dCtx, s.qkv.pointer, s.probs.pointer, layerShape, pAttention,
                    dropoutSeed(seed, layer: l, site: 0), savedDropped, layerPrefix, dPrefix, savedDroppedBF16)
            }
            if !firstQueries {
                ParallelMemory.copy(dx, from: dOut1, count: m * c)
            } else {
                // The residual reaches only the first tokens' rows.
                ParallelMemory.zero(dx, count: m * c)
                for i in 0..<b where packed.offsets[i] < packed.offsets[i + 1] {
                    (dx + packed.offsets[i] * c).update(from: dOut1 + i * c, count: c)
                }
            }
            if let dPrefix, let layerPrefix,
                let dmeans = accumulatePrefixGradient(layer: l, perSequence: dPrefix, sequences: b, attention: layerPrefix),
                let gate = adapters.prefixGate
            {
                dmeans.withUnsafeBufferPointer {
                    gateBackward(
                        gate, dmeans: $0.baseAddress!, x: x, ldx: c, dx: needBelow ? dx : nil, rowOffsets: packed.offsets,
                        buffer: s.gates[GateSite.prefix])
                }
            }
            for site in [LinearSite.query, .key, .value] {
                scaleOutputGradient(
                    adapters[site], site: site, dy: dQKV + site.rawValue * c, ldy: 3 * c, rows: m, outFeatures: c,
                    activations: s)
                addInputGradient(
                    adapters[site], site: site, dx: needBelow ? dx : nil, dy: dQKV + site.rawValue * c, ldy: 3 * c, x: x,
                    rows: m, inFeatures: c, outFeatures: c, activations: s, scratch: tmp, dropout: tokenDropout,
                    rowOffsets: packed.offsets)
            }
            Linear.backward(
                dx: needBelow ? dx : nil, dweight: grad(layer.qkvWeight), dbias: grad(layer.qkvBias), dout: dQKV, x: x,
                weight: w.matrix(layer.qkvWeight), rows: m, inFeatures: c, outFeatures: 3 * c, accumulateInput: true)
            ready?(.layer(l))
            if !needBelow { break }
        }
        prefixBackward()
        if full { embeddingBackward(packed, dh: dh, seed: seed, training: training) }
        promptBackward(dh, packed)
        if invertible != nil { invertibleBackward(dh, rows: m) }
    }

    /// Full fine-tuning: through the embedding dropout and LayerNorm into the three tables.
    private func embeddingBackward(_ packed: PackedBatch, dh: UnsafeMutablePointer<Float>, seed: UInt64, training: Bool)
    {
        let m = packed.tokens
        let c = config.hiddenSize
        let w = base.weights
        if training && config.hiddenDropoutProb > 0 {
            hiddenDropout(
                dh, dh, rowOffsets: packed.offsets, keys: packed.dropoutKeys, p: config.hiddenDropoutProb, seed: seed,
                layer: config.numHiddenLayers, site: 7)
        }
        let saved = scratchC.pointer
        LayerNorm.backward(
            dx: dh, dgamma: gradientOf[w.embeddingNormWeight.name], dbeta: gradientOf[w.embeddingNormBias.name],
            dout: dh,
            x: saved, gamma: w.pointer(w.embeddingNormWeight), mean: saved + m * c, rstd: saved + m * c + m, rows: m,
            channels: c)
        packed.ids.withUnsafeBufferPointer { ids in
            packed.positions.withUnsafeBufferPointer { pos in
                packed.types.withUnsafeBufferPointer { types in
                    for (table, indices) in [
                        (w.wordEmbeddings, ids), (w.positionEmbeddings, pos), (w.tokenTypeEmbeddings, types),
                    ] {
                        guard let g = gradientOf[table.name] else { continue }
                        Embedding.backward(dtable: g, ids: indices.baseAddress!, dout: dh, tokens: m, channels: c)
                    }
                }
            }
        }
    }
}
