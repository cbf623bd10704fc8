import Foundation

/// How reports print numbers: percentages with one decimal, counts and bytes with SI prefixes.
public enum Format {
    public static func percent(_ fraction: Double, sign: Bool = false) -> String {
        String(format: sign ? "%+.1f %%" : "%.1f %%", fraction * 100)
    }

    public static func percentValue(_ percent: Double) -> String {
        percent >= 10 ? String(format: "%.0f %%", percent) : percent >= 0.1 ? String(format: "%.2f %%", percent)
            : String(format: "%.3f %%", percent)
    }

    public static func count(_ n: Int) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.2f G", v / 1e9) }
        if v >= 1e6 { return String(format: "%.2f M", v / 1e6) }
        if v >= 1e4 { return String(format: "%.1f k", v / 1e3) }
        return String(n)
    }

    public static func bytes(_ n: Int) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.2f GB", v / 1e9) }
        if v >= 1e6 { return String(format: "%.1f MB", v / 1e6) }
        if v >= 1e3 { return String(format: "%.0f kB", v / 1e3) }
        return "\(n) B"
    }

    public static func number(_ v: Double) -> String {
        abs(v) >= 100 ? String(format: "%.0f", v) : abs(v) >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
    }

    public static func seconds(_ s: Double) -> String {
        s >= 3600 ? String(format: "%.1f h", s / 3600) : s >= 120 ? String(format: "%.1f min", s / 60)
            : String(format: "%.1f s", s)
    }

    /// "×12.5", "×0.08".
    public static func ratio(_ r: Double) -> String {
        r >= 10 ? String(format: "×%.0f", r) : r >= 1 ? String(format: "×%.1f", r) : String(format: "×%.2g", r)
    }
}
