/// Why a statistic could not be computed.
///
/// Reports compare methods across a handful of seeds; a silently wrong number (a NaN mean, an
/// interval from mismatched runs) is worse than no number, so every entry point checks its input
/// and throws one of these instead.
public enum StatisticsError: Error, Equatable, Sendable {
    /// An input array that needs at least one value was empty (`what` names it: "values", "a", "b").
    case empty(what: String)
    /// `values[index]` was NaN or infinite.
    case nonFinite(what: String, index: Int)
    /// Paired inputs must have one entry per example in both arrays.
    case lengthMismatch(a: Int, b: Int)
    /// A parameter outside its domain: a probability or confidence not in (0, 1), degrees of
    /// freedom ≤ 0, a resample count < 1.
    case invalidArgument(name: String, value: Double)
}
