/// Shared input checks, so every entry point rejects the same things with the same errors.
enum InputChecks {
    /// Throws unless `values` is non-empty and every value is finite.
    static func finiteNonEmpty(_ values: [Double], what: String) throws(StatisticsError) {
        if values.isEmpty { throw .empty(what: what) }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(what: what, index: index)
        }
    }

    /// Throws unless `a` and `b` pair up one to one and are non-empty.
    static func paired(_ aCount: Int, _ bCount: Int) throws(StatisticsError) {
        if aCount != bCount { throw .lengthMismatch(a: aCount, b: bCount) }
        if aCount == 0 { throw .empty(what: "a") }
    }

    /// Throws unless `p` lies strictly between 0 and 1.
    static func openUnitInterval(_ p: Double, name: String) throws(StatisticsError) {
        if !(p > 0 && p < 1) { throw .invalidArgument(name: name, value: p) }
    }
}
