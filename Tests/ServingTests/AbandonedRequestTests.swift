import Foundation
import Testing

@testable import Serving

#if canImport(Glibc)
    import Glibc
#endif

/// A client that closes its connection while its request waits in the queue costs no compute: the
/// request is dropped before its batch runs, and the server goes on answering the others.
@Suite("Abandoned requests", .serialized)
struct AbandonedRequestTests {
    /// Holds the compute thread at its first batch until `release()`.
    final class Gate: @unchecked Sendable {
        private let lock = NSLock()
        private let semaphore = DispatchSemaphore(value: 0)
        private var calls = 0

        var entered: Bool { lock.withLock { calls > 0 } }

        func beforeBatch() {
            let first = lock.withLock {
                calls += 1
                return calls == 1
            }
            if first { semaphore.wait() }
        }

        func release() { semaphore.signal() }
    }

    /// Sends one HTTP request on a new TCP connection and closes it without reading the answer.
    static func sendAndHangUp(port: Int, _ request: String) throws {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(connected == 0)
            let bytes = Array(request.utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            try #require(written == bytes.count)
        #endif
    }

    @Test func aClientThatHangsUpWhileQueuedCostsNoCompute() async throws {
        #if !os(Linux)
            return
        #endif
        let setup = try ServerTests.setup.get()
        let configure: (inout ServerConfiguration) -> Void = { config in
            config.maxBatchRequests = 1
            config.abandonedCheckSeconds = 0
        }
        try await ServingFixture.withServer(setup, configure: configure) { client, running in
            let gate = Gate()
            running.server.scheduler.beforeBatch = { gate.beforeBatch() }
            // The compute thread must not stay held if the test stops early (the server would drain).
            defer { gate.release() }
            // A: taken as the first batch and held there. (The polls below wait up to 30 s each: CI's two cores are
            // shared with other suites; they end as soon as the condition holds.)
            let first = Task { try await client.post("/predict", ["inputs": "good film", "adapter": "sb"]) }
            for _ in 0..<3000 where !gate.entered { try await Task.sleep(for: .milliseconds(10)) }
            #expect(gate.entered)
            // B: queued behind A by a client that hangs up at once.
            let body = #"{"inputs": "a bad film", "adapter": "sb"}"#
            try Self.sendAndHangUp(
                port: running.port,
                "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            var depth: Double?
            for _ in 0..<3000 {
                depth = ServingFixture.metric(try await client.get("/metrics").text, "adapters_queue_depth")
                if depth == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(depth == 1, "B never reached the queue")
            gate.release()
            #expect(try await first.value.status == 200)
            // B is dropped before it runs; the server answers what comes next.
            var abandoned: Double?
            for _ in 0..<3000 {
                let metrics = try await client.get("/metrics").text
                abandoned = ServingFixture.metric(metrics, "adapters_abandoned_inputs_total")
                if abandoned == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(abandoned == 1)
            let after = try await client.post("/predict", ["inputs": "good film", "adapter": "sb"])
            #expect(after.status == 200)
            let metrics = try await client.get("/metrics").text
            let batches = ServingFixture.metric(metrics, "adapters_batch_size_count")
            #expect(batches == 2, "only A's and the last request's batches ran")
            #expect(ServingFixture.metric(metrics, "adapters_queue_depth") == 0)
        }
    }
}
