/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit counter passed through a strong mixing function.
///
/// Used only to expand one user seed into the 256-bit state of `Xoshiro256StarStar`: consecutive
/// outputs are well spread even for seeds 0, 1, 2, …, which xoshiro's state must be (never all zero).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
