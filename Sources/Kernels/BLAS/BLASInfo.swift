import Foundation

#if canImport(CBLAS)
import CBLAS
#endif

/// Which BLAS kernels this process runs, and which it should run.
///
/// Debian bookworm's OpenBLAS 0.3.21 does not recognise CPUs released after it (Sapphire/Emerald
/// Rapids among them) and falls back to its generic "Prescott" kernels, about 5× slower than its
/// AVX-512 ones (22 vs 145 GFLOP/s on one core, measured here). OpenBLAS picks its kernels when the
/// library is loaded, from `OPENBLAS_CORETYPE`, so a program can only fix this by restarting
/// itself with the variable set; `BLASCoreSelection` does that for executables.
public enum BLASInfo {
    /// The kernel set in use ("Accelerate" on Apple platforms).
    public static var coreName: String {
        #if canImport(CBLAS)
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
        #else
        return "Accelerate"
        #endif
    }

    /// Core names OpenBLAS uses for its generic fallbacks on x86-64 (pre-AVX kernels).
    static let fallbackCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood", "banias"]

    /// `OPENBLAS_CORETYPE` that suits this CPU when OpenBLAS fell back to generic kernels, else nil.
    /// Derived from the CPU flags in /proc/cpuinfo: AVX-512 (F, BW, DQ, VL) → SkylakeX, AVX2 + FMA → Haswell.
    public static func recommendedCoreType() -> String? {
        #if canImport(CBLAS) && os(Linux)
        guard fallbackCores.contains(coreName.lowercased()) else { return nil }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
        #else
        return nil
        #endif
    }
}
