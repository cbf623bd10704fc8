import Foundation

/// AdapterHub's `LoRAConfig`, which also describes (IA)³ (`composition_mode` "scale"). LoRA adds
/// `s·B·A·x` to a frozen linear layer's output; (IA)³ multiplies the output by a learned vector. Both on
/// query/key/value (`attn_matrices`), the FFN's intermediate dense (`intermediate_lora`) and its output
/// dense (`output_lora`).
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var architecture = "lora"
    public var selfattnLora = true
    public var intermediateLora = false
    public var outputLora = false
    public var leaveOut: [Int] = []
    public var r = 8
    public var alpha = 8
    public var dropout: Double = 0
    public var attnMatrices = ["q", "v"]
    public var compositionMode = "add"
    public var initWeights = "lora"
    public var initWeightsSeed: Int? = nil
    public var useGating = false
    public var useDora = false
    public var veraD: Double? = nil
    public var veraB: Double? = nil
    public var dtype: String? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, selfattnLora = "selfattn_lora", intermediateLora = "intermediate_lora", outputLora = "output_lora"
        case leaveOut = "leave_out", r, alpha, dropout, attnMatrices = "attn_matrices", compositionMode = "composition_mode"
        case initWeights = "init_weights", initWeightsSeed = "init_weights_seed", useGating = "use_gating"
        case useDora = "use_dora", veraD = "vera_d", veraB = "vera_b"
        case dtype
    }

    public init(r: Int = 8, alpha: Int = 8, attnMatrices: [String] = ["q", "v"]) {
        self.r = r
        self.alpha = alpha
        self.attnMatrices = attnMatrices
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        architecture = try get(.architecture, "lora")
        selfattnLora = try get(.selfattnLora, true)
        intermediateLora = try get(.intermediateLora, false)
        outputLora = try get(.outputLora, false)
        leaveOut = try get(.leaveOut, [])
        r = try get(.r, 8)
        alpha = try get(.alpha, 8)
        dropout = try get(.dropout, 0)
        attnMatrices = try get(.attnMatrices, ["q", "v"])
        compositionMode = try get(.compositionMode, "add")
        initWeights = try get(.initWeights, "lora")
        initWeightsSeed = try c.decodeIfPresent(Int.self, forKey: .initWeightsSeed)
        useGating = try get(.useGating, false)
        useDora = try get(.useDora, false)
        veraD = try c.decodeIfPresent(Double.self, forKey: .veraD)
        veraB = try c.decodeIfPresent(Double.self, forKey: .veraB)
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype)
    }

    /// AdapterHub's `IA3Config` ("ia3"): learned output scales on key, value and the intermediate dense,
    /// initialised to one.
    public static var ia3: LoRAConfig {
        var c = LoRAConfig(r: 1, alpha: 1, attnMatrices: ["k", "v"])
        c.intermediateLora = true
        c.compositionMode = "scale"
        c.initWeights = "ia3"
        return c
    }

    /// AdapterHub's `DoRAConfig` ("dora"): LoRA (r 8, alpha 8, q and v) with a learned magnitude per output
    /// feature (Liu et al. 2024).
    public static var dora: LoRAConfig {
        var c = LoRAConfig()
        c.useDora = true
        return c
    }

    /// AdapterHub's `VeraConfig` ("vera", Kopiczko et al. 2024): LoRA whose A and B are frozen random matrices
    /// shared by every layer, with trained `vera_D` `[r, r]` (starting at 0.1·I) and `vera_B` `[out, out]`
    /// (starting at 0): `y += s · x·(vera_B·B·vera_D·A)ᵀ`.
    public static var vera: LoRAConfig {
        var c = LoRAConfig()
        c.veraD = 0.1
        c.veraB = 0
        c.initWeights = "vera"
        return c
    }

    /// AdapterHub's `DVoRAConfig` ("dvora"): DoRA on VeRA.
    public static var dvora: LoRAConfig {
        var c = vera
        c.useDora = true
        return c
    }

    /// VeRA (`vera_d` or `vera_b` set, as AdapterHub picks its `Vera` module).
    public var isVera: Bool { veraD != nil || veraB != nil }

    /// Whether this is (IA)³'s multiplicative composition rather than LoRA's additive one.
    public var scales: Bool { compositionMode == "scale" }

    /// The factor on `B·A` for LoRA, `alpha / r` (AdapterHub `LoRA.scaling`); on the scale vector for
    /// (IA)³, `alpha` (AdapterHub `IA3.scaling`).
    public var scaling: Float { scales ? Float(alpha) : Float(alpha) / Float(r) }

    /// Initialisations implemented for `init_weights`.
    public static let initSchemes = ["lora", "bert", "ia3", "vera"]

    /// Far above any useful rank (LoRA ranks are 4…256): a larger r is a damaged file, refused before
    /// it sizes the `[r, hidden]` matrices.
    public static let maxRank = 1 << 16

    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if architecture != "lora" { throw no(.architecture, "\"\(architecture)\"") }
        if !["add", "scale"].contains(compositionMode) { throw no(.compositionMode, "\"\(compositionMode)\"") }
        if !Self.initSchemes.contains(initWeights) { throw no(.initWeights, "\"\(initWeights)\"") }
        if useGating && scales { throw no(.useGating, "true with composition_mode \"scale\"") }
        if useGating && useDora { throw no(.useGating, "true with use_dora") }
        if useDora && scales { throw no(.useDora, "true with composition_mode \"scale\"") }
        if isVera {
            guard veraD != nil, veraB != nil else {
                throw AdapterError.invalidConfig(source: source, detail: "VeRA needs both vera_d and vera_b (AdapterHub builds diag(vera_d) and diag(vera_b))")
            }
            if scales { throw no(.veraD, "set with composition_mode \"scale\"") }
            if useGating { throw no(.useGating, "true with VeRA") }
            // One A and one B serve every site: AdapterHub sizes them by the first site, so only sites of one shape
            // (the square attention projections) work there.
            if intermediateLora || outputLora { throw no(intermediateLora ? .intermediateLora : .outputLora, "true with VeRA") }
        }
        if !(dropout >= 0 && dropout < 1) {
            throw AdapterError.invalidConfig(source: source, detail: "dropout \(dropout) (must be in [0, 1))")
        }
        if dropout != 0 && scales { throw no(.dropout, "\(dropout) with composition_mode \"scale\"") }
        if let dtype, dtype != "float32" { throw no(.dtype, "\"\(dtype)\"") }
        if scales && r != 1 {
            // AdapterHub: "Can only use composition_mode='scale' when r == 1."
            throw AdapterError.invalidConfig(source: source, detail: "composition_mode \"scale\" needs r 1, got \(r)")
        }
        if !(selfattnLora && !attnMatrices.isEmpty) && !intermediateLora && !outputLora {
            throw AdapterError.invalidConfig(
                source: source, detail: "no location: selfattn_lora with attn_matrices, intermediate_lora or output_lora")
        }
        if r < 1 || r > Self.maxRank {
            throw AdapterError.invalidConfig(source: source, detail: "r \(r) (must be in 1…\(Self.maxRank))")
        }
        for m in attnMatrices where !["q", "k", "v"].contains(m) {
            throw AdapterError.invalidConfig(source: source, detail: "attn_matrices entry '\(m)' is not q, k or v")
        }
    }
}
