import Foundation

/// Activation functions by AdapterHub's `non_linearity` names (resolved like HF `ACT2FN`).
public enum AdapterActivation: String, Codable, Sendable, CaseIterable {
    case relu
    case swish
    case silu
    case gelu
    case geluNew = "gelu_new"
    case tanh
}

/// The adapter methods of the `adapters train --method` flag.
public enum AdapterMethod: String, Codable, Sendable, CaseIterable {
    case seqBn = "seq_bn"
    case doubleSeqBn = "double_seq_bn"
    case lora
}

/// One adapter's configuration.
public enum AdapterConfig: Sendable, Equatable {
    case bottleneck(BottleneckConfig)
    case lora(LoRAConfig)

    public static func defaults(for method: AdapterMethod) -> AdapterConfig {
        switch method {
        case .seqBn: .bottleneck(.seqBn)
        case .doubleSeqBn: .bottleneck(.doubleSeqBn)
        case .lora: .lora(LoRAConfig())
        }
    }

    public func validate(source: String) throws {
        switch self {
        case .bottleneck(let c): try c.validate(source: source)
        case .lora(let c): try c.validate(source: source)
        }
    }

    public var leaveOut: [Int] {
        switch self {
        case .bottleneck(let c): c.leaveOut
        case .lora(let c): c.leaveOut
        }
    }
}

/// A JSON value that may be a Bool or a String (AdapterHub's `residual_before_ln`).
public enum JSONScalar: Codable, Sendable, Equatable, CustomStringConvertible {
    case bool(Bool)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let b): try c.encode(b)
        case .string(let s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .bool(let b): "\(b)"
        case .string(let s): "\"\(s)\""
        }
    }
}
