import AsyncHTTPClient
import Foundation
import HubTestServer
import NIOHTTP1
import Serving
import TestSupport
import Testing

/// `/openapi.json` is kept true: it lists exactly the routes the server answers, and real answers of each
/// route validate against the schema documented for their status.
@Suite("OpenAPI document", .serialized)
struct OpenAPITests {
    /// A JSON-schema subset (type, properties, required, additionalProperties, items, oneOf, enum, $ref,
    /// minItems/maxItems): the problems of `value` against `schema`.
    static func validate(_ value: Any, _ schema: [String: Any], _ doc: [String: Any], at path: String = "$") -> [String] {
        if let ref = schema["$ref"] as? String {
            let name = String(ref.split(separator: "/").last ?? "")
            let schemas = (doc["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
            guard let target = schemas[name] as? [String: Any] else { return ["\(path): unknown $ref \(ref)"] }
            return validate(value, target, doc, at: path)
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            return options.contains { validate(value, $0, doc, at: path).isEmpty } ? [] : ["\(path): matches no option"]
        }
        var problems: [String] = []
        if let type = schema["type"] as? String {
            let ok: Bool
            switch type {
            case "string": ok = value is String
            case "boolean": ok = String(describing: Swift.type(of: value)).contains("Boolean") || Swift.type(of: value) == Bool.self
            case "integer": ok = !String(describing: Swift.type(of: value)).contains("Boolean") && ((value as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } ?? false)
            case "number": ok = value is NSNumber
            case "array": ok = value is [Any]
            case "object": ok = value is [String: Any]
            case "null": ok = value is NSNull
            default: ok = false
            }
            if !ok { return ["\(path): not a \(type)"] }
        }
        if let allowed = schema["enum"] as? [String], let s = value as? String, !allowed.contains(s) {
            problems.append("\(path): \(s) not in \(allowed)")
        }
        if let array = value as? [Any] {
            if let min = schema["minItems"] as? Int, array.count < min { problems.append("\(path): fewer than \(min) items") }
            if let max = schema["maxItems"] as? Int, array.count > max { problems.append("\(path): more than \(max) items") }
            if let items = schema["items"] as? [String: Any] {
                for (i, element) in array.enumerated() { problems += validate(element, items, doc, at: "\(path)[\(i)]") }
            }
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path): missing \(key)") }
            for (key, v) in object {
                if let p = properties[key] as? [String: Any] {
                    problems += validate(v, p, doc, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    problems += validate(v, extra, doc, at: "\(path).\(key)")
                } else if (schema["additionalProperties"] as? Bool) == false {
                    problems.append("\(path): unexpected \(key)")
                }
            }
        }
        return problems
    }

    @Test func theDocumentDescribesEveryRouteAndAnswer() async throws {
        let setup = try ServerTests.setup.get()
        let running = try await ServingFixture.start(setup)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await http.shutdown(); await running.stop() } }
        let client = TestClient(base: running.baseURL, http: http)
        let doc = try #require(try await client.get("/openapi.json").object as [String: Any]?)
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, ops in ops.keys.map { "\($0.uppercased()) \(path)" } })
        let served = Set(AdapterServer.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served)
        // Real requests of every route, including errors, against the schema of the status they got.
        let calls: [(HTTPMethod, String, Any?)] = [
            (.GET, "/health", nil), (.GET, "/info", nil), (.GET, "/metrics", nil), (.GET, "/openapi.json", nil),
            (.POST, "/predict", ["inputs": "good", "adapter": "sb"]),
            (.POST, "/predict", ["inputs": ["good", ["a", "b"]], "adapter": "lo"]),
            (.POST, "/predict", ["inputs": "good", "adapters": ["sb", "dsb"]]),
            (.POST, "/predict", ["inputs": "good", "adapter": "missing"]), (.POST, "/predict", ["inputs": 1]),
            (.POST, "/embed", ["inputs": ["a", "b"], "pooling": "cls"]), (.POST, "/tokenize", ["inputs": [["a", "b"]]]),
            (.GET, "/adapters", nil), (.POST, "/adapters", ["name": "again", "source": "sb"]),
            (.POST, "/adapters", ["name": "sb", "source": "sb"]), (.DELETE, "/adapters/again", nil),
            (.DELETE, "/adapters/missing", nil),
        ]
        for (method, path, body) in calls {
            let reply = try await client.send(method, path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
            let template = path.hasPrefix("/adapters/") ? "/adapters/{name}" : path
            let operation = paths[template]?[method.rawValue.lowercased()] as? [String: Any]
            let responses = try #require(operation?["responses"] as? [String: Any], "\(method) \(path) is not documented")
            let response = try #require(responses[String(reply.status)] as? [String: Any], "\(method) \(path): status \(reply.status) is not documented")
            let content = response["content"] as? [String: Any]
            if let json = (content?["application/json"] as? [String: Any])?["schema"] as? [String: Any] {
                let problems = Self.validate(try #require(reply.json, "\(path): not JSON"), json, doc)
                #expect(problems.isEmpty, "\(method) \(path) → \(reply.status): \(problems.prefix(5))")
            } else if content?["text/plain"] != nil {
                #expect(reply.headers["content-type"]?.hasPrefix("text/plain") == true)
            } else {
                #expect(reply.body.isEmpty, "\(method) \(path): a body where none is documented")
            }
            if path == "/adapters", method == .POST, reply.status == 202 {
                #expect(try await client.waitFor(adapter: "again", status: "ready") != nil)
            }
        }
    }

    /// `POST /adapters` with a Hub id downloads through the Hub client (a local Hub server here).
    @Test func anAdapterLoadsFromTheHub() async throws {
        let setup = try ServerTests.setup.get()
        let hub = try await HubTestServer.start()
        defer { Task { await hub.stop() } }
        let folder = try #require(setup.adapters["dsb"])
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        hub.addRepo("org/dsb-adapter", files: files)
        let cache = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: cache) }
        let running = try await ServingFixture.start(setup) { config in
            config.hub = .init(endpoint: hub.endpoint, cacheDirectory: cache)
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await http.shutdown(); await running.stop() } }
        let client = TestClient(base: running.baseURL, http: http)
        #expect(try await client.post("/adapters", ["name": "hubbed", "source": "org/dsb-adapter"]).status == 202)
        #expect(try await client.waitFor(adapter: "hubbed", status: "ready") != nil)
        let answer = ServerTests.scores(try await client.post("/predict", ["inputs": "good", "adapter": "hubbed", "raw_scores": true]).json)
        let reference = try ServingFixture.reference(setup, adapter: "dsb", text: "good")
        #expect(zip(["a", "b", "c", "d"], reference).allSatisfy { abs((answer[$0] ?? .nan) - Double($1)) <= 1e-5 })
    }
}
