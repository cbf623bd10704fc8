import Statistics
import Testing

@Suite("Paired bootstrap")
struct PairedBootstrapTests {
    /// Per-example correctness of two classifiers that agree on most examples; `a` wins `margin` more
    /// of the disagreements than `b`.
    static func pair(count: Int, margin: Int) -> (a: [Bool], b: [Bool]) {
        var generator = Xoshiro256StarStar(seed: 7)
        var a: [Bool] = []
        var b: [Bool] = []
        for i in 0..<count {
            let correct = generator.next(below: 10) < 8
            a.append(correct)
            b.append(correct)
            if i < 40 { a[i] = i % 2 == 0; b[i] = i % 2 == 1 }  // 20 : 20 disagreements
        }
        for i in 40..<(40 + margin) { a[i] = true; b[i] = false }
        return (a, b)
    }

    @Test("the same seed gives the same result; another seed a different interval")
    func determinism() throws {
        let (a, b) = Self.pair(count: 300, margin: 10)
        let first = try PairedBootstrap.test(a: a, b: b, resamples: 2_000, seed: 42)
        let second = try PairedBootstrap.test(a: a, b: b, resamples: 2_000, seed: 42)
        let other = try PairedBootstrap.test(a: a, b: b, resamples: 2_000, seed: 43)
        #expect(first == second)
        #expect(first.interval != other.interval)
        #expect(first.difference == other.difference)
        #expect(first.difference == 10.0 / 300)
    }

    @Test("a clear difference gives an interval excluding 0 and a small p")
    func clearDifference() throws {
        let (a, b) = Self.pair(count: 400, margin: 40)
        let result = try PairedBootstrap.test(a: a, b: b, resamples: 4_000, seed: 1)
        #expect(result.interval.lowerBound > 0)
        #expect(result.interval.contains(result.difference))
        #expect(result.pValue < 0.01)
        #expect(result.resamples == 4_000 && result.seed == 1 && result.count == 400)
    }

    @Test("a null difference gives an interval containing 0 and a large p")
    func nullDifference() throws {
        let (a, b) = Self.pair(count: 400, margin: 0)
        let result = try PairedBootstrap.test(a: a, b: b, resamples: 4_000, seed: 1)
        #expect(result.difference == 0)
        #expect(result.interval.contains(0))
        #expect(result.pValue == 1)
        let nearlyNull = try PairedBootstrap.test(a: Self.pair(count: 400, margin: 1).a,
                                                  b: Self.pair(count: 400, margin: 1).b, resamples: 4_000, seed: 1)
        #expect(nearlyNull.interval.contains(0))
        #expect(nearlyNull.pValue > 0.5)
    }

    @Test("the sign of the difference follows a − b, with a symmetric p")
    func sign() throws {
        let a = [0.91, 0.88, 0.90, 0.93, 0.89]
        let b = [0.85, 0.86, 0.84, 0.88, 0.86]
        let forward = try PairedBootstrap.test(a: a, b: b, resamples: 1_000, seed: 3)
        let backward = try PairedBootstrap.test(a: b, b: a, resamples: 1_000, seed: 3)
        #expect(forward.difference > 0 && backward.difference < 0)
        #expect(abs(forward.difference + backward.difference) < 1e-15)
        #expect(forward.pValue == backward.pValue)
        #expect(abs(forward.interval.lowerBound + backward.interval.upperBound) < 1e-12)
    }

    @Test("bad inputs throw")
    func errors() {
        #expect(throws: StatisticsError.lengthMismatch(a: 1, b: 2)) {
            try PairedBootstrap.test(a: [1.0], b: [1.0, 2.0])
        }
        #expect(throws: StatisticsError.empty(what: "a")) { try PairedBootstrap.test(a: [Double](), b: []) }
        #expect(throws: StatisticsError.nonFinite(what: "b", index: 1)) {
            try PairedBootstrap.test(a: [1.0, 2.0], b: [1.0, .nan])
        }
        #expect(throws: StatisticsError.invalidArgument(name: "resamples", value: 0)) {
            try PairedBootstrap.test(a: [1.0], b: [2.0], resamples: 0)
        }
        #expect(throws: StatisticsError.invalidArgument(name: "confidence", value: 0)) {
            try PairedBootstrap.test(a: [1.0], b: [2.0], confidence: 0)
        }
    }
}

@Suite("Random number generators")
struct GeneratorTests {
    @Test("SplitMix64 from seed 0 gives the published sequence")
    func splitMix() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("bounded draws stay in range and cover it evenly")
    func bounded() {
        var generator = Xoshiro256StarStar(seed: 99)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[Int(generator.next(below: 7))] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 400 })
    }
}
