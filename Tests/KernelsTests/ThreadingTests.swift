import Foundation
import Testing

@testable import Kernels

/// The worker pool behind `Threading`: every index exactly once, whatever the nesting or the
/// number of threads calling at the same time.
@Suite("Threading (worker pool)")
struct ThreadingTests {
    @Test(arguments: [0, 1, 2, 3, 17, 1000])
    func everyIndexRunsExactlyOnce(count: Int) {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: max(count, 1))
        Threading.parallelFor(count) { i in hits[i] += 1 }
        #expect((0..<count).allSatisfy { hits[$0] == 1 })
    }

    @Test(arguments: [(0, 1), (5, 8), (100, 7), (4097, 64)])
    func rangesCoverTheWholeSpanWithoutOverlap(shape: (Int, Int)) {
        let (total, minChunk) = shape
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(total, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: max(total, 1))
        Threading.parallelRanges(total, minChunk: minChunk) { range in
            for i in range { hits[i] += 1 }
        }
        #expect((0..<total).allSatisfy { hits[$0] == 1 })
    }

    /// A region inside a region runs on the inner caller's thread instead of deadlocking.
    @Test func nestedRegionsRunInline() {
        let outer = 6
        let inner = 50
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: outer * inner)
        Threading.parallelFor(outer) { o in
            Threading.parallelFor(inner) { i in hits[o * inner + i] += 1 }
        }
        #expect((0..<(outer * inner)).allSatisfy { hits[$0] == 1 })
    }

    /// Several threads starting regions at once (two models used side by side): each region
    /// completes with every index run once, those that find the pool busy on their own thread.
    @Test func concurrentCallersEachCompleteTheirRegion() {
        let callers = 4
        let rounds = 200
        let count = 64
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: callers * count)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: callers * count)
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for _ in 0..<rounds {
                Threading.parallelFor(count) { i in hits[caller * count + i] += 1 }
            }
        }
        #expect((0..<(callers * count)).allSatisfy { hits[$0] == rounds })
    }
}
