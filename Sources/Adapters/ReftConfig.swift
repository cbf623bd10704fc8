import Foundation

/// AdapterHub's `ReftConfig` (Wu et al. 2024, "loreft", "noreft", "direft"): after each chosen layer, the hidden
/// states of each sequence's first `prefix_positions` and last `suffix_positions` tokens are replaced by
/// `h + (act(W·h + b) − R·h)·R` (`R` `[r, C]`; DiReFT drops the `− R·h`), with `R` orthogonal (`orthogonality`,
/// PyTorch's Householder parametrization) for LoReFT. Prefix and suffix positions have their own unit unless
/// `tied_weights`. Dropout acts on the whole intervened state (training).
public struct ReftConfig: Codable, Sendable, Equatable {
    /// `"all"` or the layer indices.
    public enum Layers: Codable, Sendable, Equatable {
        case all
        case some([Int])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let word = try? c.decode(String.self) {
                guard word == "all" else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "layers '\(word)' (expected \"all\" or a list of layer indices)")
                }
                self = .all
            } else {
                self = .some(try c.decode([Int].self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .all: try c.encode("all")
            case .some(let list): try c.encode(list)
            }
        }

        public func contains(_ layer: Int) -> Bool {
            if case .some(let list) = self { return list.contains(layer) }
            return true
        }
    }

    public var architecture = "reft"
    public var layers: Layers = .all
    public var prefixPositions = 3
    public var suffixPositions = 0
    public var r = 1
    public var orthogonality = true
    public var tiedWeights = false
    /// Not a dataclass field in adapters 1.3 (a class attribute: DiReFT's False is lost when Python saves it);
    /// written only when false, which Python's loader honours.
    public var subtractProjection = true
    public var dropout = 0.05
    /// nil: the identity.
    public var nonLinearity: AdapterActivation? = nil
    public var dtype: String? = nil
    public var outputReft = true
    public var initWeightsSeed: Int? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, layers, prefixPositions = "prefix_positions", suffixPositions = "suffix_positions", r
        case orthogonality, tiedWeights = "tied_weights", subtractProjection = "subtract_projection", dropout
        case nonLinearity = "non_linearity", dtype, outputReft = "output_reft", initWeightsSeed = "init_weights_seed"
    }

    /// LoReFT (`"loreft"`), NoReFT (`"noreft"`: no orthogonality) and DiReFT (`"direft"`: neither orthogonality nor
    /// the subtracted projection).
    public static let loreft = ReftConfig()
    public static let noreft: ReftConfig = {
        var c = ReftConfig()
        c.orthogonality = false
        return c
    }()
    public static let direft: ReftConfig = {
        var c = noreft
        c.subtractProjection = false
        return c
    }()

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        // ReftConfig's own fields have no defaults in Python (its subclasses give them): missing ones take LoReFT's.
        architecture = try get(.architecture, "reft")
        layers = try get(.layers, .all)
        prefixPositions = try get(.prefixPositions, 3)
        suffixPositions = try get(.suffixPositions, 0)
        r = try get(.r, 1)
        orthogonality = try get(.orthogonality, true)
        tiedWeights = try get(.tiedWeights, false)
        subtractProjection = try get(.subtractProjection, true)
        dropout = try get(.dropout, 0.05)
        if let name = try c.decodeIfPresent(String.self, forKey: .nonLinearity) {
            guard let act = AdapterActivation(rawValue: name.lowercased()) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .nonLinearity, in: c,
                    debugDescription: "unknown non_linearity '\(name)' (known: \(AdapterActivation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            nonLinearity = act
        }
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype)
        outputReft = try get(.outputReft, true)
        initWeightsSeed = try c.decodeIfPresent(Int.self, forKey: .initWeightsSeed)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(layers, forKey: .layers)
        try c.encode(prefixPositions, forKey: .prefixPositions)
        try c.encode(suffixPositions, forKey: .suffixPositions)
        try c.encode(r, forKey: .r)
        try c.encode(orthogonality, forKey: .orthogonality)
        try c.encode(tiedWeights, forKey: .tiedWeights)
        try c.encode(subtractProjection, forKey: .subtractProjection)
        try c.encode(dropout, forKey: .dropout)
        try c.encodeIfPresent(nonLinearity?.rawValue, forKey: .nonLinearity)
        try c.encodeIfPresent(dtype, forKey: .dtype)
        try c.encode(outputReft, forKey: .outputReft)
        try c.encodeIfPresent(initWeightsSeed, forKey: .initWeightsSeed)
    }

    /// The number of units per layer: one when tied, else one for the prefix and one for the suffix positions.
    public var units: Int { tiedWeights ? 1 : 2 }

    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if architecture != "reft" { throw no(.architecture, "\"\(architecture)\"") }
        if !outputReft { throw no(.outputReft, "false") }
        if let dtype, dtype != "float32" { throw no(.dtype, "\"\(dtype)\"") }
        if r < 1 || r > 1 << 16 { throw AdapterError.invalidConfig(source: source, detail: "r \(r) (must be in 1…65536)") }
        if prefixPositions < 0 || suffixPositions < 0 || prefixPositions > 1 << 16 || suffixPositions > 1 << 16 {
            throw AdapterError.invalidConfig(
                source: source, detail: "prefix_positions \(prefixPositions) and suffix_positions \(suffixPositions) must be in 0…65536")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw AdapterError.invalidConfig(source: source, detail: "dropout \(dropout) (must be in [0, 1))")
        }
        if case .some(let list) = layers, list.contains(where: { $0 < 0 }) {
            throw AdapterError.invalidConfig(source: source, detail: "layers \(list) holds a negative layer index")
        }
    }
}
