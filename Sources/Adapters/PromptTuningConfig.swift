import Foundation

/// AdapterHub's `PromptTuningConfig` ("prompt_tuning", Lester et al. 2021): `prompt_length` trained vectors
/// put before the embedding output (after its LayerNorm and dropout, without position embeddings), every
/// one of them attended. With `combine` "prefix" they come first — so a first-token head reads the first
/// prompt vector's output, as in AdapterHub —, with "prefix_after_bos" after the first token.
public struct PromptTuningConfig: Codable, Sendable, Equatable {
    public var architecture = "prompt_tuning"
    public var promptLength = 10
    /// "random_uniform" (U(±0.5)) or "from_string" (the word embeddings of `prompt_init_text`'s tokens,
    /// repeated to the prompt's length).
    public var promptInit = "random_uniform"
    public var promptInitText: String? = nil
    public var combine = "prefix"
    public var initWeightsSeed: Int? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, promptLength = "prompt_length", promptInit = "prompt_init"
        case promptInitText = "prompt_init_text", combine, initWeightsSeed = "init_weights_seed"
    }

    public init(promptLength: Int = 10) {
        self.promptLength = promptLength
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        architecture = try get(.architecture, "prompt_tuning")
        promptLength = try get(.promptLength, 10)
        promptInit = try get(.promptInit, "random_uniform")
        promptInitText = try c.decodeIfPresent(String.self, forKey: .promptInitText)
        combine = try get(.combine, "prefix")
        initWeightsSeed = try c.decodeIfPresent(Int.self, forKey: .initWeightsSeed)
    }

    /// AdapterHub's `random_uniform_scale`.
    public static let randomUniformScale: Float = 0.5

    /// Whether the prompt goes after the first token ("prefix_after_bos") rather than before it.
    public var afterFirstToken: Bool { combine == "prefix_after_bos" }

    public func validate(source: String) throws {
        func no(_ field: CodingKeys, _ value: String) -> AdapterError {
            .unsupported(source: source, field: field.rawValue, value: value)
        }
        if architecture != "prompt_tuning" { throw no(.architecture, "\"\(architecture)\"") }
        if !["prefix", "prefix_after_bos"].contains(combine) { throw no(.combine, "\"\(combine)\"") }
        if !["random_uniform", "from_string"].contains(promptInit) { throw no(.promptInit, "\"\(promptInit)\"") }
        if promptInit == "from_string" && (promptInitText ?? "").isEmpty {
            throw AdapterError.invalidConfig(source: source, detail: "prompt_init \"from_string\" needs prompt_init_text")
        }
        if promptLength < 1 || promptLength > 4096 {
            throw AdapterError.invalidConfig(source: source, detail: "prompt_length \(promptLength) (must be in 1…4096)")
        }
    }
}
