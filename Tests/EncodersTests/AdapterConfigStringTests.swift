import Adapters
import Foundation
import Testing

/// AdapterHub config strings (`adapters.utils.parse_adapter_config_string` + `ADAPTER_CONFIG_MAP`), as
/// `train --method` takes them.
@Suite("Adapter config strings")
struct AdapterConfigStringTests {
    static func parse(_ s: String) throws -> AdapterConfig { try AdapterConfig.parse(s, source: "--method") }

    @Test func presetsAndTheirAliases() throws {
        #expect(try Self.parse("seq_bn") == .bottleneck(.seqBn))
        #expect(try Self.parse("pfeiffer") == .bottleneck(.seqBn))
        #expect(try Self.parse("houlsby") == .bottleneck(.doubleSeqBn))
        #expect(try Self.parse("parallel") == .bottleneck(.parBn))
        #expect(try Self.parse(" scaled_par_bn ") == .bottleneck(.scaledParBn))
        #expect(try Self.parse("ia3") == .lora(.ia3))
        #expect(try Self.parse("lora") == .lora(LoRAConfig()))
        for method in AdapterMethod.allCases {
            #expect(try Self.parse(method.rawValue) == AdapterConfig.defaults(for: method))
            #expect(AdapterConfig.defaults(for: method).methodName == method.rawValue)
        }
    }

    @Test func fieldsOverrideThePreset() throws {
        guard case .bottleneck(let bn) = try Self.parse("seq_bn[reduction_factor=8,non_linearity=gelu]") else {
            Issue.record("not a bottleneck")
            return
        }
        var expected = BottleneckConfig.seqBn
        expected.reductionFactor = 8
        expected.nonLinearity = .gelu
        #expect(bn == expected)

        guard case .lora(let lc) = try Self.parse("lora[r=16,alpha=32,attn_matrices=[q,k,v]]") else {
            Issue.record("not LoRA")
            return
        }
        #expect(lc.r == 16 && lc.alpha == 32 && lc.attnMatrices == ["q", "k", "v"] && lc.scaling == 2)

        // Python literal syntax as AdapterHub's own strings use it.
        let python = try Self.parse("lora[ r=4, alpha=8, attn_matrices=['q', \"v\"], intermediate_lora=True, init_weights_seed=None ]")
        guard case .lora(let p) = python else {
            Issue.record("not LoRA")
            return
        }
        #expect(p.r == 4 && p.attnMatrices == ["q", "v"] && p.intermediateLora && p.initWeightsSeed == nil)

        guard case .bottleneck(let scaled) = try Self.parse("par_bn[scaling=learned,leave_out=(0, 1)]") else {
            Issue.record("not a bottleneck")
            return
        }
        #expect(scaled.scaling == .learned && scaled.isParallel && scaled.leaveOut == [0, 1])
        guard case .bottleneck(let fixed) = try Self.parse("par_bn[scaling=2.5]") else { return }
        #expect(fixed.scaling == .fixed(2.5))
    }

    /// Prefix tuning's presets as AdapterHub defines them (`PrefixTuningConfig()`, `flat=True`, `MAMConfig()`).
    @Test func prefixTuningPresets() throws {
        guard case .prefixTuning(let pc) = try Self.parse("prefix_tuning") else {
            Issue.record("not prefix tuning")
            return
        }
        #expect(pc.prefixLength == 30 && pc.bottleneckSize == 512 && pc.nonLinearity == .tanh && !pc.flat && pc.leaveOut.isEmpty)
        guard case .prefixTuning(let flat) = try Self.parse("prefix_tuning_flat[prefix_length=8,leave_out=[0, 1]]") else {
            Issue.record("not prefix tuning")
            return
        }
        #expect(flat.flat && flat.prefixLength == 8 && flat.leaveOut == [0, 1])
        let mam = try Self.parse("mam")
        guard case .union(let members) = mam, members.count == 2, case .prefixTuning(let mp) = members[0] else {
            Issue.record("mam is not a union starting with prefix tuning: \(mam)")
            return
        }
        #expect(mp.bottleneckSize == 800 && mp.prefixLength == 30 && members[1] == .bottleneck(.parBn))
        #expect(mam.methodName == "mam")
        #expect(try Self.parse("prefix_tuning[bottleneck_size=800]|par_bn") == mam)
        // UniPELTConfig: each member behind a gate.
        let unipelt = try Self.parse("unipelt")
        #expect(unipelt.methodName == "unipelt")
        #expect(
            try Self.parse("prefix_tuning[prefix_length=10,use_gating=True]|seq_bn[use_gating=True]|lora[alpha=2,use_gating=True]")
                == unipelt)
    }

    /// ReFT's presets as AdapterHub defines them (`LoReftConfig`, `NoReftConfig`, `DiReftConfig`).
    @Test func reftPresets() throws {
        guard case .reft(let lo) = try Self.parse("loreft"), case .reft(let no) = try Self.parse("noreft"),
            case .reft(let di) = try Self.parse("direft[r=4,layers=[0, 2],non_linearity=gelu]")
        else {
            Issue.record("not ReFT")
            return
        }
        #expect(lo.orthogonality && lo.subtractProjection && lo.r == 1 && lo.prefixPositions == 3 && lo.suffixPositions == 0)
        #expect(lo.dropout == 0.05 && lo.layers == .all && !lo.tiedWeights && lo.nonLinearity == nil)
        #expect(!no.orthogonality && no.subtractProjection)
        #expect(!di.orthogonality && !di.subtractProjection && di.r == 4 && di.layers == .some([0, 2]) && di.nonLinearity == .gelu)
        #expect(AdapterConfig.reft(di).methodName == "direft")
        // VeraConfig.
        guard case .lora(let vera) = try Self.parse("vera[r=4]") else {
            Issue.record("not LoRA-family")
            return
        }
        #expect(vera.isVera && vera.veraD == 0.1 && vera.veraB == 0 && vera.r == 4 && vera.initWeights == "vera")
        #expect(AdapterConfig.lora(vera).methodName == "vera")
        #expect(try Self.parse("dvora") == .lora(.dvora) && AdapterConfig.lora(.dvora).methodName == "dvora")
        #expect(try Self.parse("vera[use_dora=True]") == .lora(.dvora))
        // AdapterPlusConfig.
        guard case .bottleneck(let plus) = try Self.parse("adapterplus") else {
            Issue.record("not a bottleneck")
            return
        }
        #expect(plus.normFreeOutput && plus.originalLnBefore && plus.residualBeforeLn == .bool(false) && plus.stochasticDepth == 0.1)
        #expect(plus.scaling == .channel && plus.initWeights == "houlsby" && plus.reductionFactor == 96 && plus.nonLinearity == .gelu)
        #expect(AdapterConfig.bottleneck(plus).methodName == "adapterplus")
    }

    @Test func unionsOfImplementedMethods() throws {
        let union = try Self.parse("lora[r=4]|seq_bn")
        guard case .union(let members) = union, members.count == 2, case .lora(let lc) = members[0] else {
            Issue.record("not a union of LoRA and seq_bn: \(union)")
            return
        }
        #expect(lc.r == 4 && members[1] == .bottleneck(.seqBn))
        #expect(union.methodName == "lora|seq_bn")
        #expect(throws: AdapterError.self) { try union.overriding([("r", 8)], source: "test") }
    }

    /// Each bad string fails with an error that names what is wrong.
    @Test(arguments: [
        ("loreft[layers=some]", "layers 'some' (expected \"all\" or a list of layer indices)"),
        ("noreft[output_reft=False]", "'output_reft' = false is not supported"),
        ("direft[r=0]", "r 0 (must be in 1…65536)"),
        ("loreft|noreft", "have the same architecture"),
        ("mtl_lora|seq_bn", "'method' = \"mtl_lora\" is not supported"),
        ("vera[vera_b=None]", "VeRA needs both vera_d and vera_b"),
        ("adapterplus[mh_adapter=True]", "'original_ln_after' = false except as AdapterPlus places it"),
        ("seq_bn[residual_before_ln=False]", "'residual_before_ln' = false is not supported"),
        ("seq_bn[stochastic_depth=1.0]", "stochastic_depth 1.0 (must be in [0, 1))"),
        ("vera[intermediate_lora=True]", "'intermediate_lora' = true with VeRA is not supported"),
        ("prefix_tuning|prefix_tuning_flat", "have the same architecture"),
        ("prefix_tuning[dropout=0.1]", "'dropout' = 0.1 is not supported"),
        ("prefix_tuning[prefix_length=0]", "prefix_length 0 (must be in 1…4096)"),
        ("prefix_tuning[non_linearity=sigmoidish]", "unknown non_linearity 'sigmoidish'"),
        ("mam[prefix_length=4]", "fields apply to one member of a ConfigUnion"),
        ("seq_bn|seq_bn[reduction_factor=8]", "both sit at the same location"),
        ("lora|ia3", "have the same architecture"),
        ("lora[r=4]|seq_bn[prefix=1]", "unknown field 'prefix'"),
        ("bogus", "unknown method 'bogus' (known: "),
        ("seq_bn[reduction_factr=8]", "unknown field 'reduction_factr'"),
        ("seq_bn[reduction_factor=abc]", "reduction_factor: expected Double"),
        ("seq_bn[reduction_factor=8", "opens '[' but does not end with ']'"),
        ("seq_bn[reduction_factor=8,reduction_factor=4]", "field 'reduction_factor' is given twice"),
        ("seq_bn[reduction_factor={1: 8}]", "mappings (e.g. per-layer reduction factors) are not supported"),
        ("seq_bn[=8]", "expected a field name"),
        ("lora[r=0]", "r 0 (must be in 1…65536)"),
        ("ia3[r=2]", "composition_mode \"scale\" needs r 1, got 2"),
        ("ia3[use_dora=True]", "'use_dora' = true with composition_mode \"scale\" is not supported"),
        ("ia3[use_gating=True]", "'use_gating' = true with composition_mode \"scale\" is not supported"),
        ("dora[use_gating=True]", "'use_gating' = true with use_dora is not supported"),
        ("unipelt[r=4]", "fields apply to one member of a ConfigUnion"),
        ("seq_bn[ln_after=True]", "'ln_after' = true is not supported"),
        ("par_bn[mh_adapter=True]", "'is_parallel' = true together with mh_adapter: true is not supported"),
        ("seq_bn[scaling=sideways]", "neither a number, \"learned\" nor \"channel\""),
        ("lora[attn_matrices=[q,x]]", "attn_matrices entry 'x' is not q, k or v"),
        ("lora[attn_matrices=[]]", "no location"),
        ("[r=8]", "empty method name"),
    ])
    func badStringsAreClearErrors(text: String, fragment: String) throws {
        do {
            let config = try Self.parse(text)
            Issue.record("'\(text)' parsed as \(config)")
        } catch let error as AdapterError {
            let message = "\(error)"
            #expect(message.contains(fragment), "\(message)")
            #expect(message.hasPrefix("--method"), "\(message)")
        }
    }
}
