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
    static func placeAverage(_ adapters: [NamedAdapter], weights: [Float], in layers: inout [LayerAdapter]) throws {
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
            func place<T>(_ slots: inout [T], _ what: String, _ set: (inout T, Float) -> Void) throws {
                guard slots.isEmpty || slots.count == k else {
                    throw EncoderError.invalidInput(
                        "Average: layer \(l)'s \(what) holds \(slots.count) of the \(k) adapters; every adapter must sit at the same locations"
                    )
                }
                for i in slots.indices { set(&slots[i], factors[i]) }
            }
            try place(&layers[l].attention, "attention bottleneck") { $0.averageFactor = $1 }
            try place(&layers[l].output, "output bottleneck") { $0.averageFactor = $1 }
            for site in LinearSite.allCases {
                try place(&layers[l].lora[site.rawValue], "LoRA on \(site)") { $0.averageFactor = $1 }
            }
            if layers[l].output.contains(where: \.normFreeOutput) {
                throw EncoderError.invalidInput("Average: AdapterPlus bottlenecks are not averaged")
            }
        }
    }
}
