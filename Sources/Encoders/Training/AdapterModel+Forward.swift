import Adapters
import Kernels

extension AdapterModel {
    /// Dropout over the rows of one layer's buffers (training): each sequence's rows `rowOffsets[b]..<
    /// rowOffsets[b+1]` with its key's stream at (layer, site), as the base's own dropouts (`hiddenDropout`).
    struct RowDropout {
        let rowOffsets: [Int]
        let keys: [UInt64]
        let seed: UInt64
        let layer: Int

        func apply(
            _ model: AdapterModel, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, channels: Int, p: Float,
            site: Int
        ) {
            Dropout.sequences(
                out: out, x: x, rowOffsets: rowOffsets, keys: keys, channels: channels, p: p,
                seed: model.dropoutSeed(seed, layer: layer, site: site))
        }
    }

    /// A bottleneck's output regularisers on `buf` `[rows, C]` in training: stochastic depth (one draw per sequence,
    /// at `site + 1`… see `bottleneckSites`) and dropout. Both scale elementwise, so the backward pass applies the
    /// same call to the gradient.
    func regularizeBottleneckOutput(
        _ buf: UnsafeMutablePointer<Float>, _ slots: BottleneckSlots, dropout: RowDropout, dropoutSite: Int, depthSite: Int
    ) {
        let c = config.hiddenSize
        if slots.dropout > 0 { dropout.apply(self, out: buf, x: buf, channels: c, p: slots.dropout, site: dropoutSite) }
        if slots.stochasticDepth > 0 {
            let p = slots.stochasticDepth
            let stream = dropoutSeed(dropout.seed, layer: dropout.layer, site: depthSite)
            for b in 0..<(dropout.rowOffsets.count - 1) {
                let factor: Float = CounterRNG.uniform(seed: stream, index: dropout.keys[b]) < p ? 0 : 1 / (1 - p)
                for r in dropout.rowOffsets[b]..<dropout.rowOffsets[b + 1] {
                    let row = buf + r * c
                    for j in 0..<c { row[j] *= factor }
                }
            }
        }
    }

    /// A location's adapters in Stack order on `h` `[M, C]`: o₀ = h, o_k = o_{k-1} + s·f(a_k) with
    /// a_k = `adapterInput(o_{k-1})` for `original_ln_before` adapters, else o_{k-1}. Returns o_last
    /// (in `tmp`), or `h` when the location has no adapter. `pre`/`act` keep the last adapter's
    /// bottleneck activations for the backward pass (stacks are not trained).
    func bottleneckStack(
        _ stack: [BottleneckSlots], h: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, rows m: Int,
        tmp: UnsafeMutablePointer<Float>, pre: ScratchBuffer, act: ScratchBuffer,
        adapterInput: (UnsafePointer<Float>) -> UnsafePointer<Float>,
        dropUp: ((UnsafeMutablePointer<Float>, BottleneckSlots) -> Void)? = nil, rowOffsets: [Int], gateBuffer: ScratchBuffer
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        if stack.count > 1, stack[0].block != stack[stack.count - 1].block {
            return composedStack(
                stack, h: h, residual: residual, rows: m, tmp: tmp, pre: pre, act: act, adapterInput: adapterInput,
                rowOffsets: rowOffsets, gateBuffer: gateBuffer)
        }
        if stack.count > 1, stack[0].splitStart != nil {
            return bottleneckSplit(
                stack, h: h, rows: m, tmp: tmp, pre: pre, act: act, rowOffsets: rowOffsets, adapterInput: adapterInput)
        }
        if stack.count > 1, let fusion = stack[0].fusion {
            return bottleneckFusion(
                stack, fusion: fusion, h: h, rows: m, tmp: tmp, pre: pre, act: act, adapterInput: adapterInput)
        }
        // An Average of one adapter still weighs its output (AdapterHub: w·(h + u)).
        if !stack.isEmpty, stack.allSatisfy({ $0.averageFactor != nil }) {
            return bottleneckAverage(
                stack, h: h, residual: residual, rows: m, tmp: tmp, pre: pre, act: act, adapterInput: adapterInput)
        }
        var o = UnsafePointer(h)
        for slots in stack {
            // The running output lives in tmp; the next one is built in scratchF.
            let next = o == UnsafePointer(tmp) ? scratchF.reserve(m * c) : tmp
            // A parallel adapter (par_bn) reads the sub-block's input r: o = h + s·f(r), then LN(o + r).
            let input = slots.parallel ? residual : slots.originalLnBefore ? adapterInput(o) : o
            Bottleneck.forward(
                out: next, x: input, weights: bottleneckTensors(slots), pre: pre.reserve(m * slots.size),
                act: act.reserve(m * slots.size), rows: m, channels: c, bottleneck: slots.size,
                activation: slots.activation, scale: bottleneckScale(slots))
            if slots.dropout > 0 || slots.stochasticDepth > 0 { dropUp?(next, slots) }
            if let gate = slots.gate {
                let means = gateForward(gate, values: values, x: input, ldx: c, rowOffsets: rowOffsets, buffer: gateBuffer)
                scaleRowsBySequence(next, means: means, rowOffsets: rowOffsets, channels: c)
            }
            Residual.forward(out: next, a: next, b: o, count: m * c)
            if next != tmp { tmp.update(from: next, count: m * c) }
            o = UnsafePointer(tmp)
        }
        return o
    }

    /// An `Average`'s bottlenecks at one location (inference): each adapter on the same input gives
    /// o_i = h + s_i·f_i(a), and the location's output is Σ factor_i·o_i (`averageFactors`), in `tmp`.
    func bottleneckAverage(
        _ stack: [BottleneckSlots], h: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, rows m: Int,
        tmp: UnsafeMutablePointer<Float>, pre: ScratchBuffer, act: ScratchBuffer,
        adapterInput: (UnsafePointer<Float>) -> UnsafePointer<Float>
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        let one = scratchF.reserve(m * c)
        var total = [Float](repeating: 0, count: m * c)
        for slots in stack {
            let input = slots.originalLnBefore ? adapterInput(UnsafePointer(h)) : UnsafePointer(h)
            Bottleneck.forward(
                out: one, x: input, weights: bottleneckTensors(slots), pre: pre.reserve(m * slots.size),
                act: act.reserve(m * slots.size), rows: m, channels: c, bottleneck: slots.size,
                activation: slots.activation, scale: bottleneckScale(slots))
            let factor = slots.averageFactor ?? 1
            for i in 0..<(m * c) { total[i] += factor * (one[i] + h[i]) }
        }
        tmp.update(from: total, count: m * c)
        return UnsafePointer(tmp)
    }

    /// Several adapter setups' bottleneck stacks at one location, each on its own rows of `h` (`[rows, C]`):
    /// the result is in `tmp` (or, with a single segment, wherever `bottleneckStack` left it).
    /// `adapterInput(o, firstRow, rows)` gives a seq_bn adapter's input for a segment's rows.
    func bottleneckStacks(
        _ parts: [Segment], location: KeyPath<LayerAdapter, [BottleneckSlots]>, layer l: Int, rowsOf: (Segment) -> Range<Int>,
        h: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, tmp: UnsafeMutablePointer<Float>,
        pre: ScratchBuffer, act: ScratchBuffer, dropUp: ((UnsafeMutablePointer<Float>, BottleneckSlots) -> Void)? = nil,
        rowOffsetsOf: (Segment) -> [Int], gateBuffer: ScratchBuffer,
        adapterInput: (UnsafePointer<Float>, Int, Int) -> UnsafePointer<Float>
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        if parts.count == 1, let part = parts.first {
            let rows = rowsOf(part)
            return part.model.bottleneckStack(
                part.model.layerAdapters[l][keyPath: location], h: h + rows.lowerBound * c,
                residual: residual + rows.lowerBound * c, rows: rows.count,
                tmp: tmp + rows.lowerBound * c, pre: pre, act: act, adapterInput: { adapterInput($0, rows.lowerBound, rows.count) },
                dropUp: dropUp, rowOffsets: rowOffsetsOf(part), gateBuffer: gateBuffer)
        }
        for part in parts {
            let rows = rowsOf(part)
            let segmentTmp = tmp + rows.lowerBound * c
            let o = part.model.bottleneckStack(
                part.model.layerAdapters[l][keyPath: location], h: h + rows.lowerBound * c,
                residual: residual + rows.lowerBound * c, rows: rows.count,
                tmp: segmentTmp, pre: pre, act: act, adapterInput: { adapterInput($0, rows.lowerBound, rows.count) },
                rowOffsets: rowOffsetsOf(part), gateBuffer: gateBuffer)
            if o != UnsafePointer(segmentTmp) { segmentTmp.update(from: o, count: rows.count * c) }
        }
        return UnsafePointer(tmp)
    }

    /// The forward pass over packed tokens, keeping what the backward pass needs. With
    /// `firstTokensOnly` (what the head reads) the last layer's states after attention exist for each
    /// sequence's first token only, row b of `hiddenStates[L]`; `backward` follows the same shape.
    ///
    /// `segments` runs a mixed batch (inference only): the base's GEMMs, attention and LayerNorms run once
    /// over every row, and each segment's adapters (LoRA, bottlenecks) and head — those of the model it
    /// names, which shares this base — on its own sequences' rows. Nil runs this model on every sequence.
    func forward(
        _ packed: PackedBatch, seed: UInt64, training: Bool, firstTokensOnly: Bool = false, segments: [Segment]? = nil
    ) -> ForwardState {
        let m = packed.tokens
        let parts = segments ?? [Segment(model: self, sequences: 0..<(packed.offsets.count - 1))]
        // A gate reading every row of the top layer's FFN side needs that layer in full.
        // So does a tagging head.
        let firstTokensOnly =
            firstTokensOnly && !parts.contains { $0.model.gatesReadTopRows || $0.model.head.config.readsEveryToken }
        for part in parts {
            part.model.materializePHM()
            part.model.materializeDoRA()
            part.model.materializePrefix()
            part.model.materializeReft()
        }
        // Full fine-tuning in bf16: the GEMMs read bf16 copies of the fp32 master weights, which an
        // optimizer step, a checkpoint or a loaded model may have changed since the last pass.
        if mode == .full { base.weights.refreshBF16() }
        let c = config.hiddenSize
        let inter = config.intermediateSize
        let eps = config.layerNormEps
        let w = base.weights
        let pHidden: Float = training ? config.hiddenDropoutProb : 0
        let pAttention: Float = training ? config.attentionProbsDropoutProb : 0
        let shape = AttentionShape(
            offsets: packed.offsets, heads: config.numAttentionHeads, headDim: config.headDim, dropoutKeys: packed.dropoutKeys)
        let firstTokenOffsets = Array(0...(packed.offsets.count - 1))
        let full = mode == .full
        // Mixed batches with a prefix run part by part (`mixedLogits`): a prefix is one model's.
        let prefixModel = parts.count == 1 ? parts[0].model : nil
        let prefixShape = prefixModel?.prefix.map {
            AttentionShape(
                offsets: packed.offsets, heads: config.numAttentionHeads, headDim: config.headDim,
                dropoutKeys: packed.dropoutKeys, prefixLength: $0.length)
        }

        let x0 = hiddenStates[0].reserve(max(m * c, 1))
        base.embed(packed, into: x0)
        if full {
            // Full fine-tuning backpropagates into the embedding LayerNorm: keep its input and stats.
            let sum0 = scratchC.reserve(m * c + 2 * m)
            sum0.update(from: x0, count: m * c)
            LayerNorm.forward(
                out: x0, x: sum0, gamma: w.pointer(w.embeddingNormWeight), beta: w.pointer(w.embeddingNormBias),
                mean: sum0 + m * c, rstd: sum0 + m * c + m, rows: m, channels: c, eps: eps)
        } else {
            LayerNorm.forward(
                out: x0, x: x0, gamma: w.pointer(w.embeddingNormWeight), beta: w.pointer(w.embeddingNormBias), rows: m,
                channels: c, eps: eps)
        }
        if pHidden > 0 {
            hiddenDropout(x0, x0, rowOffsets: packed.offsets, keys: packed.dropoutKeys, p: pHidden, seed: seed, layer: config.numHiddenLayers, site: 7)
        }
        for part in parts where part.model.invertible != nil {
            let r0 = packed.offsets[part.sequences.lowerBound]
            part.model.invertibleForward(x0 + r0 * c, rows: packed.offsets[part.sequences.upperBound] - r0)
        }
        promptForward(x0, packed)  // mixed batches with a prompt run part by part (`mixedLogits`)
        let tmp = scratchA.reserve(m * max(c, inter))
        for (l, layer) in w.layers.enumerated() {
            // A model that only runs never goes backward, so every layer can reuse one layer's buffers:
            // a server's activation memory is one layer's, not the whole stack's.
            let s = parameters.trainable ? layerActivations[l] : layerActivations[0]
            let x = hiddenStates[l].pointer
            // Self-attention: fused QKV (+ LoRA), attention, output dense, dropout. bf16 attention keeps its
            // own bf16 Q/K/V for the backward pass, so the fp32 ones need not outlive the layer.
            let bf16Attention = attentionInBF16(layer: l, prefixModel: prefixModel)
            let qkv = (bf16Attention && parameters.trainable ? attentionQKV : s.qkv).reserve(m * 3 * c)
            Linear.forward(
                out: qkv, x: x, weight: w.matrix(layer.qkvWeight), bias: w.pointer(layer.qkvBias), rows: m,
                inFeatures: c,
                outFeatures: 3 * c)
            // Only a single trained model keeps (IA)³'s unscaled outputs (the backward pass reads them).
            let keepScaled = parameters.trainable && parts.count == 1
            // Adapter dropouts (LoRA inputs, bottleneck outputs) run in training, on a single model's batch.
            let tokenDropout =
                training && parts.count == 1
                ? RowDropout(rowOffsets: packed.offsets, keys: packed.dropoutKeys, seed: seed, layer: l) : nil
            for part in parts where !part.model.loraMerged {
                let r0 = packed.offsets[part.sequences.lowerBound]
                let m = packed.offsets[part.sequences.upperBound] - r0
                let partOffsets = packed.offsets[part.sequences.lowerBound...part.sequences.upperBound].map { $0 - r0 }
                for site in [LinearSite.query, .key, .value] {
                    applyLinearAdapters(
                        part.model.layerAdapters[l][site], values: part.model.values, site: site,
                        y: qkv + r0 * 3 * c + site.rawValue * c, ldy: 3 * c, x: x + r0 * c, rows: m, inFeatures: c,
                        outFeatures: c, activations: s, keep: keepScaled, tmp: tmp, dropout: tokenDropout, rowOffsets: partOffsets)
                }
            }
            // With `firstTokensOnly` the last layer computes only what the head reads: attention for
            // each sequence's first query (keys and values from every token), then B rows.
            let firstOnly = firstTokensOnly && l == w.layers.count - 1
            let rows = firstOnly ? shape.batch : m
            let rowOffsets = firstOnly ? firstTokenOffsets : packed.offsets
            /// A segment's rows in this layer's post-attention buffers.
            func rowsOf(_ part: Segment) -> Range<Int> {
                firstOnly ? part.sequences : packed.offsets[part.sequences.lowerBound]..<packed.offsets[part.sequences.upperBound]
            }
            /// A segment's sequences' row offsets within its rows (what a gate averages over).
            func rowOffsetsOf(_ part: Segment) -> [Int] {
                let offsets = firstOnly ? firstTokenOffsets : packed.offsets
                let r0 = offsets[part.sequences.lowerBound]
                return offsets[part.sequences.lowerBound...part.sequences.upperBound].map { $0 - r0 }
            }
            let rowDropout =
                training && parts.count == 1
                ? RowDropout(rowOffsets: rowOffsets, keys: packed.dropoutKeys, seed: seed, layer: l) : nil
            let ctx = (keepsContext(l) ? s.context : contextScratch).reserve(rows * c)
            let layerPrefix = prefixModel?.attentionPrefix(
                layer: l, input: x, rowOffsets: packed.offsets, gateBuffer: s.gates[GateSite.prefix], computeGate: true)
            let layerShape = layerPrefix != nil ? prefixShape ?? shape : shape
            let probCount = max(firstOnly ? layerShape.firstQueryProbabilityCount : layerShape.probabilityCount, 1)
            let kept = droppedProbabilityStorage(dropout: pAttention)
            if bf16Attention {
                // What the backward pass reads, in bf16: Q/K/V and the softmax output (a model that only
                // runs keeps neither: each head's probabilities then live in scratch).
                let trains = parameters.trainable
                Attention.forwardBF16(
                    out: ctx, qkv: qkv, shape: layerShape, savedQKV: trains ? s.qkvBF16(reserving: m * 3 * c) : nil,
                    probsBF16: trains ? s.probsBF16(reserving: probCount) : nil, dropout: pAttention,
                    seed: dropoutSeed(seed, layer: l, site: 0),
                    droppedProbs: kept == .bf16 ? s.droppedProbsBF16(reserving: probCount) : nil, firstQueries: firstOnly)
            } else {
                let attend = firstOnly ? Attention.forwardFirstQueries : Attention.forward
                attend(
                    ctx, qkv, layerShape, s.probs.reserve(probCount), pAttention, dropoutSeed(seed, layer: l, site: 0),
                    kept == .fp32 ? s.droppedProbs.reserve(probCount) : nil, layerPrefix,
                    kept == .bf16 ? s.droppedProbsBF16(reserving: probCount) : nil)
            }
            let xres: UnsafePointer<Float>
            if firstOnly {
                let first = firstRows.reserve(rows * c)
                packed.gatherFirstRows(of: x, channels: c, into: first)
                xres = UnsafePointer(first)
            } else {
                xres = UnsafePointer(x)
            }
            // h of sub-block 1 is kept only when an attention adapter reads it in the backward pass.
            let anyAttentionAdapter = parts.contains { !$0.model.layerAdapters[l].attention.isEmpty }
            let ha = anyAttentionAdapter ? s.attentionOut.reserve(rows * c) : scratchD.reserve(rows * c)
            Linear.forward(
                out: ha, x: ctx, weight: w.matrix(layer.attentionOutWeight), bias: w.pointer(layer.attentionOutBias),
                rows: rows, inFeatures: c, outFeatures: c)
            if pHidden > 0 {
                hiddenDropout(ha, ha, rowOffsets: rowOffsets, keys: packed.dropoutKeys, p: pHidden, seed: seed, layer: l, site: 1)
            }
            // Sub-block 1: LN(h + r), or LN(h + s·f(h) + r) with an attention adapter; a Stack feeds
            // each adapter's output (with its residual) to the next.
            let sum1 = s.sum1.reserve(rows * c)
            let out1 = (keepsFFNInput(l) ? s.out1 : ffnInputScratch).reserve(rows * c)
            fusionRowDropout = rowDropout  // a Fuse's score dropout (training a single model); reset after the FFN
            let ln1Input = bottleneckStacks(
                parts, location: \.attention, layer: l, rowsOf: rowsOf, h: ha, residual: xres, tmp: tmp, pre: s.mhPre, act: s.mhAct,
                dropUp: rowDropout.map { d in { buf, slots in self.regularizeBottleneckOutput(buf, slots, dropout: d, dropoutSite: 13, depthSite: 5) } },
                rowOffsetsOf: rowOffsetsOf, gateBuffer: s.gates[GateSite.attentionBottleneck],
                adapterInput: { o, _, _ in o })
            LayerNorm.forward(
                out: out1, x: ln1Input, residual: xres, sum: sum1, gamma: w.pointer(layer.attentionNormWeight),
                beta: w.pointer(layer.attentionNormBias), mean: s.mean1.reserve(rows), rstd: s.rstd1.reserve(rows),
                rows: rows,
                channels: c, eps: eps)
            // Feed-forward.
            let preInBF16 = keepsPreActivationInBF16
            let pre = (preInBF16 ? preActivationFP32 : s.preActivation).reserve(rows * inter)
            Linear.forward(
                out: pre, x: out1, weight: w.matrix(layer.intermediateWeight), bias: w.pointer(layer.intermediateBias),
                rows: rows, inFeatures: c, outFeatures: inter)
            /// Each segment's LoRA / (IA)³ at an FFN dense: `y` `[rows, out]` from `x` `[rows, in]`.
            func ffnAdapters(
                _ site: LinearSite, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, inFeatures: Int,
                outFeatures: Int
            ) {
                for part in parts where !part.model.loraMerged {
                    let r = rowsOf(part)
                    applyLinearAdapters(
                        part.model.layerAdapters[l][site], values: part.model.values, site: site,
                        y: y + r.lowerBound * outFeatures, ldy: outFeatures, x: x + r.lowerBound * inFeatures,
                        rows: r.count, inFeatures: inFeatures, outFeatures: outFeatures, activations: s, keep: keepScaled,
                        tmp: tmp, dropout: rowDropout, rowOffsets: rowOffsetsOf(part))
                }
            }
            ffnAdapters(.intermediate, y: pre, x: out1, inFeatures: c, outFeatures: inter)
            // h of sub-block 2 is kept only when double_seq_bn's output adapter reads it.
            let keepHo = parts.contains {
                $0.model.layerAdapters[l].output.first.map { !$0.originalLnBefore && !$0.parallel } ?? false
            }
            let ho = keepHo ? s.ffnOut.reserve(rows * c) : scratchE.reserve(rows * c)
            // The GELU output is not kept: full fine-tuning recomputes it from the pre-activation. With bf16
            // weights and nothing else reading it, it is written in bf16, as the output dense would round it.
            if case .bf16(let w2) = w.matrix(layer.outputWeight), Linear.takesBF16Input(rows: rows, inFeatures: inter),
                parts.allSatisfy({ $0.model.loraMerged || $0.model.layerAdapters[l][.output].isEmpty })
            {
                let half = UnsafeMutableRawPointer(geluBF16.reserve((rows * inter + 1) / 2))
                    .bindMemory(to: UInt16.self, capacity: rows * inter)
                GELU.forward(
                    config.hiddenAct.geluForm, outBF16: half, x: pre, count: rows * inter,
                    keepingInput: preInBF16 ? s.preActivationBF16(reserving: rows * inter) : nil)
                Linear.forward(
                    out: ho, xBF16: half, weight: w2, bias: w.pointer(layer.outputBias), rows: rows, inFeatures: inter,
                    outFeatures: c)
            } else {
                let gelu = scratchB.reserve(rows * inter)
                GELU.forward(
                    config.hiddenAct.geluForm, out: gelu, x: pre, count: rows * inter,
                    keepingInput: preInBF16 ? s.preActivationBF16(reserving: rows * inter) : nil)
                Linear.forward(
                    out: ho, x: gelu, weight: w.matrix(layer.outputWeight), bias: w.pointer(layer.outputBias),
                    rows: rows, inFeatures: inter, outFeatures: c)
                ffnAdapters(.output, y: ho, x: gelu, inFeatures: inter, outFeatures: c)
            }
            if pHidden > 0 {
                hiddenDropout(ho, ho, rowOffsets: rowOffsets, keys: packed.dropoutKeys, p: pHidden, seed: seed, layer: l, site: 2)
            }
            // Sub-block 2, by adapter placement (reference: anchors-adapters.md §1.4). With a Stack,
            // o₀ = h and each adapter k gives o_k = o_{k-1} + s·f(a_k), a_k = LN(o_{k-1} + r) (seq_bn)
            // or o_{k-1} (double_seq_bn); the output is LN(o_last + r).
            let out = hiddenStates[l + 1].reserve(rows * c)
            let sum2 = s.sum2.reserve(rows * c)
            let gamma2 = w.pointer(layer.outputNormWeight)
            let beta2 = w.pointer(layer.outputNormBias)
            fusionRowDropout = rowDropout  // a Fuse's score dropout (training a single model)
            defer { fusionRowDropout = nil }
            let regularizeOutput: ((UnsafeMutablePointer<Float>, BottleneckSlots) -> Void)? = rowDropout.map { d in
                { buf, slots in self.regularizeBottleneckOutput(buf, slots, dropout: d, dropoutSite: 14, depthSite: 6) }
            }
            if parts.count == 1, let plus = parts[0].model.layerAdapters[l].output.first, plus.normFreeOutput {
                // AdapterPlus: out = a + s·f(a), a = LN(h + r) (mixed batches with it run part by part).
                let a = s.adapterIn.reserve(rows * c)
                LayerNorm.forward(
                    out: a, x: ho, residual: out1, sum: s.sumA.reserve(rows * c), gamma: gamma2, beta: beta2,
                    mean: s.meanA.reserve(rows), rstd: s.rstdA.reserve(rows), rows: rows, channels: c, eps: eps)
                let o = parts[0].model.bottleneckStack(
                    [plus], h: a, residual: a, rows: rows, tmp: out, pre: s.outPre, act: s.outAct, adapterInput: { $0 },
                    dropUp: regularizeOutput,
                    rowOffsets: rowOffsetsOf(parts[0]), gateBuffer: s.gates[GateSite.outputBottleneck])
                if o != UnsafePointer(out) { out.update(from: o, count: rows * c) }
            } else {
                let ln2Input = bottleneckStacks(
                    parts, location: \.output, layer: l, rowsOf: rowsOf, h: ho, residual: out1, tmp: tmp, pre: s.outPre, act: s.outAct,
                    dropUp: regularizeOutput,
                    rowOffsetsOf: rowOffsetsOf, gateBuffer: s.gates[GateSite.outputBottleneck]
                ) { o, first, count in
                    // seq_bn: a = LN(o + r) — the same frozen LN as the output's.
                    let ain = s.adapterIn.reserve(rows * c) + first * c
                    LayerNorm.forward(
                        out: ain, x: o, residual: out1 + first * c, sum: s.sumA.reserve(rows * c) + first * c, gamma: gamma2,
                        beta: beta2, mean: s.meanA.reserve(rows) + first, rstd: s.rstdA.reserve(rows) + first, rows: count,
                        channels: c, eps: eps)
                    return UnsafePointer(ain)
                }
                LayerNorm.forward(
                    out: out, x: ln2Input, residual: out1, sum: sum2, gamma: gamma2, beta: beta2,
                    mean: s.mean2.reserve(rows),
                    rstd: s.rstd2.reserve(rows), rows: rows, channels: c, eps: eps)
            }
            // ReFT on the layer's output (mixed batches with ReFT run part by part).
            prefixModel?.reftForward(layer: l, out: out, packed: packed, firstOnly: firstOnly, training: training, seed: seed, activations: s)
        }
        // Each segment's own head, on its sequences' first tokens (or every token of them, tagging).
        let top = hiddenStates[config.numHiddenLayers].pointer
        var state = ForwardState(
            logits: [], segmentLogits: [], shape: shape, prefixShape: prefixShape, firstTokensOnly: firstTokensOnly,
            head: HeadActivations())
        for part in parts {
            let features: [Float]
            let rowOffsets: [Int]
            if part.model.head.config.readsEveryToken {
                let first = packed.offsets[part.sequences.lowerBound]
                let end = packed.offsets[part.sequences.upperBound]
                features = Array(UnsafeBufferPointer(start: top + first * c, count: (end - first) * c))
                rowOffsets = packed.offsets[part.sequences.lowerBound...part.sequences.upperBound].map { $0 - first }
            } else {
                var rows = [Float](repeating: 0, count: part.sequences.count * c)
                for (k, i) in part.sequences.enumerated() {
                    let row = firstTokensOnly ? i : packed.offsets[i]
                    for j in 0..<c { rows[k * c + j] = top[row * c + j] }
                }
                features = rows
                rowOffsets = Array(0...part.sequences.count)
            }
            let head = part.model.headForward(
                features, rowOffsets: rowOffsets, seed: seed, keys: Array(packed.dropoutKeys[part.sequences]), training: training)
            state.segmentLogits.append(head.logits)
            if parts.count == 1 {
                state.logits = head.logits
                state.head = head.activations
            }
        }
        return state
    }
}
