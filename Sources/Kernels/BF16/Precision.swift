import CDNNLBridge
import CVectorKernels

/// The arithmetic a model runs in.
///
/// `fp32` is exact and the default. `bf16` is mixed precision as PyTorch's
/// `torch.autocast("cpu", dtype=torch.bfloat16)` does it: the frozen base weights' GEMMs read bf16
/// operands and accumulate in fp32; LayerNorm, softmax, GELU, the residual stream, the loss, every
/// trained tensor, its gradient and its optimizer state stay fp32. `auto` is bf16 where the CPU has
/// bf16 arithmetic (AMX-BF16 or AVX512-BF16) and oneDNN is linked, else fp32: emulated bf16 is many
/// times slower than fp32 (PyTorch's autocast on an AVX2-only CPU: ×0.13), a trap `auto` avoids.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case fp32
    case bf16
    case auto

    /// The precision to run: `auto` decided for this machine; `bf16` checked against it.
    /// - Throws: `PrecisionError.bf16Unavailable` naming what is missing.
    public func resolved() throws -> ResolvedPrecision {
        switch self {
        case .fp32: return .fp32
        case .bf16:
            if let missing = BF16Support.missing { throw PrecisionError.bf16Unavailable(missing) }
            return .bf16
        case .auto: return BF16Support.missing == nil ? .bf16 : .fp32
        }
    }
}

/// `Precision` once `auto` is decided.
public enum ResolvedPrecision: String, Sendable, Codable {
    case fp32
    case bf16
}

public enum PrecisionError: Error, CustomStringConvertible, Equatable {
    case bf16Unavailable(String)

    public var description: String {
        switch self {
        case .bf16Unavailable(let why):
            return "bf16 precision is not available here: \(why); use --precision fp32 (or auto)"
        }
    }
}

/// What this machine offers for bf16.
public enum BF16Support {
    /// The CPU's bf16 units, as `lscpu` names them ("amx_bf16", "avx512_bf16"), empty without any.
    public static let cpuFeatures: [String] = {
        let bits = sa_cpu_bf16_features()
        var names: [String] = []
        if bits & 2 != 0 { names.append("amx_bf16") }
        if bits & 1 != 0 { names.append("avx512_bf16") }
        return names
    }()

    /// Whether this build links oneDNN (libdnnl).
    public static var oneDNNLinked: Bool { sa_dnnl_linked() != 0 }

    /// oneDNN's version and the instruction set it picked, e.g. "oneDNN 2.6.3 (avx512_core_bf16)".
    public static var oneDNNDescription: String {
        guard oneDNNLinked else { return "oneDNN not linked" }
        return "oneDNN \(String(cString: sa_dnnl_version())) (\(String(cString: sa_dnnl_isa())))"
    }

    /// Why bf16 cannot run here, or nil when it can. Tests and `SWIFTADAPTERS_FORCE_BF16=1` may run
    /// it on a CPU without bf16 units (oneDNN then emulates, slowly but correctly).
    public static var missing: String? {
        if !oneDNNLinked {
            return "this build has no oneDNN (install libdnnl-dev, e.g. by scripts/setup.sh, and rebuild)"
        }
        if cpuFeatures.isEmpty && !forced {
            return "the CPU has neither AMX-BF16 nor AVX512-BF16 (bf16 would be emulated, slower than fp32)"
        }
        return nil
    }

    /// Whether bf16 may run although the CPU would emulate it (correct, slow): for tests.
    nonisolated(unsafe) public static var forced = false
}
