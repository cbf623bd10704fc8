import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO

/// How `averageAdapter` combines the adapters' tensors (AdapterHub's `combine_strategy`).
public enum AdapterCombineStrategy: String, Sendable, CaseIterable {
    /// Every tensor is the weighted sum of the inputs' tensors.
    case linear
    /// LoRA only: `B` as in `linear`, `A` with the weights' absolute values (Zhang et al. 2023), so a negative
    /// weight subtracts an adapter's update instead of cancelling in the product.
    case loraLinearOnlyNegateB = "lora_linear_only_negate_b"
    /// LoRA only: each location's updates `B·A` summed with the weights, then cut to rank `svdRank` by a singular
    /// value decomposition (`A = Vᵀ`, `B = U·diag(S)`); the new adapter has `r = svdRank` and the inputs' alpha.
    case loraDeltaWSVD = "lora_delta_w_svd"
}

extension ModelWithAdapters {
    // MARK: - Parallel and BatchSplit

    /// AdapterHub's `Parallel(a, b, …)`: every setup (one adapter, a Stack, or any setup `setActiveAdapters` takes) on
    /// the same input, each with the head it activates (named like its last adapter, or its fusion's). Returns each
    /// head's name and logits (`[B, labels]`, or `[M, labels]` over the attended tokens for a tagging head), in order.
    /// The frozen base runs once over the replicated batch; the result equals running each setup alone — which
    /// adapters 1.3.0 does not do for a Stack branch (its block and the Stack each apply the first adapter's
    /// `pre_forward`, so the branch reads LN(LN(h + r) + r); tools/make_nested_composition_fixtures.py shows it).
    public func parallelLogits(_ setups: [AdapterSetup], _ batch: TokenBatch) throws -> [(
        head: String, logits: [Float]
    )] {
        guard setups.count >= 2 else {
            throw AdapterError.invalidSetup("Parallel needs at least 2 setups, got \(setups.count)")
        }
        let replicated = try TokenBatch(
            batchSize: batch.batchSize * setups.count, sequenceLength: batch.sequenceLength,
            inputIds: Array(repeatElement(batch.inputIds, count: setups.count).joined()),
            attentionMask: Array(repeatElement(batch.attentionMask, count: setups.count).joined()),
            tokenTypeIds: batch.tokenTypeIds.map { Array(repeatElement($0, count: setups.count).joined()) })
        let b = batch.batchSize
        return try branchLogits(
            setups, replicated, rows: setups.indices.map { ($0 * b)..<(($0 + 1) * b) }, block: "Parallel")
    }

    /// AdapterHub's `BatchSplit(a, b, …, batch_sizes=[…])`: the batch's first `sizes[0]` sequences through the
    /// first setup and its head, the next `sizes[1]` through the second, and so on. Returns each head's name
    /// and the logits of its sequences.
    public func batchSplitLogits(_ setups: [AdapterSetup], sizes: [Int], _ batch: TokenBatch) throws
        -> [(head: String, logits: [Float])]
    {
        guard setups.count == sizes.count, !setups.isEmpty else {
            throw AdapterError.invalidSetup("BatchSplit has \(setups.count) setups and \(sizes.count) batch sizes")
        }
        guard sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == batch.batchSize else {
            throw AdapterError.invalidSetup(
                "BatchSplit's batch sizes \(sizes) must be positive and add up to the batch's \(batch.batchSize) sequences"
            )
        }
        var rows: [Range<Int>] = []
        var start = 0
        for n in sizes {
            rows.append(start..<(start + n))
            start += n
        }
        return try branchLogits(setups, batch, rows: rows, block: "BatchSplit")
    }

    /// Runs `setups[i]` with its head on `rows[i]` of `batch` through one shared base pass.
    private func branchLogits(_ setups: [AdapterSetup], _ batch: TokenBatch, rows: [Range<Int>], block: String) throws
        -> [(head: String, logits: [Float])]
    {
        syncFromEngine()
        var models: [AdapterModel] = []
        var headNames: [String] = []
        for setup in setups {
            guard let last = setup.last else { throw AdapterError.invalidSetup("\(block): an empty setup") }
            try checkLoaded(setup)
            guard let head = headName(for: setup) else {
                throw AdapterError.invalidSetup(
                    "\(block): no head named '\(last)' for the setup \(setup) (each branch uses the head named like its last adapter, or its fusion's)"
                )
            }
            models.append(try buildModel(for: Self.engineKey(setup, head: head), trainable: false))
            headNames.append(head)
        }
        let logits = try models[0].mixedLogits(batch, parts: zip(models, rows).map { ($0, $1) })
        return Array(zip(headNames, logits)).map { (head: $0.0, logits: $0.1) }
    }

    // MARK: - Averaging weights

    /// AdapterHub's `average_adapter(name, adapters, weights, combine_strategy, normalize_weights, svd_rank)`: a new
    /// adapter whose tensors are the weighted sum of the given adapters' (which must share one configuration, dropout
    /// and `init_weights` aside). Weights default to equal ones; `normalize` divides them by their sum. With
    /// `.loraDeltaWSVD` each location's weighted `B·A` is cut to rank `svdRank` (required) instead.
    public func averageAdapter(
        _ name: String, from sources: [String], weights: [Float]? = nil, normalize: Bool = true,
        combine: AdapterCombineStrategy = .linear, svdRank: Int? = nil, overwrite: Bool = false,
        setActive: Bool = false
    ) throws {
        try checkName(name)
        let w = try averagingWeights(sources, weights, normalize: normalize)
        if adapters[name] != nil && !overwrite { throw AdapterError.alreadyExists(name) }
        syncFromEngine()
        var config: AdapterConfig?
        for source in sources {
            guard let stored = adapters[source] else { throw AdapterError.unknownAdapter(source) }
            if let config, Self.averagingKey(config) != Self.averagingKey(stored.config) {
                throw AdapterError.invalidSetup(
                    "cannot average adapters with different configurations: '\(sources[0])' is \(config.methodName), '\(source)' is \(stored.config.methodName) (or their settings differ)"
                )
            }
            config = config ?? stored.config
        }
        guard var config else { throw AdapterError.invalidSetup("averageAdapter needs at least one adapter") }
        if combine == .loraDeltaWSVD {
            guard case .lora(var lora) = config, !lora.isVera, !lora.useDora, !lora.scales, !lora.useGating else {
                throw AdapterError.invalidSetup(
                    "combine strategy lora_delta_w_svd applies to plain LoRA adapters only (not \(config.methodName))")
            }
            guard let svdRank, svdRank >= 1 else {
                throw AdapterError.invalidSetup("combine strategy lora_delta_w_svd needs an svd rank of at least 1")
            }
            let sum = try deltaWSVD(sources, weights: w, rank: lora.r, svdRank: svdRank, renamedTo: name)
            lora.r = svdRank
            config = .lora(lora)
            if adapters[name] != nil { try deleteAdapter(name) }
            adapters[name] = StoredAdapter(config: config, tensors: sum)
            adapterNames.append(name)
            if setActive { try setActiveAdapters(AdapterSetup([name])) }
            return
        }
        if combine == .loraLinearOnlyNegateB {
            guard
                config.members.allSatisfy({
                    if case .lora(let l) = $0 { return !l.isVera && !l.useDora } else { return false }
                })
            else {
                throw AdapterError.invalidSetup(
                    "combine strategy \(combine.rawValue) applies to LoRA and (IA)³ adapters only (not VeRA or DoRA)")
            }
        }
        var sum: [String: [Float]] = [:]
        for (source, weight) in zip(sources, w) {
            for (tensor, values) in adapters[source]?.tensors ?? [:] {
                let renamed = AdapterHubNames.renaming(tensor, from: source, to: name)
                let factor = combine == .loraLinearOnlyNegateB && tensor.hasSuffix("lora_A") ? abs(weight) : weight
                var acc = sum[renamed] ?? [Float](repeating: 0, count: values.count)
                guard acc.count == values.count else {
                    throw AdapterError.invalidSetup("tensor '\(renamed)' has different sizes in the adapters averaged")
                }
                for i in values.indices { acc[i] += factor * values[i] }
                sum[renamed] = acc
            }
        }
        if adapters[name] != nil { try deleteAdapter(name) }
        adapters[name] = StoredAdapter(config: config, tensors: sum)
        adapterNames.append(name)
        if setActive { try setActiveAdapters(AdapterSetup([name])) }
    }

    /// `lora_delta_w_svd`'s tensors: per location `Σ wᵢ·Bᵢ·Aᵢ` `[out, in]`, its SVD cut to `svdRank` components,
    /// `lora_A = Vᵀ` `[svdRank, in]` and `lora_B = U·diag(S)` `[out, svdRank]` (signs of singular vectors as LAPACK's).
    private func deltaWSVD(_ sources: [String], weights: [Float], rank r: Int, svdRank: Int, renamedTo name: String) throws
        -> [String: [Float]]
    {
        var delta: [String: (values: [Float], out: Int, in: Int)] = [:]
        for (source, weight) in zip(sources, weights) {
            let tensors = adapters[source]?.tensors ?? [:]
            for (tensor, a) in tensors where tensor.hasSuffix("lora_A") {
                let bName = String(tensor.dropLast("lora_A".count)) + "lora_B"
                guard let b = tensors[bName], a.count % r == 0, b.count % r == 0 else {
                    throw AdapterError.invalidSetup("'\(source)': \(tensor) has no matching lora_B of rank \(r)")
                }
                let (fanIn, fanOut) = (a.count / r, b.count / r)
                let key = AdapterHubNames.renaming(String(tensor.dropLast("lora_A".count)), from: source, to: name)
                var acc = delta[key]?.values ?? [Float](repeating: 0, count: fanOut * fanIn)
                // acc += w · B [out, r] · A [r, in]
                GEMM.serial(
                    .none, .none, m: fanOut, n: fanIn, k: r, alpha: weight, a: b, lda: r, b: a, ldb: fanIn, beta: 1,
                    c: &acc, ldc: fanIn)
                delta[key] = (acc, fanOut, fanIn)
            }
        }
        var out: [String: [Float]] = [:]
        for (key, d) in delta {
            guard svdRank <= min(d.out, d.in) else {
                throw AdapterError.invalidSetup("svd rank \(svdRank) exceeds \(key)'s \(d.out)×\(d.in) update")
            }
            guard let (u, s, vt) = SVD.thin(d.values, rows: d.out, cols: d.in) else {
                throw AdapterError.invalidSetup("the SVD of \(key)'s update did not converge")
            }
            let k = min(d.out, d.in)
            out[key + "lora_A"] = Array(vt[0..<(svdRank * d.in)])
            var bNew = [Float](repeating: 0, count: d.out * svdRank)
            for o in 0..<d.out { for j in 0..<svdRank { bNew[o * svdRank + j] = u[o * k + j] * s[j] } }
            out[key + "lora_B"] = bNew
        }
        return out
    }

    /// AdapterHub's `average_head(name, heads, weights, normalize_weights)`: a new head whose tensors are the
    /// weighted sum of the given heads' (same type, layers, activation and labels).
    public func averageHead(
        _ name: String, from sources: [String], weights: [Float]? = nil, normalize: Bool = true,
        overwrite: Bool = false,
        setActive: Bool = false
    ) throws {
        try checkName(name)
        let w = try averagingWeights(sources, weights, normalize: normalize)
        if heads[name] != nil && !overwrite { throw AdapterError.headAlreadyExists(name) }
        syncFromEngine()
        guard let first = sources.first.flatMap({ heads[$0] }) else {
            throw AdapterError.unknownHead(sources.first ?? "")
        }
        var sum: [String: [Float]] = [:]
        for (source, weight) in zip(sources, w) {
            guard let stored = heads[source] else { throw AdapterError.unknownHead(source) }
            guard stored.spec.config == first.spec.config, stored.spec.labels == first.spec.labels else {
                throw AdapterError.invalidSetup(
                    "cannot average heads with different configurations: '\(sources[0])' is \(first.spec.describe), '\(source)' is \(stored.spec.describe)"
                )
            }
            for (tensor, values) in stored.tensors {
                let renamed = "heads.\(name)." + tensor.dropFirst("heads.\(source).".count)
                var acc = sum[renamed] ?? [Float](repeating: 0, count: values.count)
                for i in values.indices { acc[i] += weight * values[i] }
                sum[renamed] = acc
            }
        }
        if heads[name] != nil { try deleteHead(name) }
        var spec = first.spec
        spec.name = name
        heads[name] = StoredHead(spec: spec, tensors: sum)
        headNames.append(name)
        if setActive { try setActiveHead(name) }
    }

    /// The weights AdapterHub uses: equal ones by default, else the given ones divided by their sum when `normalize`.
    private func averagingWeights(_ sources: [String], _ weights: [Float]?, normalize: Bool) throws -> [Float] {
        guard !sources.isEmpty else { throw AdapterError.invalidSetup("nothing to average") }
        guard let weights else { return [Float](repeating: 1 / Float(sources.count), count: sources.count) }
        guard weights.count == sources.count, weights.allSatisfy(\.isFinite) else {
            throw AdapterError.invalidSetup(
                "\(weights.count) weights for \(sources.count) adapters (finite numbers, one each)")
        }
        let total = normalize ? weights.reduce(0, +) : 1
        guard total != 0 else {
            throw AdapterError.invalidSetup("the weights \(weights) add up to 0: they cannot be normalised")
        }
        return weights.map { $0 / total }
    }

    /// A configuration as `average_adapter` compares them: AdapterHub's config dictionary without `dropout` and
    /// `init_weights`.
    static func averagingKey(_ config: AdapterConfig) -> String {
        func strip(_ v: PythonJSON) -> PythonJSON {
            switch v {
            case .object(let o):
                var copy: [String: PythonJSON] = [:]
                for (k, x) in o where k != "dropout" && k != "init_weights" { copy[k] = strip(x) }
                return .object(copy)
            case .array(let a): return .array(a.map(strip))
            default: return v
            }
        }
        return strip(AdapterHubFolder.configDictionary(config)).serialized()
    }
}
