import Foundation

/// AdapterHub's `PrefixTuningConfig` ("prefix_tuning", Li & Liang 2021): `prefix_length` trained keys and
/// values that every self-attention layer's queries attend to before the sequence's own tokens (always,
/// whatever the padding). They come from one trained table `wte` `[P, C]` through the reparameterisation MLP
/// `control_trans = Linear(C, bottleneck_size) → non_linearity → Linear(bottleneck_size, n_layers · 2 · C)`,
/// or, with `flat`, are trained directly (`control_trans` `[P · n_layers · 2 · C]`).
/// `"prefix_tuning_flat"` is the flat preset; `eject_prefix_tuning` turns the MLP form into the flat one.
public struct PrefixTuningConfig: Codable, Sendable, Equatable {
    public var architecture = "prefix_tuning"
    /// Encoder–decoder switches; an encoder-only model's self-attention takes the prefix either way.
    public var encoderPrefix = true
    public var crossPrefix = true
    public var leaveOut: [Int] = []
    public var flat = false
    public var prefixLength = 30
    public var bottleneckSize = 512
    public var nonLinearity: AdapterActivation = .tanh
    public var dropout: Double = 0
    public var useGating = false
    public var sharedGating = true
    public var initWeightsSeed: Int? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, encoderPrefix = "encoder_prefix", crossPrefix = "cross_prefix", leaveOut = "leave_out"
        case flat, prefixLength = "prefix_length", bottleneckSize = "bottleneck_size", nonLinearity = "non_linearity"
        case dropout, useGating = "use_gating", sharedGating = "shared_gating", initWeightsSeed = "init_weights_seed"
    }

    public init(prefixLength: Int = 30, bottleneckSize: Int = 512, flat: Bool = false) {
        self.prefixLength = prefixLength
        self.bottleneckSize = bottleneckSize
        self.flat = flat
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        architecture = try get(.architecture, "prefix_tuning")
        encoderPrefix = try get(.encoderPrefix, true)
        crossPrefix = try get(.crossPrefix, true)
        leaveOut = try get(.leaveOut, [])
        flat = try get(.flat, false)
        prefixLength = try get(.prefixLength, 30)
        bottleneckSize = try get(.bottleneckSize, 512)
        // Activation_Function_Class lower-cases the name.
        let activation = try get(.nonLinearity, "tanh").lowercased()
        guard let act = AdapterActivation(rawValue: activation) else {
            throw DecodingError.dataCorruptedError(
                forKey: .nonLinearity, in: c,
                debugDescription: "unknown non_linearity '\(activation)' (known: \(AdapterActivation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        nonLinearity = act
        dropout = try get(.dropout, 0.0)
        useGating = try get(.useGating, false)
        sharedGating = try get(.sharedGating, true)
        initWeightsSeed = try c.decodeIfPresent(Int.self, forKey: .initWeightsSeed)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(encoderPrefix, forKey: .encoderPrefix)
        try c.encode(crossPrefix, forKey: .crossPrefix)
        try c.encode(leaveOut, forKey: .leaveOut)
        try c.encode(flat, forKey: .flat)
        try c.encode(prefixLength, forKey: .prefixLength)
        try c.encode(bottleneckSize, forKey: .bottleneckSize)
        try c.encode(nonLinearity.rawValue, forKey: .nonLinearity)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(useGating, forKey: .useGating)
        try c.encode(sharedGating, forKey: .sharedGating)
        try c.encodeIfPresent(initWeightsSeed, forKey: .initWeightsSeed)
    }

    /// `"prefix_tuning_flat"`.
    public static let flatPreset = PrefixTuningConfig(flat: true)

    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if architecture != "prefix_tuning" { throw no(.architecture, "\"\(architecture)\"") }
        if prefixLength < 1 || prefixLength > 4096 {
            throw AdapterError.invalidConfig(source: source, detail: "prefix_length \(prefixLength) (must be in 1…4096)")
        }
        if !flat && (bottleneckSize < 1 || bottleneckSize > 1 << 16) {
            throw AdapterError.invalidConfig(source: source, detail: "bottleneck_size \(bottleneckSize) (must be in 1…65536)")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw AdapterError.invalidConfig(source: source, detail: "dropout \(dropout) (must be in [0, 1))")
        }
        // AdapterHub drops out the prefix of each sequence separately; not built here.
        if dropout > 0 { throw no(.dropout, "\(dropout)") }
        if leaveOut.contains(where: { $0 < 0 }) {
            throw AdapterError.invalidConfig(source: source, detail: "leave_out \(leaveOut) holds a negative layer index")
        }
    }
}

extension AdapterConfig {
    /// This configuration with its prefix tuning in the flat form (what `eject_prefix_tuning` leaves), other members
    /// kept; nil when it holds no prefix tuning with a `control_trans` MLP.
    public var withFlatPrefix: AdapterConfig? {
        var changed = false
        func flat(_ c: AdapterConfig) -> AdapterConfig {
            guard case .prefixTuning(var pc) = c, !pc.flat else { return c }
            pc.flat = true
            changed = true
            return .prefixTuning(pc)
        }
        let result: AdapterConfig = if case .union(let members) = self { .union(members.map(flat)) } else { flat(self) }
        return changed ? result : nil
    }
}
