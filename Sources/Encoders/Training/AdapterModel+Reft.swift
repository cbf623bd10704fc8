import Adapters
import Foundation
import Kernels

/// ReFT (LoReFT, NoReFT, DiReFT): after a layer, each sequence's first `prefix_positions` and last
/// `suffix_positions` hidden states go through an intervention unit (`ReftKernel`); LoReFT's projection is
/// PyTorch's orthogonal parametrization of its `original` and `base` (`HouseholderOrthogonal`), materialised once
/// per forward pass. AdapterHub applies the Stack's first adapter's ReFT only; so does this (one model, one ReFT).
extension AdapterModel {
    struct ReftUnitSlots {
        let sourceWeight, sourceBias: Arena.Slot
        /// `projection.weight` `[r, C]`: trained, or (orthogonal) derived from `original` and `base`.
        let projection: Arena.Slot
        let original: Arena.Slot?
        let base: Arena.Slot?
    }

    struct ReftSlots {
        let config: ReftConfig
        let units: [ReftUnitSlots]
    }

    /// Declares one layer's units under AdapterHub's names (`….reft_layer.refts.NAME.units.U.…`); LoReFT's `base` is
    /// a buffer (saved, not trained). A unit that no position reaches (the suffix unit with `suffix_positions` 0)
    /// is trained as in AdapterHub: it runs on no row there, so its gradient is zero, and AdamW's decay still acts.
    static func declareReft(
        _ rc: ReftConfig, layerPrefix: String, adapterName name: String, hidden c: Int, into decl: inout SlotDeclarations
    ) -> ReftSlots {
        let bound = 1 / Float(c).squareRoot()
        let units = (0..<rc.units).map { u -> ReftUnitSlots in
            let p = "\(layerPrefix)reft_layer.refts.\(name).units.\(u)."
            func tensor(_ n: String, _ shape: [Int], _ scheme: InitScheme, decay: Bool = true) -> Arena.Slot {
                decl.train(p + n, shape, decay: decay, initialize: scheme)
            }
            let weight = tensor("learned_source.weight", [rc.r, c], .kaimingUniform)
            let bias = tensor("learned_source.bias", [rc.r], .uniform(bound), decay: false)
            if rc.orthogonality {
                let original = tensor("projection.parametrizations.weight.original", [rc.r, c], .negativeIdentity)
                let base = decl.buffer(p + "projection.parametrizations.weight.0.base", [c, c], initialize: .randomOrthogonal)
                return ReftUnitSlots(
                    sourceWeight: weight, sourceBias: bias, projection: decl.derive(p + "projection.weight", [rc.r, c]),
                    original: original, base: base)
            }
            return ReftUnitSlots(
                sourceWeight: weight, sourceBias: bias, projection: tensor("projection.weight", [rc.r, c], .kaimingUniform),
                original: nil, base: nil)
        }
        return ReftSlots(config: rc, units: units)
    }

    var hasReft: Bool { layerAdapters.contains { $0.reft != nil } }

    /// LoReFT: each orthogonal projection from its `original` and `base`, keeping the Householder products.
    func materializeReft() {
        let c = config.hiddenSize
        for layer in layerAdapters {
            guard let reft = layer.reft, reft.config.orthogonality else { continue }
            let r = reft.config.r
            for unit in reft.units {
                guard let original = unit.original, let base = unit.base else { continue }
                let saved = reftSaved[unit.projection.name] ?? ScratchBuffer()
                reftSaved[unit.projection.name] = saved
                HouseholderOrthogonal.forward(
                    projection: values.pointer(unit.projection), original: values.pointer(original), base: values.pointer(base),
                    saved: saved.reserve(r * c * r), rank: r, channels: c)
            }
        }
    }

    /// Each unit's rows of a layer's output in scatter order (later ones win a row both reach), grouped by
    /// sequence: `rows` and `offsets` (`[B + 1]`, where each sequence's rows start).
    func reftRows(_ rc: ReftConfig, packed: PackedBatch, firstOnly: Bool) -> [(rows: [Int], offsets: [Int])] {
        var groups = Array(repeating: (rows: [Int](), offsets: [0]), count: rc.units)
        for b in 0..<(packed.offsets.count - 1) {
            let t = packed.offsets[b + 1] - packed.offsets[b]
            let prefix = 0..<min(rc.prefixPositions, t)
            let suffix = (t - min(rc.suffixPositions, t))..<t
            func row(_ pos: Int) -> Int? { firstOnly ? (pos == 0 ? b : nil) : packed.offsets[b] + pos }
            groups[0].rows += prefix.compactMap(row)
            groups[rc.units - 1].rows += suffix.compactMap(row)
            for u in 0..<rc.units { groups[u].offsets.append(groups[u].rows.count) }
        }
        return groups
    }

    /// Applies layer `l`'s ReFT to its output `out` (`[rows, C]`), keeping each unit's inputs and coefficients.
    func reftForward(
        layer l: Int, out: UnsafeMutablePointer<Float>, packed: PackedBatch, firstOnly: Bool, training: Bool, seed: UInt64,
        activations s: LayerActivations
    ) {
        guard let reft = layerAdapters[l].reft else { return }
        let c = config.hiddenSize
        let r = reft.config.r
        let groups = reftRows(reft.config, packed: packed, firstOnly: firstOnly)
        var outputs: [[Float]] = []
        for (u, unit) in reft.units.enumerated() {
            let rows = groups[u].rows
            let n = rows.count
            let x = s.reft[3 * u].reserve(max(n * c, 1))
            for (k, row) in rows.enumerated() { (x + k * c).update(from: out + row * c, count: c) }
            var y = [Float](repeating: 0, count: n * c)
            y.withUnsafeMutableBufferPointer { yp in
                ReftKernel.forward(
                    y: yp.baseAddress!, x: x, sourceWeight: values.pointer(unit.sourceWeight),
                    sourceBias: values.pointer(unit.sourceBias), projection: values.pointer(unit.projection),
                    z: s.reft[3 * u + 1].reserve(max(n * r, 1)), d: s.reft[3 * u + 2].reserve(max(n * r, 1)), rows: n, channels: c,
                    rank: r, activation: reft.config.nonLinearity, subtractProjection: reft.config.subtractProjection)
                if training && reft.config.dropout > 0 {
                    Dropout.sequences(
                        out: yp.baseAddress!, x: yp.baseAddress!, rowOffsets: groups[u].offsets, keys: packed.dropoutKeys, channels: c,
                        p: Float(reft.config.dropout), seed: reftDropoutSeed(seed, layer: l, unit: u))
                }
            }
            outputs.append(y)
        }
        // Computed from the layer's own output first, then written in order (the suffix unit wins a shared row).
        for (u, y) in outputs.enumerated() {
            for (k, row) in groups[u].rows.enumerated() {
                y.withUnsafeBufferPointer { (out + row * c).update(from: $0.baseAddress! + k * c, count: c) }
            }
        }
    }

    func reftDropoutSeed(_ seed: UInt64, layer l: Int, unit u: Int) -> UInt64 {
        CounterRNG.hash(seed: dropoutSeed(seed, layer: l, site: 15), index: UInt64(u))
    }

    /// Backward of `reftForward` on `dh` (`[rows, C]`, the gradient of the layer's output): the intervened rows'
    /// gradient becomes their inputs'; the units' tensors get theirs.
    func reftBackward(
        layer l: Int, dh: UnsafeMutablePointer<Float>, packed: PackedBatch, firstOnly: Bool, training: Bool, seed: UInt64,
        activations s: LayerActivations
    ) {
        guard let reft = layerAdapters[l].reft else { return }
        let c = config.hiddenSize
        let r = reft.config.r
        let groups = reftRows(reft.config, packed: packed, firstOnly: firstOnly)
        // The unit (and entry) whose output a row finally holds.
        var writer: [Int: (unit: Int, entry: Int)] = [:]
        for (u, g) in groups.enumerated() { for (k, row) in g.rows.enumerated() { writer[row] = (u, k) } }
        var inputGradients: [[Float]] = []
        for (u, unit) in reft.units.enumerated() {
            let rows = groups[u].rows
            let n = rows.count
            var dy = [Float](repeating: 0, count: n * c)
            var dx = [Float](repeating: 0, count: n * c)
            for (k, row) in rows.enumerated() where writer[row].map({ $0 == (u, k) }) ?? false {
                for j in 0..<c { dy[k * c + j] = dh[row * c + j] }
            }
            if n > 0 {
                dy.withUnsafeMutableBufferPointer { dyp in
                    if training && reft.config.dropout > 0 {
                        Dropout.sequences(
                            out: dyp.baseAddress!, x: dyp.baseAddress!, rowOffsets: groups[u].offsets, keys: packed.dropoutKeys,
                            channels: c, p: Float(reft.config.dropout), seed: reftDropoutSeed(seed, layer: l, unit: u))
                    }
                    let dProjection =
                        unit.original != nil
                        ? derivedGradient(unit.projection.name, count: r * c, zero: true) : gradientOf[unit.projection.name]
                    dx.withUnsafeMutableBufferPointer { dxp in
                        ReftKernel.backward(
                            dx: dxp.baseAddress!, dy: dyp.baseAddress!, x: s.reft[3 * u].pointer, z: s.reft[3 * u + 1].pointer,
                            d: s.reft[3 * u + 2].pointer, sourceWeight: values.pointer(unit.sourceWeight),
                            projection: values.pointer(unit.projection), dSourceWeight: gradientOf[unit.sourceWeight.name],
                            dSourceBias: gradientOf[unit.sourceBias.name], dProjection: dProjection, rows: n, channels: c, rank: r,
                            activation: reft.config.nonLinearity, subtractProjection: reft.config.subtractProjection,
                            scratch: reftScratch.reserve(2 * n * r))
                    }
                    if let original = unit.original, let base = unit.base, let dOriginal = gradientOf[original.name],
                        let dProjection, let saved = reftSaved[unit.projection.name]
                    {
                        HouseholderOrthogonal.backward(
                            dOriginal: dOriginal, dProjection: dProjection, original: values.pointer(original),
                            base: values.pointer(base), saved: saved.pointer, rank: r, channels: c)
                    }
                }
            }
            inputGradients.append(dx)
        }
        for row in writer.keys { (dh + row * c).update(repeating: 0, count: c) }
        for (u, dx) in inputGradients.enumerated() {
            for (k, row) in groups[u].rows.enumerated() {
                for j in 0..<c { dh[row * c + j] += dx[k * c + j] }
            }
        }
    }

    /// Makes the `n × n` matrix `a` (row-major) orthogonal, column by column (classical Gram–Schmidt, twice).
    static func orthonormalizeColumns(_ a: UnsafeMutablePointer<Float>, size n: Int) {
        guard n > 0 else { return }
        // Work on the transpose so that columns are contiguous rows.
        var t = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { t[j * n + i] = a[i * n + j] } }
        var coefficients = [Float](repeating: 0, count: n)
        t.withUnsafeMutableBufferPointer { tp in
            let q = tp.baseAddress!
            coefficients.withUnsafeMutableBufferPointer { cp in
                let h = cp.baseAddress!
                for k in 0..<n {
                    let v = q + k * n
                    for _ in 0..<2 where k > 0 {
                        // h = Q_{<k}·v ; v -= Q_{<k}ᵀ·h
                        GEMM.multiply(.none, .none, m: k, n: 1, k: n, a: q, lda: n, b: v, ldb: 1, c: h, ldc: 1)
                        GEMM.multiply(.transpose, .none, m: n, n: 1, k: k, alpha: -1, a: q, lda: n, b: h, ldb: 1, beta: 1, c: v, ldc: 1)
                    }
                    var norm: Float = 0
                    for j in 0..<n { norm += v[j] * v[j] }
                    let scale = 1 / max(norm.squareRoot(), 1e-30)
                    for j in 0..<n { v[j] *= scale }
                }
            }
        }
        for i in 0..<n { for j in 0..<n { a[i * n + j] = t[j * n + i] } }
    }
}
