import Adapters
import AsyncHTTPClient
import Encoders
import Foundation
import Testing
import Inference
import Kernels
import Logging
import NIOCore
import NIOHTTP1
import Serving
import TestSupport
import Tokenizers
import Training

/// A tiny served model for the server tests: the tiny BERT classifier of the encoder fixtures (it has a
/// head of its own, for requests without an adapter) with a small WordPiece vocabulary written here, and
/// three adapters drawn at random and saved as AdapterHub folders — seq_bn, double_seq_bn and LoRA.
enum ServingFixture {
    static let adapterMethods: [(String, AdapterConfig)] = [
        ("sb", .bottleneck(.seqBn)), ("dsb", .bottleneck(.doubleSeqBn)), ("lo", .lora(LoRAConfig())),
    ]

    /// 120 tokens, as the tiny model's embedding table: specials where BERT has them ([PAD] 0, [UNK] 100,
    /// [CLS] 101, [SEP] 102, [MASK] 103), letters and word pieces so any lowercase text tokenizes.
    static var vocabulary: [String] {
        var v = [String](repeating: "", count: 120)
        let letters = "abcdefghijklmnopqrstuvwxyz".map(String.init)
        let words = ["the", "a", "film", "movie", "good", "bad", "great", "is", "was", "it", "and", "not", "very", "plot"]
        var rest = letters + letters.map { "##" + $0 } + (0...9).map(String.init) + [".", ",", "!", "?", "'"] + words
        for i in 0..<120 {
            switch i {
            case 0: v[i] = "[PAD]"
            case 100: v[i] = "[UNK]"
            case 101: v[i] = "[CLS]"
            case 102: v[i] = "[SEP]"
            case 103: v[i] = "[MASK]"
            default: v[i] = rest.isEmpty ? "[unused\(i)]" : rest.removeFirst()
            }
        }
        return v
    }

    struct Setup {
        let root: URL
        let model: URL
        let adapters: [String: URL]
        let pretrained: PretrainedModel
    }

    /// Writes the model folder and the adapter folders under a fresh temporary folder.
    static func make() throws -> Setup {
        let root = try Fixtures.temporaryFolder()
        let model = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.url("encoders/tiny-bert-cls"), to: model)
        try (vocabulary.joined(separator: "\n") + "\n").write(
            to: model.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"do_lower_case": true}"#.write(
            to: model.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let pretrained = try PretrainedModel(folder: model)
        let adapterRoot = root.appendingPathComponent("adapters")
        try FileManager.default.createDirectory(at: adapterRoot, withIntermediateDirectories: true)
        var folders: [String: URL] = [:]
        for (k, (name, config)) in adapterMethods.enumerated() {
            let lifecycle = ModelWithAdapters(base: pretrained.encoder, modelName: "tiny-bert")
            try lifecycle.addAdapter(name, config: config)
            try lifecycle.addClassificationHead(name, labels: k == 1 ? ["a", "b", "c", "d"] : ["neg", "pos"])
            let engine = try lifecycle.trainingModelFor(name)
            for (i, tensor) in engine.trainableNames.enumerated() {
                try engine.setTensor(tensor, randomFloats(engine.tensor(tensor)?.count ?? 0, seed: UInt64(100 * k + i), scale: 0.4))
            }
            let folder = adapterRoot.appendingPathComponent(name)
            try lifecycle.saveAdapter(to: folder, name: name)
            folders[name] = folder
        }
        return Setup(root: root, model: model, adapters: folders, pretrained: pretrained)
    }

    /// A running server with every fixture adapter loaded.
    static func start(_ setup: Setup, configure: (inout ServerConfiguration) -> Void = { _ in }, logger: Logger? = nil)
        async throws -> AdapterServer.Running
    {
        var config = ServerConfiguration()
        config.port = 0
        config.adapterRoot = setup.root.appendingPathComponent("adapters")
        configure(&config)
        var quiet = Logger(label: "serve-test")
        quiet.logLevel = .critical
        let server = try AdapterServer(model: setup.pretrained, modelID: "tiny-bert", configuration: config, logger: logger ?? quiet)
        for (name, folder) in setup.adapters.sorted(by: { $0.key < $1.key }) {
            try server.addAdapter(name: name, folder: folder, source: folder.path)
        }
        return try await server.start()
    }

    /// Runs `body` against a fresh server and a client of it, stopping both afterwards (also on failure).
    static func withServer(
        _ setup: Setup, configure: (inout ServerConfiguration) -> Void = { _ in }, logger: Logger? = nil,
        _ body: (TestClient, AdapterServer.Running) async throws -> Void
    ) async throws {
        let running = try await start(setup, configure: configure, logger: logger)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(TestClient(base: running.baseURL, http: http), running)
        } catch {
            try? await http.shutdown()
            await running.stop()
            throw error
        }
        try await http.shutdown()
        await running.stop()
    }

    /// The value of the `/metrics` line for `name` without labels, or nil.
    static func metric(_ text: String, _ name: String) -> Double? {
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// What `predict` gives for `text` alone: the adapter folder loaded on its own (or the base's head).
    static func reference(_ setup: Setup, adapter: String?, text: String) throws -> [Float] {
        let tokenizer = try #require(setup.pretrained.tokenizer)
        let ids = tokenizer.encode(text).ids
        let batch = try TokenBatch(sequences: [ids], padId: 0)
        guard let adapter, let folder = setup.adapters[adapter] else { return try setup.pretrained.encoder.classify(batch) }
        return try AdapterModel.load(adapterFolder: folder, base: setup.pretrained.encoder).logits(batch)
    }
}

extension ModelWithAdapters {
    /// The engine that trains `name` (adapter and its head), for drawing its tensors in tests.
    func trainingModelFor(_ name: String) throws -> AdapterModel {
        try trainAdapter(AdapterSetup([name]))
        return try trainingModel()
    }
}

/// A small HTTP client for the tests.
struct TestClient {
    let base: String
    let http: HTTPClient

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        // Generous: CI runs this beside other suites on two cores (ASan too); a healthy server answers in milliseconds.
        let response = try await http.execute(request, timeout: .seconds(180))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        var fields: [String: String] = [:]
        for h in response.headers { fields[h.name.lowercased()] = h.value }
        return Reply(status: Int(response.status.code), headers: fields, body: Data(buffer.readableBytesView))
    }

    func post(_ path: String, _ object: Any, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.POST, path, body: try JSONSerialization.data(withJSONObject: object), headers: headers)
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.GET, path, headers: headers)
    }

    /// Polls `GET /adapters` (up to 10 s) until `name` has `status`; returns its entry, nil if it never did.
    func waitFor(adapter name: String, status: String) async throws -> [String: Any]? {
        for _ in 0..<400 {
            let list = try await get("/adapters").object["adapters"] as? [[String: Any]] ?? []
            if let entry = list.first(where: { $0["name"] as? String == name && $0["status"] as? String == status }) {
                return entry
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }
}
