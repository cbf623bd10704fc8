import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import Serving
import TestSupport
import Testing

/// `adapters serve` as a client sees it: the real server on 127.0.0.1 (an ephemeral port), over HTTP.
@Suite("Inference server", .serialized)
struct ServerTests {
    static let setup = Result { try ServingFixture.make() }

    /// Runs `body` against a fresh server, stopping it afterwards.
    func withServer(
        configure: (inout ServerConfiguration) -> Void = { _ in }, logger: Logger? = nil,
        _ body: (TestClient, ServingFixture.Setup) async throws -> Void
    ) async throws {
        let setup = try Self.setup.get()
        try await ServingFixture.withServer(setup, configure: configure, logger: logger) { client, _ in
            try await body(client, setup)
        }
    }

    static func scores(_ any: Any?) -> [String: Double] {
        var out: [String: Double] = [:]
        for entry in any as? [[String: Any]] ?? [] {
            if let label = entry["label"] as? String, let score = (entry["score"] as? NSNumber)?.doubleValue { out[label] = score }
        }
        return out
    }

    @Test func theRoutesAnswer() async throws {
        try await withServer { client, setup in
            let health = try await client.get("/health")
            #expect(health.status == 200 && health.object["status"] as? String == "ok")
            let info = try await client.get("/info")
            #expect(info.status == 200)
            #expect((info.object["adapters"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["dsb", "lo", "sb"])
            #expect((info.object["limits"] as? [String: Any])?["max_input_length"] as? Int == 40)
            let list = try await client.get("/adapters")
            #expect((list.object["adapters"] as? [Any])?.count == 3)
            // One text → a list of labels with scores (softmax, best first); several → a list per input.
            let one = try await client.post("/predict", ["inputs": "a good film", "adapter": "sb"])
            #expect(one.status == 200, "\(one.text)")
            let ranked = one.json as? [[String: Any]] ?? []
            #expect(ranked.count == 2)
            let scores = ranked.compactMap { ($0["score"] as? NSNumber)?.doubleValue }
            #expect(abs(scores.reduce(0, +) - 1) < 1e-5 && scores == scores.sorted(by: >))
            let many = try await client.post(
                "/predict", ["inputs": ["a good film", ["the plot", "was bad"]], "adapter": "dsb", "top_k": 2])
            #expect((many.json as? [[Any]])?.map(\.count) == [2, 2])
            // No adapter: the base model's own head.
            let base = try await client.post("/predict", ["inputs": "it was great", "raw_scores": true])
            let reference = try ServingFixture.reference(setup, adapter: nil, text: "it was great")
            let got = Self.scores(base.json)
            #expect(zip(["negative", "neutral", "positive"], reference).allSatisfy { abs((got[$0] ?? .nan) - Double($1)) <= 1e-5 })
            // Several adapters on the same input (Parallel): one answer per adapter.
            let parallel = try await client.post("/predict", ["inputs": "good", "adapters": ["sb", "lo"], "raw_scores": true])
            for name in ["sb", "lo"] {
                let ref = try ServingFixture.reference(setup, adapter: name, text: "good")
                let answer = Self.scores(parallel.object[name])
                #expect(zip(["neg", "pos"], ref).allSatisfy { abs((answer[$0] ?? .nan) - Double($1)) <= 1e-5 }, "\(name)")
            }
            let embed = try await client.post("/embed", ["inputs": ["a film", "bad"], "normalize": true])
            let vectors = embed.json as? [[Double]] ?? []
            #expect(vectors.count == 2 && vectors.allSatisfy { $0.count == 48 && abs($0.reduce(0) { $0 + $1 * $1 } - 1) < 1e-6 })
            let tokens = try await client.post("/tokenize", ["inputs": "the film"])
            let first = (tokens.json as? [[[String: Any]]])?.first ?? []
            #expect(first.compactMap { $0["text"] as? String } == ["[CLS]", "the", "film", "[SEP]"])
            #expect(first.first?["special"] as? Bool == true)
            let metrics = try await client.get("/metrics")
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("adapters_requests_total{route=\"/predict\",adapter=\"sb\",status=\"200\"} 1"))
            #expect(metrics.text.contains("adapters_batch_size_count"))
            let echoed = try await client.get("/health", headers: [("X-Request-Id", "req-42")])
            #expect(echoed.headers["x-request-id"] == "req-42")
        }
    }

    @Test func errorsAreTypedAndNamed() async throws {
        try await withServer(configure: { $0.maxBodyBytes = 4096; $0.maxInputsPerRequest = 3 }) { client, _ in
            func expectError(_ reply: TestClient.Reply, _ status: Int, _ type: String, _ fragment: String) {
                #expect(reply.status == status, "\(reply.text)")
                #expect(reply.object["error_type"] as? String == type, "\(reply.text)")
                #expect((reply.object["error"] as? String)?.contains(fragment) == true, "\(reply.text)")
            }
            expectError(try await client.post("/predict", ["inputs": "x", "adapter": "nope"]), 404, "NotFound", "no adapter named 'nope'")
            expectError(try await client.send(.POST, "/predict", body: Data("{\"inputs\": ".utf8)), 422, "Validation", "not valid JSON")
            expectError(try await client.post("/predict", ["inputs": 3, "adapter": "sb"]), 422, "Validation", "'inputs'")
            expectError(try await client.post("/predict", ["inputs": "x", "adapter": "sb", "top_k": "2"]), 422, "Validation", "top_k")
            expectError(try await client.post("/predict", ["inputs": "x", "adaptor": "sb"]), 422, "Validation", "unknown field 'adaptor'")
            expectError(try await client.post("/predict", ["inputs": ["a", "b", "c", "d"], "adapter": "sb"]), 422, "Validation", "at most 3")
            let long = Array(repeating: "film", count: 60).joined(separator: " ")
            expectError(try await client.post("/predict", ["inputs": long, "adapter": "sb"]), 422, "Validation", "\"truncate\": true")
            let truncated = try await client.post("/predict", ["inputs": long, "adapter": "sb", "truncate": true])
            #expect(truncated.status == 200)
            expectError(try await client.send(.POST, "/predict", body: Data(repeating: 0x20, count: 5000)), 413, "PayloadTooLarge", "4096")
            expectError(try await client.get("/predict"), 405, "MethodNotAllowed", "GET")
            expectError(try await client.get("/nothing"), 404, "NotFound", "no route")
            expectError(try await client.send(.DELETE, "/adapters/nope"), 404, "NotFound", "nope")
            expectError(try await client.post("/adapters", ["name": "x", "source": "/etc"]), 422, "Validation", "inside the adapter root")
            expectError(try await client.post("/adapters", ["name": "x", "source": "../model"]), 422, "Validation", "inside the adapter root")
            expectError(try await client.post("/adapters", ["name": "sb", "source": "./sb"]), 409, "Conflict", "'sb'")
        }
    }

    /// 200 concurrent requests over four setups (seq_bn, double_seq_bn, LoRA and the base's head) with
    /// random texts: every answer is that input's logits alone, and requests were batched together.
    @Test func concurrentMixedRequestsGetTheirOwnAnswers() async throws {
        try await withServer(configure: { $0.maxBatchRequests = 32 }) { client, setup in
            let words = ServingFixture.vocabulary.filter { $0.count > 1 && !$0.hasPrefix("[") && !$0.hasPrefix("##") }
            var rng = SystemRandomNumberGenerator()
            let requests: [(String?, String)] = (0..<200).map { i in
                let n = 1 + Int.random(in: 0..<30, using: &rng)
                let text = (0..<n).map { _ in words.randomElement(using: &rng) ?? "a" }.joined(separator: " ")
                return ([nil, "sb", "dsb", "lo"][i % 4], text)
            }
            let answers = try await withThrowingTaskGroup(of: (Int, [String: Double]).self) { group in
                for (i, (adapter, text)) in requests.enumerated() {
                    group.addTask {
                        var body: [String: Any] = ["inputs": text, "raw_scores": true]
                        if let adapter { body["adapter"] = adapter }
                        let reply = try await client.post("/predict", body)
                        return (i, reply.status == 200 ? Self.scores(reply.json) : [:])
                    }
                }
                var out = [[String: Double]](repeating: [:], count: requests.count)
                for try await (i, scores) in group { out[i] = scores }
                return out
            }
            var cache: [String: [Float]] = [:]
            for ((adapter, text), answer) in zip(requests, answers) {
                let key = (adapter ?? "") + "|" + text
                let reference = try cache[key] ?? ServingFixture.reference(setup, adapter: adapter, text: text)
                cache[key] = reference
                let labels = adapter == nil ? ["negative", "neutral", "positive"] : adapter == "dsb" ? ["a", "b", "c", "d"] : ["neg", "pos"]
                #expect(answer.count == labels.count, "\(adapter ?? "base"): \(text)")
                for (label, value) in zip(labels, reference) {
                    #expect(abs((answer[label] ?? .nan) - Double(value)) <= 1e-5, "\(adapter ?? "base") \(label): \(text)")
                }
            }
            let metrics = try await client.get("/metrics").text
            let batches = ServingFixture.metric(metrics, "adapters_batch_size_count") ?? 0
            #expect(batches > 0 && batches < 200, "200 requests in \(batches) batches")
        }
    }

    @Test func adaptersLoadAndLeaveUnderTraffic() async throws {
        try await withServer { client, setup in
            // Traffic on `lo` until it is gone (bounded).
            let answered = AnsweredCount()
            let traffic = Task {
                var statuses: [Int] = []
                for i in 0..<5_000 where statuses.last != 404 {
                    let reply = try await client.post("/predict", ["inputs": "good film \(i % 7)", "adapter": "lo"])
                    statuses.append(reply.status)
                    if reply.status == 200 { answered.add() }
                }
                return statuses
            }
            let load = try await client.post("/adapters", ["name": "sb2", "source": "sb"])
            #expect(load.status == 202, "\(load.text)")
            #expect(try await client.waitFor(adapter: "sb2", status: "ready") != nil)
            let answer = Self.scores(try await client.post("/predict", ["inputs": "good", "adapter": "sb2", "raw_scores": true]).json)
            let reference = try ServingFixture.reference(setup, adapter: "sb", text: "good")
            #expect(zip(["neg", "pos"], reference).allSatisfy { abs((answer[$0] ?? .nan) - Double($1)) <= 1e-5 })
            // Deleting an adapter under traffic (once it has answered a few): requests finish or get 404,
            // never an error.
            for _ in 0..<1_000 where answered.value < 10 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await client.send(.DELETE, "/adapters/lo").status == 204)
            let statuses = try await traffic.value
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 404 }, "\(statuses)")
            #expect(statuses.last == 404 && statuses.filter { $0 == 200 }.count >= 10, "\(statuses.count) requests")
            #expect(try await client.post("/predict", ["inputs": "x", "adapter": "lo"]).status == 404)
            // A folder that is not an adapter fails in the background and says why.
            _ = try await client.post("/adapters", ["name": "broken", "source": "."])
            let failure = try await client.waitFor(adapter: "broken", status: "failed")?["error"] as? String
            #expect(failure?.contains("adapter_config.json") == true, "\(failure ?? "nil")")
        }
    }

    @Test func aFullQueueAnswers429() async throws {
        try await withServer(configure: { $0.maxQueue = 4; $0.maxBatchRequests = 1; $0.maxBatchTokens = 40 }) { client, _ in
            let text = Array(repeating: "film", count: 30).joined(separator: " ")
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let r = try await client.post("/predict", ["inputs": [text, text], "adapter": "dsb"])
                        return (r.status, r.headers["retry-after"])
                    }
                }
                var out: [(Int, String?)] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.contains { $0.0 == 200 })
            #expect(statuses.contains { $0.0 == 429 && $0.1 == "1" }, "\(statuses.map(\.0))")
            #expect(statuses.allSatisfy { $0.0 == 200 || $0.0 == 429 })
        }
    }

    @Test func anAPIKeyGuardsEveryRouteButHealth() async throws {
        let log = LogCapture()
        try await withServer(configure: { $0.apiKey = "s3cret-key" }, logger: log.logger) { client, _ in
            #expect(try await client.get("/health").status == 200)
            let denied = try await client.get("/info")
            #expect(denied.status == 401 && denied.headers["www-authenticate"] == "Bearer")
            #expect(try await client.get("/info", headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await client.get("/info", headers: [("Authorization", "Bearer s3cret-key")]).status == 200)
            let ok = try await client.post("/predict", ["inputs": "good", "adapter": "sb"], headers: [("Authorization", "Bearer s3cret-key")])
            #expect(ok.status == 200)
        }
        #expect(!log.lines.isEmpty)
        #expect(!log.lines.contains { $0.contains("s3cret-key") })
    }

    /// Random and hostile bodies: every one gets a 4xx answer, and the server still answers correctly after.
    @Test func malformedRequestsNeverBreakTheServer() async throws {
        try await withServer { client, setup in
            var rng = SplitMix(seed: 7)
            var bodies: [Data] = [
                Data(String(repeating: "[", count: 100_000).utf8), Data(String(repeating: "{\"a\":", count: 20_000).utf8),
                Data(#"{"inputs": "x", "adapter": "sb", "top_k": 1e999}"#.utf8),
                Data(#"{"inputs": "x", "adapter": "sb", "top_k": 123456789012345678901234567890}"#.utf8),
                Data(#"{"inputs": [[["x"]]], "adapter": "sb"}"#.utf8), Data(#"{"inputs": ["a", ["b"]], "adapter": "sb"}"#.utf8),
                Data(#"{"inputs": null}"#.utf8), Data("[]".utf8), Data("\"str\"".utf8), Data([0xFF, 0xFE, 0x00]),
                Data(#"{"inputs": "\ud800"}"#.utf8), Data(#"{"inputs": "x", "adapter": "sb"}{"#.utf8),
            ]
            let valid = Array(#"{"inputs": ["good film", "bad"], "adapter": "sb", "raw_scores": true}"#.utf8)
            for _ in 0..<120 {
                var b = valid
                switch rng.next() % 3 {
                case 0: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
                case 1: for _ in 0..<3 { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                default: b = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
                bodies.append(Data(b))
            }
            for (i, body) in bodies.enumerated() {
                let reply = try await client.send(.POST, "/predict", body: body)
                let fine = reply.status == 200 || (400..<500).contains(reply.status)
                #expect(fine, "body \(i): \(reply.status) \(reply.text.prefix(200))")
                if reply.status != 200 { #expect(reply.object["error_type"] is String, "body \(i)") }
            }
            let after = Self.scores(try await client.post("/predict", ["inputs": "good", "adapter": "sb", "raw_scores": true]).json)
            let reference = try ServingFixture.reference(setup, adapter: "sb", text: "good")
            #expect(zip(["neg", "pos"], reference).allSatisfy { abs((after[$0] ?? .nan) - Double($1)) <= 1e-5 })
        }
    }
}

/// A seeded generator for reproducible random bodies.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Requests answered so far, counted by one task and read by another.
final class AnsweredCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
