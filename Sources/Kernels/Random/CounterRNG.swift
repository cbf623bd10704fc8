import Foundation

/// Counter-based random numbers: the value at `(seed, index)` is a pure function, so dropout masks
/// are identical whatever the thread split, and the backward pass regenerates the forward mask
/// instead of storing it.
public enum CounterRNG {
    /// SplitMix64's finaliser over `seed ⊕ index·golden`: a full-avalanche 64-bit hash.
    @inlinable @inline(__always)
    public static func hash(seed: UInt64, index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform float in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public static func uniform(seed: UInt64, index: UInt64) -> Float {
        Float(hash(seed: seed, index: index) >> 40) * (1.0 / 16_777_216.0)
    }
}

/// A seeded sequential generator (SplitMix64) for shuffling and initialisation.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Standard normal via Box–Muller.
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 1e-300)
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
