import Adapters
import Kernels

extension TrainingMode {
    var isAverage: Bool {
        if case .average = self { return true }
        return false
    }
}

extension AdapterModel {
    /// The shares of an `Average`'s adapters at a location, as adapters 1.3.0 computes them: its `mean` takes
    /// `torch.mean` over the stacked weighted outputs, so adapter i counts `w_i / k` (k adapters) — the
    /// weighted outputs are divided by k once more, residual included (Average of one adapter twice is not that
    /// adapter). Kept as is so that the logits match the library's.
    static func averageFactors(_ weights: [Float]) -> [Float] {
        weights.map { $0 / Float(weights.count) }
    }

    /// Checks an `Average`'s adapters and gives each location's slots its share. AdapterHub composes an
    /// Average per location and runs every child on the same input, so every adapter must sit at the same
    /// locations, and only plain bottlenecks (sequential, ungated) and plain LoRA combine this way here.
    ///
    /// `block` is the Average's index among the Stack's blocks (its slots carry it); with `bottlenecksOnly` (an Average
    /// inside a Stack) its adapters must be bottlenecks.
    static func placeAverage(
        _ adapters: [NamedAdapter], weights: [Float], block: Int = 0, bottlenecksOnly: Bool = false,
        in layers: inout [LayerAdapter]
    ) throws {
        let k = adapters.count
        guard weights.count == k, k >= 1 else {
            throw EncoderError.invalidInput("an Average of \(k) adapters was given \(weights.count) weights")
        }
        for adapter in adapters {
            for member in adapter.config.members {
                switch member {
                case .bottleneck(let bn):
                    guard !bn.isParallel, bn.invAdapter == nil, !bn.useGating else {
                        throw EncoderError.invalidInput(
                            "Average: '\(adapter.name)' is \(adapter.config.methodName): only sequential bottlenecks without gates or invertible adapters, and plain LoRA, are averaged"
                        )
                    }
                case .lora(let lora):
                    guard !bottlenecksOnly else {
                        throw EncoderError.invalidInput(
                            "Average: '\(adapter.name)' is LoRA; an Average inside a Stack combines bottleneck adapters only (a lone Average also combines LoRA)"
                        )
                    }
                    guard !lora.useDora, !lora.isVera, !lora.useGating, lora.compositionMode == "add" else {
                        throw EncoderError.invalidInput(
                            "Average: '\(adapter.name)' is \(adapter.config.methodName): DoRA, VeRA, (IA)³ and gated LoRA are not averaged"
                        )
                    }
                default:
                    throw EncoderError.invalidInput(
                        "Average: '\(adapter.name)' is \(adapter.config.methodName): only bottleneck and LoRA adapters are averaged"
                    )
                }
            }
        }
        let factors = averageFactors(weights)
        for l in layers.indices {
            func place<T>(_ slots: inout [T], _ what: String, members: [Int], _ set: (inout T, Float) -> Void) throws {
                guard members.isEmpty || members.count == k else {
                    throw EncoderError.invalidInput(
                        "Average: layer \(l)'s \(what) holds \(members.count) of the \(k) adapters; every adapter must sit at the same locations"
                    )
                }
                for (j, i) in members.enumerated() { set(&slots[i], factors[j]) }
            }
            for (location, what) in [(\LayerAdapter.attention, "attention bottleneck"), (\LayerAdapter.output, "output bottleneck")] {
                let members = layers[l][keyPath: location].indices.filter { layers[l][keyPath: location][$0].block == block }
                try place(&layers[l][keyPath: location], what, members: members) { $0.averageFactor = $1 }
            }
            if !bottlenecksOnly {
                for site in LinearSite.allCases {
                    let slots = layers[l].lora[site.rawValue]
                    try place(&layers[l].lora[site.rawValue], "LoRA on \(site)", members: Array(slots.indices)) {
                        $0.averageFactor = $1
                    }
                }
            }
            if layers[l].output.contains(where: \.normFreeOutput) {
                throw EncoderError.invalidInput("Average: AdapterPlus bottlenecks are not averaged")
            }
        }
    }
}

extension TrainingMode {
    var isSplit: Bool {
        if case .split = self { return true }
        return false
    }
}

extension AdapterModel {
    /// Checks a `Split`'s adapters (sequential bottlenecks at the same locations, as AdapterHub composes a Split
    /// in its bottleneck layers only) and gives each its first position.
    static func placeSplit(
        _ adapters: [NamedAdapter], splits: [Int], block: Int = 0, in layers: inout [LayerAdapter]
    ) throws {
        let k = adapters.count
        guard k >= 2, splits.count == k, splits.allSatisfy({ $0 > 0 }) else {
            throw EncoderError.invalidInput("a Split of \(k) adapters needs \(k) positive lengths, got \(splits)")
        }
        for adapter in adapters {
            for member in adapter.config.members {
                guard case .bottleneck(let bn) = member, !bn.isParallel, !bn.useGating, !bn.normFreeOutput,
                    bn.invAdapter == nil
                else {
                    throw EncoderError.invalidInput(
                        "Split: '\(adapter.name)' is \(adapter.config.methodName); AdapterHub splits sequential bottleneck adapters only"
                    )
                }
            }
        }
        let starts = splits.indices.map { splits[..<$0].reduce(0, +) }
        for l in layers.indices {
            for location in [\LayerAdapter.attention, \LayerAdapter.output] {
                let members = layers[l][keyPath: location].indices.filter { layers[l][keyPath: location][$0].block == block }
                guard members.isEmpty || members.count == k else {
                    throw EncoderError.invalidInput(
                        "Split: layer \(l) holds \(members.count) of the \(k) adapters at one location; every adapter must sit at the same locations"
                    )
                }
                for (j, i) in members.enumerated() { layers[l][keyPath: location][i].splitStart = starts[j] }
            }
        }
    }

    /// A `Split` at one location (inference): each row takes the adapter whose span holds its position in its
    /// sequence (`rowOffsets`), o = h + s·f_i(a). Returns o in `tmp`.
    func bottleneckSplit(
        _ stack: [BottleneckSlots], h: UnsafeMutablePointer<Float>, rows m: Int, tmp: UnsafeMutablePointer<Float>,
        pre: ScratchBuffer, act: ScratchBuffer, rowOffsets: [Int],
        adapterInput: (UnsafePointer<Float>) -> UnsafePointer<Float>
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        // Which adapter each row takes.
        var owner = [Int](repeating: stack.count - 1, count: m)
        for b in 0..<(rowOffsets.count - 1) {
            for r in rowOffsets[b]..<rowOffsets[b + 1] {
                let position = r - rowOffsets[b]
                owner[r] = stack.lastIndex { ($0.splitStart ?? 0) <= position } ?? 0
            }
        }
        let one = scratchF.reserve(m * c)
        var out = [Float](repeating: 0, count: m * c)
        for (i, slots) in stack.enumerated() where owner.contains(i) {
            let input = slots.originalLnBefore ? adapterInput(UnsafePointer(h)) : UnsafePointer(h)
            Bottleneck.forward(
                out: one, x: input, weights: bottleneckTensors(slots), pre: pre.reserve(m * slots.size),
                act: act.reserve(m * slots.size), rows: m, channels: c, bottleneck: slots.size,
                activation: slots.activation,
                scale: bottleneckScale(slots))
            for r in 0..<m where owner[r] == i {
                for j in 0..<c { out[r * c + j] = one[r * c + j] + h[r * c + j] }
            }
        }
        tmp.update(from: out, count: m * c)
        return UnsafePointer(tmp)
    }
}
