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
    case dora
    case ia3
    case promptTuning = "prompt_tuning"
    case prefixTuning = "prefix_tuning"
    case prefixTuningFlat = "prefix_tuning_flat"
    case mam
    case unipelt
    case vera
    case dvora
    case adapterplus
    case loreft
    case noreft
    case direft
    case compacter
    case compacterPlusPlus = "compacter++"
    case seqBnInv = "seq_bn_inv"
    case doubleSeqBnInv = "double_seq_bn_inv"
}

/// One adapter's configuration.
public enum AdapterConfig: Sendable, Equatable {
    case bottleneck(BottleneckConfig)
    case lora(LoRAConfig)
    case promptTuning(PromptTuningConfig)
    case prefixTuning(PrefixTuningConfig)
    case reft(ReftConfig)
    /// AdapterHub's `ConfigUnion`: several methods under one adapter name (e.g. `lora|seq_bn`), each at
    /// its own locations.
    indirect case union([AdapterConfig])

    /// The methods this configuration adds: itself, or a union's members.
    public var members: [AdapterConfig] {
        if case .union(let m) = self { return m }
        return [self]
    }

    public static func defaults(for method: AdapterMethod) -> AdapterConfig {
        switch method {
        case .seqBn: .bottleneck(.seqBn)
        case .doubleSeqBn: .bottleneck(.doubleSeqBn)
        case .parBn: .bottleneck(.parBn)
        case .scaledParBn: .bottleneck(.scaledParBn)
        case .lora: .lora(LoRAConfig())
        case .dora: .lora(.dora)
        case .ia3: .lora(.ia3)
        case .promptTuning: .promptTuning(PromptTuningConfig())
        case .prefixTuning: .prefixTuning(PrefixTuningConfig())
        case .prefixTuningFlat: .prefixTuning(.flatPreset)
        case .mam: mam
        case .unipelt: unipelt
        case .vera: .lora(.vera)
        case .dvora: .lora(.dvora)
        case .adapterplus: .bottleneck(.adapterPlus)
        case .loreft: .reft(.loreft)
        case .noreft: .reft(.noreft)
        case .direft: .reft(.direft)
        case .compacter: .bottleneck(.compacter)
        case .compacterPlusPlus: .bottleneck(.compacterPlusPlus)
        case .seqBnInv: .bottleneck(.seqBnInv)
        case .doubleSeqBnInv: .bottleneck(.doubleSeqBnInv)
        }
    }

    /// AdapterHub's `MAMConfig` ("mam", He et al. 2022): prefix tuning with a 800-wide MLP and a parallel
    /// bottleneck after the feed-forward block.
    public static let mam: AdapterConfig = {
        var prefix = PrefixTuningConfig()
        prefix.bottleneckSize = 800
        return .union([.prefixTuning(prefix), .bottleneck(.parBn)])
    }()

    /// AdapterHub's `UniPELTConfig` ("unipelt", Mao et al. 2022): prefix tuning (10 positions), `seq_bn` at
    /// reduction factor 16 and LoRA (r 8, alpha 2), each behind its own gate (`use_gating`).
    public static let unipelt: AdapterConfig = {
        var prefix = PrefixTuningConfig(prefixLength: 10)
        prefix.useGating = true
        var bottleneck = BottleneckConfig.seqBn
        bottleneck.useGating = true
        var lora = LoRAConfig()
        lora.alpha = 2
        lora.useGating = true
        return .union([.prefixTuning(prefix), .bottleneck(bottleneck), .lora(lora)])
    }()

    public func validate(source: String) throws {
        switch self {
        case .bottleneck(let c): try c.validate(source: source)
        case .lora(let c): try c.validate(source: source)
        case .promptTuning(let c): try c.validate(source: source)
        case .prefixTuning(let c): try c.validate(source: source)
        case .reft(let c): try c.validate(source: source)
        case .union(let members):
            guard !members.isEmpty else {
                throw AdapterError.invalidConfig(source: source, detail: "a ConfigUnion needs at least one configuration")
            }
            for m in members {
                if case .union = m { throw AdapterError.invalidConfig(source: source, detail: "a ConfigUnion cannot hold a ConfigUnion") }
                try m.validate(source: source)
            }
            // AdapterHub's ConfigUnion.validate: two members of one architecture conflict, except bottlenecks at
            // different locations (one at attention, one after the FFN); the model checks placements again
            // layer by layer (leave_out).
            for (i, a) in members.enumerated() {
                for b in members[..<i] {
                    switch (a, b) {
                    case (.bottleneck(let x), .bottleneck(let y)):
                        if x.mhAdapter == y.mhAdapter || x.outputAdapter == y.outputAdapter {
                            if x.leaveOut.isEmpty && y.leaveOut.isEmpty {
                                throw AdapterError.invalidConfig(
                                    source: source,
                                    detail: "the ConfigUnion's \(b.methodName) and \(a.methodName) both sit at the same location")
                            }
                        }
                        if x.phmLayer && y.phmLayer {
                            throw AdapterError.unsupported(source: source, field: "phm_layer", value: "true in two members of a ConfigUnion")
                        }
                        if x.invAdapter != nil && y.invAdapter != nil {
                            throw AdapterError.invalidConfig(source: source, detail: "two members of the ConfigUnion add an invertible adapter")
                        }
                    case (.lora, .lora), (.promptTuning, .promptTuning), (.prefixTuning, .prefixTuning), (.reft, .reft):
                        throw AdapterError.invalidConfig(
                            source: source, detail: "the ConfigUnion's \(b.methodName) and \(a.methodName) have the same architecture")
                    default: break
                    }
                }
            }
        }
    }

    /// The AdapterHub identifier closest to this configuration ("seq_bn", "par_bn", "ia3", …).
    public var methodName: String {
        switch self {
        case .bottleneck(let c):
            if c.isParallel { return c.scaling == .learned ? "scaled_par_bn" : "par_bn" }
            if c.normFreeOutput { return "adapterplus" }
            if c.phmLayer { return c.mhAdapter && c.outputAdapter ? "compacter" : "compacter++" }
            let base = c.mhAdapter && c.outputAdapter ? "double_seq_bn" : c.originalLnBefore ? "seq_bn" : "bottleneck"
            return c.invAdapter != nil ? base + "_inv" : base
        case .lora(let c):
            return c.scales ? "ia3" : c.isVera ? (c.useDora ? "dvora" : "vera") : c.useDora ? "dora" : "lora"
        case .promptTuning:
            return "prompt_tuning"
        case .prefixTuning(let c):
            return c.flat ? "prefix_tuning_flat" : "prefix_tuning"
        case .reft(let c):
            return c.orthogonality ? "loreft" : c.subtractProjection ? "noreft" : "direft"
        case .union(let members):
            if self == Self.mam { return "mam" }
            if self == Self.unipelt { return "unipelt" }
            return members.map(\.methodName).joined(separator: "|")
        }
    }

    /// One line for people: the method, where it sits and its main sizes.
    public var summary: String {
        switch self {
        case .bottleneck(let c):
            let place = [c.mhAdapter ? "attention" : nil, c.outputAdapter ? "FFN output" : nil].compactMap { $0 }
                .joined(separator: " + ")
            let kind =
                c.isParallel
                ? "par_bn / He et al., beside"
                : c.normFreeOutput
                    ? "AdapterPlus, on the LayerNorm output, no LayerNorm after,"
                    : c.originalLnBefore ? "seq_bn / Pfeiffer, after" : "double_seq_bn / Houlsby, after"
            let extras =
                (c.phmLayer ? ", PHM (Compacter) phm_dim \(c.phmDim)" : "") + (c.invAdapter.map { ", invertible adapter \($0)" } ?? "")
                + (c.stochasticDepth > 0 ? ", stochastic depth \(c.stochasticDepth)" : "")
            return "bottleneck (\(kind) \(place)), reduction factor \(c.reductionFactor), \(c.nonLinearity.rawValue), scaling \(c.scaling)\(extras)"
        case .lora(let c):
            let sites = (c.selfattnLora ? c.attnMatrices : []) + (c.intermediateLora ? ["intermediate"] : [])
                + (c.outputLora ? ["output"] : [])
            return c.scales
                ? "(IA)³: scales the outputs of \(sites.joined(separator: ","))"
                : c.isVera
                    ? "\(c.useDora ? "DVoRA (DoRA on VeRA)" : "VeRA"): r \(c.r), alpha \(c.alpha) (scaling \(c.scaling)), shared frozen A and B, trained vera_D (from \(c.veraD ?? 0)·I) and vera_B (from \(c.veraB ?? 0)·I) on \(sites.joined(separator: ","))"
                    : "\(c.useDora ? "DoRA" : "LoRA"): r \(c.r), alpha \(c.alpha) (scaling \(c.scaling)) on \(sites.joined(separator: ","))"
        case .promptTuning(let c):
            return "prompt tuning: \(c.promptLength) trained vectors \(c.afterFirstToken ? "after the first token" : "before the input"), init \(c.promptInit)"
        case .prefixTuning(let c):
            let form = c.flat ? "trained directly (flat)" : "from a \(c.bottleneckSize)-wide \(c.nonLinearity.rawValue) MLP"
            return "prefix tuning: \(c.prefixLength) keys and values per attention layer, \(form)"
        case .reft(let c):
            let unit = c.subtractProjection ? "h + (act(W·h + b) − R·h)·R" : "h + act(W·h + b)·R"
            let layers: String
            switch c.layers {
            case .all: layers = "every layer"
            case .some(let list): layers = "layers \(list.map(String.init).joined(separator: ","))"
            }
            return "ReFT (\(methodName)): \(unit), rank \(c.r)\(c.orthogonality ? ", R orthogonal" : ""), after \(layers) on the first \(c.prefixPositions) and last \(c.suffixPositions) tokens\(c.tiedWeights ? " (one unit)" : "")"
        case .union(let members):
            return "ConfigUnion of " + members.map(\.summary).joined(separator: "; ")
        }
    }

    /// The layers left without this adapter (a union's: those every member leaves out).
    public var leaveOut: [Int] {
        switch self {
        case .bottleneck(let c): c.leaveOut
        case .lora(let c): c.leaveOut
        case .promptTuning: []
        case .prefixTuning(let c): c.leaveOut
        case .reft: []
        case .union(let members):
            members.map { Set($0.leaveOut) }.reduce(members.first.map { Set($0.leaveOut) } ?? []) { $0.intersection($1) }
                .sorted()
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
