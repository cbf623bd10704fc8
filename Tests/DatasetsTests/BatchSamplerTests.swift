import Foundation
import Testing
@testable import Datasets

@Suite("Seeded batch sampling")
struct BatchSamplerTests {
    static func batches(_ sampler: inout BatchSampler, _ n: Int) -> [[Int]] {
        (0..<n).map { _ in sampler.next() }
    }

    @Test("Same seed → same order; different seed → different order", arguments: [(10, 3), (1000, 32), (7, 7), (5, 8)])
    func determinism(count: Int, batchSize: Int) {
        var a = BatchSampler(count: count, batchSize: batchSize, seed: 42)
        var b = BatchSampler(count: count, batchSize: batchSize, seed: 42)
        var c = BatchSampler(count: count, batchSize: batchSize, seed: 43)
        let n = 3 * a.batchesPerEpoch
        let ba = Self.batches(&a, n), bb = Self.batches(&b, n), bc = Self.batches(&c, n)
        #expect(ba == bb)
        #expect(ba != bc)
    }

    @Test("Every epoch is a permutation; drop_last false; epochs reshuffle", arguments: [(10, 3), (1000, 32), (5, 8)])
    func epochs(count: Int, batchSize: Int) {
        var s = BatchSampler(count: count, batchSize: batchSize, seed: 7)
        #expect(s.batchesPerEpoch == (count + batchSize - 1) / batchSize)
        var orders: [[Int]] = []
        for epoch in 0..<3 {
            #expect(s.epoch == epoch && s.position == 0)
            let expectedOrder = s.order(forEpoch: epoch)
            var seen: [Int] = []
            for k in 0..<s.batchesPerEpoch {
                let batch = s.next()
                let last = k == s.batchesPerEpoch - 1
                #expect(batch.count == (last ? count - batchSize * k : batchSize))
                seen += batch
            }
            #expect(seen == expectedOrder)
            #expect(seen.sorted() == Array(0..<count))
            orders.append(seen)
        }
        #expect(s.epoch == 3)
        #expect(orders[0] != orders[1] && orders[1] != orders[2])
        #expect(orders[0] != Array(0..<count))
    }

    @Test("Without shuffling every epoch is in file order")
    func noShuffle() {
        var s = BatchSampler(count: 5, batchSize: 2, seed: 1, shuffle: false)
        #expect(Self.batches(&s, 4) == [[0, 1], [2, 3], [4], [0, 1]])
        #expect(s.epoch == 1 && s.position == 2)
    }

    @Test("The order is pinned to tools/reference_train.py's permutation (computed there)")
    func pinned() {
        // permutation(20, seed=42, epoch) from the Python reference.
        #expect(BatchSampler(count: 20, batchSize: 4, seed: 42).order(forEpoch: 0) == [0, 17, 11, 14, 7, 4, 12, 16, 3, 8, 5, 6, 10, 2, 19, 13, 9, 18, 1, 15])
        #expect(BatchSampler(count: 20, batchSize: 4, seed: 42).order(forEpoch: 1) == [10, 9, 13, 1, 2, 19, 12, 11, 3, 8, 5, 6, 17, 7, 14, 18, 0, 15, 4, 16])
    }

    @Test("Codable round trip mid-epoch continues identically", arguments: [0, 1, 2, 5, 9])
    func resume(after: Int) throws {
        var original = BatchSampler(count: 23, batchSize: 4, seed: 0xFFFF_FFFF_FFFF_FFF1)
        _ = Self.batches(&original, after)
        let data = try JSONEncoder().encode(original)
        var resumed = try JSONDecoder().decode(BatchSampler.self, from: data)
        #expect(resumed == original)
        #expect(resumed.epoch == original.epoch && resumed.position == original.position)
        #expect(Self.batches(&resumed, 20) == Self.batches(&original, 20))
    }

    @Test("Setting epoch and position resumes at that data position")
    func setPosition() {
        var a = BatchSampler(count: 10, batchSize: 3, seed: 5)
        _ = Self.batches(&a, 5)  // 4 batches in epoch 0 (3+3+3+1), one in epoch 1: position 3
        var b = BatchSampler(count: 10, batchSize: 3, seed: 5)
        b.epoch = 1
        b.position = 3
        #expect(a == b)
        #expect(Self.batches(&a, 6) == Self.batches(&b, 6))
    }

    @Test("Inconsistent checkpoints are rejected", arguments: [
        #"{"count":10,"batchSize":3,"seed":1,"shuffle":true,"epoch":0,"position":10}"#,
        #"{"count":10,"batchSize":0,"seed":1,"shuffle":true,"epoch":0,"position":0}"#,
        #"{"count":10,"batchSize":3,"seed":1,"shuffle":true,"epoch":-1,"position":0}"#,
        #"{"count":10,"batchSize":3,"shuffle":true,"epoch":0,"position":0}"#,
    ])
    func badCheckpoint(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BatchSampler.self, from: Data(json.utf8)) }
    }

    @Test("An empty dataset yields empty batches")
    func empty() {
        var s = BatchSampler(count: 0, batchSize: 4, seed: 1)
        #expect(s.next() == [] && s.batchesPerEpoch == 0)
    }
}
