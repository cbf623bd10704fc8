import Foundation

/// AdapterFusion's configuration (`adapter_fusion_config.json`'s `config`; AdapterHub's `AdapterFusionConfig`): at
/// each location the fused adapters' up-projections `u_i` are combined by attention with the location's input as
/// the query, `out = residual + Σ_i softmax_i(Q·K_i) · V_i`, Q = W_q·a + b_q, K_i = W_k·u_i + b_k, V_i = W_v·u_i.
public struct FusionConfig: Sendable, Equatable {
    public var key = true
    public var query = true
    public var value = true
    /// The query reads the sub-block's output before the layer's LayerNorm (else after it).
    public var queryBeforeLn = false
    /// Training: 0.01·‖I − W_v‖² pulls the value matrix towards the identity (adapters 1.3.0's trainer applies it
    /// to every value matrix whatever this says, and so does SwiftAdapters, for the same training).
    public var regularization = true
    /// The residual is added to each value before the attention (else to the output after it).
    public var residualBefore = false
    /// A softmax temperature falling from 50 to 1 with every forward pass (not supported here).
    public var temperature = false
    /// W_v applies to each value before the weighted sum (else once to the sum).
    public var valueBeforeSoftmax = true
    /// W_v starts as the identity (1e-6 elsewhere) instead of BERT's N(0, 0.02).
    public var valueInitialized = true
    /// Dropout on the attention scores in training (nil: the model's attention dropout).
    public var dropoutProb: Double? = nil

    public init() {}

    /// AdapterHub's `DynamicAdapterFusionConfig` ("dynamic", the default).
    public static let dynamic = FusionConfig()

    /// AdapterHub's `StaticAdapterFusionConfig` ("static"): no value matrix, no regularization.
    public static let `static`: FusionConfig = {
        var c = FusionConfig()
        c.value = false
        c.regularization = false
        c.valueInitialized = false
        return c
    }()

    /// "dynamic", "static", or a dictionary of the fields (missing ones take the dynamic defaults, as
    /// `AdapterFusionConfig.load` does). `source` names the file in errors.
    public static func decode(_ value: Any?, source: String) throws -> FusionConfig {
        if let name = value as? String {
            switch name {
            case "dynamic": return .dynamic
            case "static": return .static
            default:
                throw AdapterError.unsupported(
                    source: source, field: "fusion config", value: "'\(name)' (dynamic or static)")
            }
        }
        guard let dict = value as? [String: Any] else {
            throw AdapterError.invalidConfig(
                source: source, detail: "the fusion config is neither a name nor an object")
        }
        var c = FusionConfig()
        func flag(_ key: String, _ current: Bool) throws -> Bool {
            guard let v = dict[key], !(v is NSNull) else { return current }
            if let b = v as? Bool { return b }
            if let s = v as? String { return !s.isEmpty && s.lowercased() != "false" }  // value_initialized is typed str
            throw AdapterError.invalidConfig(source: source, detail: "fusion field '\(key)' is not a boolean")
        }
        c.key = try flag("key", c.key)
        c.query = try flag("query", c.query)
        c.value = try flag("value", c.value)
        c.queryBeforeLn = try flag("query_before_ln", c.queryBeforeLn)
        c.regularization = try flag("regularization", c.regularization)
        c.residualBefore = try flag("residual_before", c.residualBefore)
        c.temperature = try flag("temperature", c.temperature)
        c.valueBeforeSoftmax = try flag("value_before_softmax", c.valueBeforeSoftmax)
        c.valueInitialized = try flag("value_initialized", c.valueInitialized)
        if let p = dict["dropout_prob"], !(p is NSNull) {
            guard let d = (p as? NSNumber)?.doubleValue, (0..<1).contains(d) else {
                throw AdapterError.invalidConfig(source: source, detail: "fusion dropout_prob \(p) is not in [0, 1)")
            }
            c.dropoutProb = d
        }
        if c.temperature {
            // AdapterHub lowers T by 0.05 on every forward call, training or not, and does not save it: the outputs
            // of a loaded model depend on how often it has run.
            throw AdapterError.unsupported(
                source: source, field: "temperature", value: "true (a per-call decaying softmax temperature)")
        }
        return c
    }
}
