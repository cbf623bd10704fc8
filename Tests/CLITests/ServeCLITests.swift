import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing

/// `adapters serve` as a process: SIGTERM stops it gracefully — a request in flight still gets its answer,
/// then the process exits 0.
@Suite("adapters serve", .serialized)
struct ServeCLITests {
    @Test func sigtermDrainsInFlightRequestsAndExitsZero() async throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["serve", "--port", "0", "--drain-seconds", "60"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first stdout line says where it listens.
        let port = try await Task.detached { () -> Int in
            var line = Data()
            while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
                line += byte
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let p = text.split(separator: ":").last.flatMap({ Int($0) }) else { throw CancellationError() }
            return p
        }.value
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let long = Array(repeating: "a long review about a film that goes on and on", count: 30).joined(separator: " ")
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/embed")
        request.method = .POST
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: [
            "inputs": Array(repeating: long, count: 16), "truncate": true,
        ])))
        let inFlight = Task { () -> (Int, Int) in
            let response = try await http.execute(request, timeout: .seconds(120))
            let body = try await response.body.collect(upTo: 64 << 20)
            let vectors = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[Double]]
            return (Int(response.status.code), vectors?.count ?? 0)
        }
        try await Task.sleep(for: .milliseconds(300))
        kill(process.processIdentifier, SIGTERM)
        let (status, count) = try await inFlight.value
        #expect(status == 200)
        #expect(count == 16)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "still running a minute after SIGTERM")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("route=POST /embed status=200"), "\(log.suffix(1500))")
        // Nothing listens any more.
        var after = HTTPClientRequest(url: "http://127.0.0.1:\(port)/health")
        after.method = .GET
        await #expect(throws: (any Error).self) { _ = try await http.execute(after, timeout: .seconds(5)) }
        try await http.shutdown()
    }
}
