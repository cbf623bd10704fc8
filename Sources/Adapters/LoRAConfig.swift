import Foundation

/// AdapterHub's `LoRAConfig`. Only attention LoRA on query/key/value is implemented.
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

    enum CodingKeys: String, CodingKey {
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

    /// `alpha / r`, the factor on `B·A` (AdapterHub `LoRA.scaling`).
    public var scaling: Float { Float(alpha) / Float(r) }

    /// Far above any useful rank (LoRA ranks are 4…256): a larger r is a damaged file, refused before
    /// it sizes the `[r, hidden]` matrices.
    public static let maxRank = 1 << 16

    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if architecture != "lora" { throw no(.architecture, "\"\(architecture)\"") }
        if intermediateLora { throw no(.intermediateLora, "true") }
        if outputLora { throw no(.outputLora, "true") }
        if compositionMode != "add" { throw no(.compositionMode, "\"\(compositionMode)\"") }
        if initWeights != "lora" { throw no(.initWeights, "\"\(initWeights)\"") }
        if useGating { throw no(.useGating, "true") }
        if useDora { throw no(.useDora, "true") }
        if veraD != nil || veraB != nil { throw no(.veraD, "set") }
        if dropout != 0 { throw no(.dropout, "\(dropout)") }
        if !selfattnLora { throw no(.selfattnLora, "false") }
        if r < 1 || r > Self.maxRank {
            throw AdapterError.invalidConfig(source: source, detail: "r \(r) (must be in 1…\(Self.maxRank))")
        }
        for m in attnMatrices where !["q", "k", "v"].contains(m) {
            throw AdapterError.invalidConfig(source: source, detail: "attn_matrices entry '\(m)' is not q, k or v")
        }
    }
}
