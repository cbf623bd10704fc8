import Foundation
import Testing

@testable import Tokenizers

/// Per-thread values (each thread's encode scratch and word cache) are released with their owner,
/// including those of threads that are still alive — pooled workers (issue #18: AddressSanitizer found
/// them leaking).
@Suite("ThreadLocal")
struct ThreadLocalTests {
    final class Counted {
        static let lock = NSLock()
        nonisolated(unsafe) static var alive = 0
        init() { Self.lock.withLock { Self.alive += 1 } }
        deinit { Self.lock.withLock { Self.alive -= 1 } }
    }

    @Test func everyThreadsValueIsReleasedWithItsOwner() {
        let before = Counted.lock.withLock { Counted.alive }
        var local: ThreadLocal<Counted>? = ThreadLocal { Counted() }
        let ids = NSLock()
        var seen = Set<ObjectIdentifier>()
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            guard let value = local?.value else { return }
            // The same thread gets the same value back.
            #expect(local?.value === value)
            ids.withLock { _ = seen.insert(ObjectIdentifier(value)) }
        }
        #expect(!seen.isEmpty)
        #expect(Counted.lock.withLock { Counted.alive } == before + seen.count)
        local = nil
        #expect(Counted.lock.withLock { Counted.alive } == before)
    }
}
