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
    case parBn = "par_bn"
    case scaledParBn = "scaled_par_bn"
    case lora
    case ia3
    case compacter
    case compacterPlusPlus = "compacter++"
    case seqBnInv = "seq_bn_inv"
    case doubleSeqBnInv = "double_seq_bn_inv"
}

/// One adapter's configuration.
public enum AdapterConfig: Sendable, Equatable {
    case bottleneck(BottleneckConfig)
    case lora(LoRAConfig)

    public static func defaults(for method: AdapterMethod) -> AdapterConfig {
        switch method {
        case .seqBn: .bottleneck(.seqBn)
        case .doubleSeqBn: .bottleneck(.doubleSeqBn)
        case .parBn: .bottleneck(.parBn)
        case .scaledParBn: .bottleneck(.scaledParBn)
        case .lora: .lora(LoRAConfig())
        case .ia3: .lora(.ia3)
        case .compacter: .bottleneck(.compacter)
        case .compacterPlusPlus: .bottleneck(.compacterPlusPlus)
        case .seqBnInv: .bottleneck(.seqBnInv)
        case .doubleSeqBnInv: .bottleneck(.doubleSeqBnInv)
        }
    }

    public func validate(source: String) throws {
        switch self {
        case .bottleneck(let c): try c.validate(source: source)
        case .lora(let c): try c.validate(source: source)
        }
    }

    /// The AdapterHub identifier closest to this configuration ("seq_bn", "par_bn", "ia3", …).
    public var methodName: String {
        switch self {
        case .bottleneck(let c):
            if c.isParallel { return c.scaling == .learned ? "scaled_par_bn" : "par_bn" }
            if c.phmLayer { return c.mhAdapter && c.outputAdapter ? "compacter" : "compacter++" }
            let base = c.mhAdapter && c.outputAdapter ? "double_seq_bn" : c.originalLnBefore ? "seq_bn" : "bottleneck"
            return c.invAdapter != nil ? base + "_inv" : base
        case .lora(let c):
            return c.scales ? "ia3" : "lora"
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
