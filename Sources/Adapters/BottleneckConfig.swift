import Foundation

/// AdapterHub's `BnConfig` (bottleneck adapters), with every field of its `adapter_config.json`.
/// Fields whose non-default values SwiftAdapters does not implement are still read and written, and
/// `validate` rejects those values with an error naming the field, rather than ignoring them.
public struct BottleneckConfig: Codable, Sendable, Equatable {
    public var mhAdapter: Bool
    public var outputAdapter: Bool
    public var reductionFactor: Double
    public var nonLinearity: AdapterActivation
    public var originalLnBefore: Bool = false
    public var originalLnAfter: Bool = true
    public var lnBefore: Bool = false
    public var lnAfter: Bool = false
    public var initWeights: String = "bert"
    public var initWeightsSeed: Int? = nil
    public var isParallel: Bool = false
    public var scaling: BottleneckScaling = .fixed(1)
    public var useGating: Bool = false
    /// `true`, `false` or `"post_add"` in AdapterHub; only `true` is implemented.
    public var residualBeforeLn: JSONScalar = .bool(true)
    public var adapterResidualBeforeLn: Bool = false
    public var invAdapter: String? = nil
    public var invAdapterReductionFactor: Double? = nil
    public var crossAdapter: Bool = false
    public var leaveOut: [Int] = []
    public var dropout: Double = 0
    public var phmLayer: Bool = false
    public var phmDim: Int = 4
    public var factorizedPhmW: Bool = true
    public var sharedWPhm: Bool = false
    public var sharedPhmRule: Bool = true
    public var factorizedPhmRule: Bool = false
    public var phmCInit: String = "normal"
    public var phmInitRange: Double = 0.0001
    public var learnPhm: Bool = true
    public var hypercomplexNonlinearity: String = "glorot-uniform"
    public var phmRank: Int = 1
    public var phmBias: Bool = true
    public var stochasticDepth: Double = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mhAdapter = "mh_adapter", outputAdapter = "output_adapter", reductionFactor = "reduction_factor"
        case nonLinearity = "non_linearity", originalLnBefore = "original_ln_before", originalLnAfter = "original_ln_after"
        case lnBefore = "ln_before", lnAfter = "ln_after", initWeights = "init_weights", initWeightsSeed = "init_weights_seed"
        case isParallel = "is_parallel", scaling, useGating = "use_gating", residualBeforeLn = "residual_before_ln"
        case adapterResidualBeforeLn = "adapter_residual_before_ln", invAdapter = "inv_adapter"
        case invAdapterReductionFactor = "inv_adapter_reduction_factor", crossAdapter = "cross_adapter", leaveOut = "leave_out"
        case dropout, phmLayer = "phm_layer", phmDim = "phm_dim", factorizedPhmW = "factorized_phm_W"
        case sharedWPhm = "shared_W_phm", sharedPhmRule = "shared_phm_rule", factorizedPhmRule = "factorized_phm_rule"
        case phmCInit = "phm_c_init", phmInitRange = "phm_init_range", learnPhm = "learn_phm"
        case hypercomplexNonlinearity = "hypercomplex_nonlinearity", phmRank = "phm_rank", phmBias = "phm_bias"
        case stochasticDepth = "stochastic_depth"
    }

    public init(mhAdapter: Bool, outputAdapter: Bool, reductionFactor: Double, nonLinearity: AdapterActivation) {
        self.mhAdapter = mhAdapter
        self.outputAdapter = outputAdapter
        self.reductionFactor = reductionFactor
        self.nonLinearity = nonLinearity
    }

    /// AdapterHub's `SeqBnConfig` ("seq_bn", legacy "pfeiffer"): after the FFN, rf 16, ReLU.
    public static var seqBn: BottleneckConfig {
        var c = BottleneckConfig(mhAdapter: false, outputAdapter: true, reductionFactor: 16, nonLinearity: .relu)
        c.originalLnBefore = true
        return c
    }

    /// AdapterHub's `DoubleSeqBnConfig` ("double_seq_bn", legacy "houlsby"): after attention and FFN, SiLU.
    public static var doubleSeqBn: BottleneckConfig {
        BottleneckConfig(mhAdapter: true, outputAdapter: true, reductionFactor: 16, nonLinearity: .swish)
    }

    /// AdapterHub's `ParBnConfig` ("par_bn", legacy "parallel"): a bottleneck beside the FFN reading the
    /// sub-block's input (He et al. 2021), rf 2, ReLU, scaling 4, `mam_adapter` init.
    public static var parBn: BottleneckConfig {
        var c = BottleneckConfig(mhAdapter: false, outputAdapter: true, reductionFactor: 2, nonLinearity: .relu)
        c.initWeights = "mam_adapter"
        c.isParallel = true
        c.scaling = .fixed(4)
        return c
    }

    /// AdapterHub's `AdapterPlusConfig` ("adapterplus", Steitz & Roth 2024): after the FFN, the adapter reads the
    /// sub-block's LayerNorm output and adds to it, with no LayerNorm after (`original_ln_after` and
    /// `residual_before_ln` false): `out = a + s ⊙ f(a)`, `a = LN(h + r)`; per-channel scaling, Houlsby init,
    /// stochastic depth 0.1, rf 96, GELU.
    public static var adapterPlus: BottleneckConfig {
        var c = BottleneckConfig(mhAdapter: false, outputAdapter: true, reductionFactor: 96, nonLinearity: .gelu)
        c.originalLnBefore = true
        c.originalLnAfter = false
        c.residualBeforeLn = .bool(false)
        c.stochasticDepth = 0.1
        c.initWeights = "houlsby"
        c.scaling = .channel
        return c
    }

    /// AdapterPlus's placement: the output is the LayerNorm's output plus the adapter's, with no LayerNorm after.
    public var normFreeOutput: Bool { !originalLnAfter }

    /// "scaled_par_bn" (legacy "scaled_parallel"): `par_bn` with a learned scalar scaling.
    public static var scaledParBn: BottleneckConfig {
        var c = parBn
        c.scaling = .learned
        return c
    }

    /// AdapterHub's `CompacterConfig` ("compacter"): `double_seq_bn` with PHM projections (Kronecker
    /// products with a `phm_rule` shared by every layer), rf 32, GELU.
    public static var compacter: BottleneckConfig { doubleSeqBn.withPHM }

    /// AdapterHub's `CompacterPlusPlusConfig` ("compacter++"): the same on `seq_bn`.
    public static var compacterPlusPlus: BottleneckConfig { seqBn.withPHM }

    /// AdapterHub's `SeqBnInvConfig` ("seq_bn_inv", legacy "pfeiffer+inv"): `seq_bn` with a NICE invertible
    /// adapter after the embeddings (MAD-X language adapters), its subnets at reduction factor 2.
    public static var seqBnInv: BottleneckConfig { seqBn.withInvertibleAdapter }

    /// AdapterHub's `DoubleSeqBnInvConfig` ("double_seq_bn_inv", legacy "houlsby+inv").
    public static var doubleSeqBnInv: BottleneckConfig { doubleSeqBn.withInvertibleAdapter }

    /// The Compacter variant of a bottleneck preset: PHM layers, rf 32, GELU.
    var withPHM: BottleneckConfig {
        var c = self
        c.phmLayer = true
        c.reductionFactor = 32
        c.nonLinearity = .gelu
        return c
    }

    /// The MAD-X variant of a bottleneck preset: a NICE invertible adapter, its subnets at rf 2.
    var withInvertibleAdapter: BottleneckConfig {
        var c = self
        c.invAdapter = "nice"
        c.invAdapterReductionFactor = 2
        return c
    }

    /// Initialisations implemented for `init_weights`.
    public static let initSchemes = ["bert", "mam_adapter", "houlsby"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mhAdapter = try c.decode(Bool.self, forKey: .mhAdapter)
        outputAdapter = try c.decode(Bool.self, forKey: .outputAdapter)
        do {
            reductionFactor = try c.decode(Double.self, forKey: .reductionFactor)
        } catch let error as DecodingError {
            guard (try? c.decode([String: Double].self, forKey: .reductionFactor)) != nil else { throw error }
            throw DecodingError.dataCorruptedError(
                forKey: .reductionFactor, in: c, debugDescription: "per-layer reduction factors (a mapping) are not supported")
        }
        nonLinearity = try c.decode(AdapterActivation.self, forKey: .nonLinearity)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        originalLnBefore = try get(.originalLnBefore, false)
        originalLnAfter = try get(.originalLnAfter, true)
        lnBefore = try get(.lnBefore, false)
        lnAfter = try get(.lnAfter, false)
        initWeights = try get(.initWeights, "bert")
        initWeightsSeed = try c.decodeIfPresent(Int.self, forKey: .initWeightsSeed)
        isParallel = try get(.isParallel, false)
        scaling = try get(.scaling, .fixed(1))
        useGating = try get(.useGating, false)
        residualBeforeLn = try get(.residualBeforeLn, .bool(true))
        adapterResidualBeforeLn = try get(.adapterResidualBeforeLn, false)
        invAdapter = try c.decodeIfPresent(String.self, forKey: .invAdapter)
        invAdapterReductionFactor = try c.decodeIfPresent(Double.self, forKey: .invAdapterReductionFactor)
        crossAdapter = try get(.crossAdapter, false)
        leaveOut = try get(.leaveOut, [])
        dropout = try get(.dropout, 0)
        phmLayer = try get(.phmLayer, false)
        phmDim = try get(.phmDim, 4)
        factorizedPhmW = try get(.factorizedPhmW, true)
        sharedWPhm = try get(.sharedWPhm, false)
        sharedPhmRule = try get(.sharedPhmRule, true)
        factorizedPhmRule = try get(.factorizedPhmRule, false)
        phmCInit = try get(.phmCInit, "normal")
        phmInitRange = try get(.phmInitRange, 0.0001)
        learnPhm = try get(.learnPhm, true)
        hypercomplexNonlinearity = try get(.hypercomplexNonlinearity, "glorot-uniform")
        phmRank = try get(.phmRank, 1)
        phmBias = try get(.phmBias, true)
        stochasticDepth = try get(.stochasticDepth, 0)
    }

    /// Rejects values whose behaviour is not implemented, naming the field.
    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if lnBefore { throw no(.lnBefore, "true") }
        if lnAfter { throw no(.lnAfter, "true") }
        if !originalLnAfter {
            // AdapterPlus's placement, after the FFN only: out = a + s·f(a), a = LN(h + r).
            guard originalLnBefore, residualBeforeLn == .bool(false), !isParallel, !mhAdapter else {
                throw no(
                    .originalLnAfter,
                    "false except as AdapterPlus places it (original_ln_before true, residual_before_ln false, output_adapter only)")
            }
        } else if residualBeforeLn != .bool(true) {
            throw no(.residualBeforeLn, residualBeforeLn.description)
        }
        if let invAdapter {
            // GLOW's coupling is not implemented; NICE is.
            if invAdapter != "nice" { throw no(.invAdapter, "\"\(invAdapter)\"") }
            guard let rf = invAdapterReductionFactor, rf > 0, rf.isFinite else {
                throw AdapterError.invalidConfig(
                    source: source, detail: "inv_adapter_reduction_factor must be a positive number with inv_adapter \"nice\"")
            }
        }
        if crossAdapter { throw no(.crossAdapter, "true") }
        if phmLayer {
            if sharedWPhm { throw no(.sharedWPhm, "true") }
            if factorizedPhmRule { throw no(.factorizedPhmRule, "true") }
            if !learnPhm { throw no(.learnPhm, "false") }
            if !["normal", "uniform"].contains(phmCInit) { throw no(.phmCInit, "\"\(phmCInit)\"") }
            if phmDim < 1 || phmDim > 64 {
                throw AdapterError.invalidConfig(source: source, detail: "phm_dim \(phmDim) (must be in 1…64)")
            }
            if phmRank < 1 || phmRank > 1 << 12 {
                throw AdapterError.invalidConfig(source: source, detail: "phm_rank \(phmRank) (must be in 1…4096)")
            }
        }
        if !(stochasticDepth >= 0 && stochasticDepth < 1) {
            throw AdapterError.invalidConfig(source: source, detail: "stochastic_depth \(stochasticDepth) (must be in [0, 1))")
        }
        if !Self.initSchemes.contains(initWeights) { throw no(.initWeights, "\"\(initWeights)\"") }
        if isParallel && mhAdapter {
            // AdapterHub's own parallel presets sit at the FFN only; the attention site is not implemented.
            throw no(.isParallel, "true together with mh_adapter: true")
        }
        if case .fixed(let f) = scaling, !f.isFinite {
            throw AdapterError.invalidConfig(source: source, detail: "scaling \(f) is not a finite number")
        }
        // The bottleneck is hidden / reduction_factor wide: a tiny or non-finite factor would size it past
        // any memory (AdapterHub's own configs use 2…64; 1/16 already means a 16× wider layer).
        if !(reductionFactor >= 1.0 / 16 && reductionFactor.isFinite) {
            throw AdapterError.invalidConfig(
                source: source, detail: "reduction_factor \(reductionFactor) (must be a number of at least 1/16)")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw AdapterError.invalidConfig(source: source, detail: "dropout \(dropout) (must be in [0, 1))")
        }
        if mhAdapter && originalLnBefore && !isParallel {
            // The attention-site pre-LayerNorm path is not implemented; refusing beats a wrong result.
            throw no(.originalLnBefore, "true together with mh_adapter: true")
        }
        if !mhAdapter && !outputAdapter {
            throw AdapterError.invalidConfig(source: source, detail: "neither mh_adapter nor output_adapter is set")
        }
    }

    /// Bottleneck width for a hidden size: `int(hidden // reduction_factor)`, at least 1.
    public func bottleneckSize(hiddenSize: Int) -> Int {
        max(1, Int((Double(hiddenSize) / reductionFactor).rounded(.down)))
    }
}
