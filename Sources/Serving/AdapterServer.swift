import Dispatch
import Encoders
import Foundation
import HTTPTypes
import Hub
import Hummingbird
import Inference
import Logging
import NIOCore
import ServiceLifecycle
import Tokenizers

/// `adapters serve`: one base model in memory, any number of adapters, chosen per request, batched
/// together (see `BatchScheduler`). The HTTP API follows Hugging Face text-embeddings-inference where it
/// has the route (`/predict`, `/embed`, `/tokenize`, `/health`, `/info`, `/metrics`, errors as
/// `{"error", "error_type"}`), plus adapter management (`/adapters`) and `/openapi.json`.
public final class AdapterServer: Sendable {
    public static let version = "0.1.0"

    let model: ModelBox
    let configuration: ServerConfiguration
    let registry = AdapterRegistry()
    let scheduler: BatchScheduler
    let metrics = ServerMetrics()
    let logger: Logger
    let modelID: String
    let maxInputLength: Int
    /// Background loads that failed, by name, until the name is loaded or deleted.
    let failures = LockedDictionary()

    /// The loaded base model; used by the compute thread (forward passes) and for tokenization.
    final class ModelBox: @unchecked Sendable {
        let pretrained: PretrainedModel
        init(_ p: PretrainedModel) { pretrained = p }
    }

    final class LockedDictionary: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String: String] = [:]
        subscript(key: String) -> String? {
            get { lock.withLock { values[key] } }
            set { lock.withLock { values[key] = newValue } }
        }
        var all: [String: String] { lock.withLock { values } }
    }

    /// - Parameter modelID: how `/info` names the model (a Hub id or the folder).
    public init(model: PretrainedModel, modelID: String, configuration: ServerConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.model = ModelBox(model)
        self.modelID = modelID
        self.configuration = configuration
        self.logger = logger
        let modelLimit = TextEncoder.modelMaxLength(model.config)
        maxInputLength = min(configuration.maxInputLength ?? modelLimit, modelLimit)
        scheduler = try BatchScheduler(
            base: model.encoder, maxBatchTokens: configuration.maxBatchTokens,
            maxBatchRequests: configuration.maxBatchRequests, maxQueue: configuration.maxQueue,
            abandonedCheckSeconds: configuration.abandonedCheckSeconds, metrics: metrics)
    }

    /// Loads an adapter folder before serving (`--adapter NAME=DIR`).
    public func addAdapter(name: String, folder: URL, source: String) throws {
        guard AdapterRegistry.validName(name) else {
            throw ServingError.adapter(name: name, detail: "a name is letters, digits, '_' and '-' (at most 128)")
        }
        guard registry.adapter(name) == nil else { throw ServingError.adapter(name: name, detail: "loaded twice") }
        registry.insert(try ServedAdapter.load(name: name, folder: folder, base: model.pretrained.encoder, source: source))
    }

    public var adapterNames: [String] { registry.all.map(\.name) }

    // MARK: - Running

    func application(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let responder = CallbackResponder<ConnectionContext> { [self] request, context in
            await ClientConnection.$current.withValue(ClientConnection(channel: context.channel)) {
                await respond(to: request)
            }
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "swift-adapters"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: quiet)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections, lets in-flight requests finish and
    /// answers what is queued (at most `drainSeconds`), and returns.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [application(onListening: onListening)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        scheduler.drain(timeout: configuration.drainSeconds)
    }

    /// A server running in this process (tests): its port, and `stop()` for a graceful shutdown.
    public final class Running: Sendable {
        public let port: Int
        let group: ServiceGroup
        let task: Task<Void, Error>
        let server: AdapterServer

        init(port: Int, group: ServiceGroup, task: Task<Void, Error>, server: AdapterServer) {
            self.port = port
            self.group = group
            self.task = task
            self.server = server
        }

        public var baseURL: String { "http://127.0.0.1:\(port)" }

        public func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            server.scheduler.drain(timeout: server.configuration.drainSeconds)
        }
    }

    /// Starts listening and returns once connections are accepted.
    public func start() async throws -> Running {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [application(onListening: { continuation.yield($0); continuation.finish() })], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw ServingError.configuration("could not listen on \(configuration.host):\(configuration.port)")
        }
        return Running(port: port, group: group, task: task, server: self)
    }

    // MARK: - Routing

    /// Routes by method and path; every answer carries the request id.
    func respond(to request: Request) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let requestID = Self.requestID(request.headers[HTTPField.Name("X-Request-Id")!])
        let path = request.uri.path
        let method = request.method.rawValue
        var info = RequestLog()
        let response: Response
        do {
            if path != "/health" { try authorize(request) }
            response = try await route(method: method, path: path, request: request, log: &info)
        } catch let error as APIError {
            response = Self.error(error)
        } catch {
            response = Self.error(.backend("\(error)"))
        }
        var answered = response
        answered.headers[HTTPField.Name("X-Request-Id")!] = requestID
        let status = Int(answered.status.code)
        metrics.request(route: info.route ?? "other", adapter: info.adapter ?? "", status: status)
        var meta: Logger.Metadata = [
            "request_id": .string(requestID), "route": .string("\(method) \(path)"), "status": .stringConvertible(status),
            "ms": .string(String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)),
        ]
        if let a = info.adapter { meta["adapter"] = .string(a) }
        if let b = info.batch { meta["batch_id"] = .string(b) }
        if let q = info.queueMilliseconds { meta["queue_ms"] = .string(String(format: "%.2f", q)) }
        if let c = info.computeMilliseconds { meta["compute_ms"] = .string(String(format: "%.2f", c)) }
        logger.info("request", metadata: meta)
        return answered
    }

    struct RequestLog {
        var route: String?
        var adapter: String?
        var batch: String?
        var queueMilliseconds: Double?
        var computeMilliseconds: Double?

        mutating func record(_ results: [QueuedItem.Result]) {
            batch = results.map { String($0.batchID) }.joined(separator: ",")
            queueMilliseconds = (results.map(\.queueSeconds).max() ?? 0) * 1000
            computeMilliseconds = (results.map(\.computeSeconds).max() ?? 0) * 1000
        }
    }

    /// The routes: (method, path pattern) → handler; `{name}` matches one segment.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/info"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("POST", "/predict"),
        ("POST", "/embed"), ("POST", "/tokenize"), ("GET", "/adapters"), ("POST", "/adapters"),
        ("DELETE", "/adapters/{name}"),
    ]

    func route(method: String, path: String, request: Request, log: inout RequestLog) async throws -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let pattern: String
        var name: String?
        if segments.count == 2, segments[0] == "adapters", !segments[1].isEmpty {
            pattern = "/adapters/{name}"
            name = segments[1].removingPercentEncoding ?? segments[1]
        } else {
            pattern = path
        }
        let allowed = Self.routes.filter { $0.path == pattern }.map(\.method)
        guard !allowed.isEmpty else { throw APIError.notFound("no route \(method) \(path) (see /openapi.json)") }
        guard allowed.contains(method) else { throw APIError.methodNotAllowed(method, path, allowed: allowed) }
        log.route = pattern
        switch (method, pattern) {
        case ("GET", "/health"): return Self.json(200, ["status": "ok"])
        case ("GET", "/info"): return Self.json(200, info())
        case ("GET", "/metrics"):
            metrics.queueDepth.set(Double(scheduler.depth))
            return Self.text(200, metrics.text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        case ("GET", "/openapi.json"): return Self.json(200, OpenAPIDocument.document)
        case ("POST", "/predict"): return try await predict(try await body(request), log: &log)
        case ("POST", "/embed"): return try await embed(try await body(request), log: &log)
        case ("POST", "/tokenize"): return try tokenize(try await body(request))
        case ("GET", "/adapters"): return Self.json(200, adapterList())
        case ("POST", "/adapters"): return try await loadAdapter(try await body(request))
        default:
            guard let name else { throw APIError.notFound("no route \(method) \(path)") }
            log.adapter = name
            guard registry.remove(name) != nil || failures[name] != nil else {
                throw APIError.notFound("no adapter named '\(name)'")
            }
            failures[name] = nil
            return Response(status: .noContent)
        }
    }

    func body(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(configuration.maxBodyBytes)
        }
    }

    func authorize(_ request: Request) throws {
        guard let key = configuration.apiKey else { return }
        let given = request.headers[.authorization] ?? ""
        guard Self.constantTimeEqual(Array(given.utf8), Array("Bearer \(key)".utf8)) else { throw APIError.unauthorized() }
    }

    /// Compares without stopping at the first difference, so the time taken tells nothing about the key.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// The client's `X-Request-Id` when it is a plain token (letters, digits, `-_.:`, at most 128), else a new one.
    static func requestID(_ given: String?) -> String {
        if let given, !given.isEmpty, given.count <= 128,
            given.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0)) })
        {
            return given
        }
        return UUID().uuidString.lowercased()
    }

    // MARK: - Handlers

    func tokenized(_ texts: [(String, String?)], truncate: Bool) throws -> [TokenizedInput] {
        guard let tokenizer = model.pretrained.tokenizer else {
            throw APIError.validation("the model has no tokenizer files: text input cannot be tokenized")
        }
        guard texts.count <= configuration.maxInputsPerRequest else {
            throw APIError.validation("\(texts.count) inputs in one request; at most \(configuration.maxInputsPerRequest)")
        }
        let hasPairs = texts.contains { $0.1 != nil }
        let options = EncodeOptions(
            addSpecialTokens: true, maxLength: truncate ? maxInputLength : nil, truncation: truncate, padding: .none)
        let encodings = tokenizer.encodeBatch(
            texts.map(\.0), pairs: hasPairs ? texts.map { $0.1 ?? "" } : nil, options: options)
        return try encodings.enumerated().map { i, e in
            guard e.ids.count <= maxInputLength else {
                throw APIError.validation(
                    "input \(i) has \(e.ids.count) tokens; at most \(maxInputLength) (send \"truncate\": true to cut it)")
            }
            return TokenizedInput(ids: e.ids, typeIds: tokenizer.usesTokenTypeIds ? e.typeIds : nil)
        }
    }

    func predict(_ bytes: [UInt8], log: inout RequestLog) async throws -> Response {
        let body = try RequestBody(bytes, allowed: ["inputs", "adapter", "adapters", "raw_scores", "top_k", "truncate"])
        let (texts, single) = try body.inputs(pairs: true)
        var names: [String?]
        if let list = try body.strings("adapters") {
            guard try body.string("adapter") == nil else { throw APIError.validation("give 'adapter' or 'adapters', not both") }
            guard !list.isEmpty, Set(list).count == list.count else {
                throw APIError.validation("'adapters' must name distinct adapters")
            }
            names = list
        } else {
            names = [try body.string("adapter")]
        }
        let served = try names.map { name -> ServedAdapter? in
            guard let name else {
                guard model.pretrained.encoder.head != nil else {
                    throw APIError.validation("no 'adapter' given, and the base model has no classification head of its own")
                }
                return nil
            }
            guard let a = registry.adapter(name) else {
                let loading = registry.loadingNames.contains(name) ? " (it is still loading)" : ""
                throw APIError.notFound("no adapter named '\(name)'\(loading)")
            }
            return a
        }
        log.adapter = names.map { $0 ?? "" }.joined(separator: ",")
        let rawScores = try body.bool("raw_scores") ?? false
        let inputs = try tokenized(texts, truncate: try body.bool("truncate") ?? false)
        let topK = try body.integer("top_k", in: 1...1_000_000)
        let results = try await withThrowingTaskGroup(of: (Int, QueuedItem.Result).self) { group in
            for (k, adapter) in served.enumerated() {
                group.addTask { (k, try await self.scheduler.run(QueuedItem(inputs: inputs, job: .classify(adapter)))) }
            }
            var out = [QueuedItem.Result?](repeating: nil, count: served.count)
            for try await (k, r) in group { out[k] = r }
            return out.compactMap { $0 }
        }
        log.record(results)
        func answer(_ result: QueuedItem.Result, labels: [String]) -> Any {
            let perInput = result.outputs.map { logits -> [[String: Any]] in
                let scores = rawScores ? logits : softmax(logits)
                let ranked = zip(labels, scores).sorted { $0.1 > $1.1 }.prefix(topK ?? labels.count)
                return ranked.map { ["label": $0.0, "score": Double($0.1)] }
            }
            return single ? perInput[0] : perInput
        }
        let labelsOf = served.map { $0?.labels ?? model.pretrained.encoder.classLabels }
        if body.members["adapters"] == nil { return Self.json(200, answer(results[0], labels: labelsOf[0])) }
        var byAdapter: [String: Any] = [:]
        for (k, name) in names.enumerated() { byAdapter[name ?? ""] = answer(results[k], labels: labelsOf[k]) }
        return Self.json(200, byAdapter)
    }

    func embed(_ bytes: [UInt8], log: inout RequestLog) async throws -> Response {
        let body = try RequestBody(bytes, allowed: ["inputs", "normalize", "pooling", "truncate"])
        let (texts, _) = try body.inputs(pairs: false)
        let pooling = try body.string("pooling") ?? "mean"
        guard pooling == "mean" || pooling == "cls" else { throw APIError.validation("'pooling' must be \"mean\" or \"cls\"") }
        let normalize = try body.bool("normalize") ?? true
        let inputs = try tokenized(texts, truncate: try body.bool("truncate") ?? false)
        let result = try await scheduler.run(QueuedItem(inputs: inputs, job: .embed(cls: pooling == "cls")))
        log.record([result])
        let vectors = result.outputs.map { v -> [Double] in
            guard normalize else { return v.map(Double.init) }
            let norm = max(v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
            return v.map { Double($0) / norm }
        }
        return Self.json(200, vectors)
    }

    func tokenize(_ bytes: [UInt8]) throws -> Response {
        let body = try RequestBody(bytes, allowed: ["inputs", "add_special_tokens"])
        let (texts, _) = try body.inputs(pairs: true)
        guard let tokenizer = model.pretrained.tokenizer else {
            throw APIError.validation("the model has no tokenizer files")
        }
        guard texts.count <= configuration.maxInputsPerRequest else {
            throw APIError.validation("\(texts.count) inputs in one request; at most \(configuration.maxInputsPerRequest)")
        }
        let options = EncodeOptions(addSpecialTokens: try body.bool("add_special_tokens") ?? true, padding: .none)
        let out = texts.map { text, pair -> [[String: Any]] in
            let e = tokenizer.encode(text, pair: pair, options: options)
            return e.ids.enumerated().map { i, id in
                ["id": Int(id), "text": tokenizer.idToToken(id) ?? "", "special": e.specialTokensMask[i] == 1]
            }
        }
        return Self.json(200, out)
    }

    func info() -> [String: Any] {
        let config = model.pretrained.config
        return [
            "model_id": modelID, "model_type": config.modelType.rawValue,
            "architecture": [
                "hidden_size": config.hiddenSize, "layers": config.numHiddenLayers, "heads": config.numAttentionHeads,
                "vocab_size": config.vocabSize,
            ],
            "base_head": model.pretrained.encoder.head.map { ["labels": $0.labels] as Any } ?? NSNull(),
            "adapters": adapterList()["adapters"] ?? [],
            "limits": [
                "max_batch_tokens": configuration.maxBatchTokens, "max_batch_requests": configuration.maxBatchRequests,
                "max_queue": configuration.maxQueue, "max_input_length": maxInputLength,
                "max_inputs_per_request": configuration.maxInputsPerRequest, "max_body_bytes": configuration.maxBodyBytes,
            ],
            "version": Self.version,
        ]
    }

    func adapterList() -> [String: Any] {
        let loaded: [[String: Any]] = registry.all.map { a in
            [
                "name": a.name, "method": a.method, "parameters": a.parameters, "bytes": a.bytes, "labels": a.labels,
                "source": a.source, "status": "ready",
            ]
        }
        let loading: [[String: Any]] = registry.loadingNames.map { ["name": $0, "status": "loading"] }
        let failed: [[String: Any]] = failures.all.sorted { $0.key < $1.key }.map {
            ["name": $0.key, "status": "failed", "error": $0.value]
        }
        return ["adapters": loaded + loading + failed]
    }

    /// `POST /adapters {"name", "source", "revision"?, "replace"?}`: loads in the background (202); the
    /// adapter serves once `GET /adapters` lists it as ready.
    func loadAdapter(_ bytes: [UInt8]) async throws -> Response {
        let body = try RequestBody(bytes, allowed: ["name", "source", "revision", "replace"])
        guard let name = try body.string("name"), AdapterRegistry.validName(name) else {
            throw APIError.validation("'name' must be letters, digits, '_' and '-' (at most 128)")
        }
        guard let source = try body.string("source"), !source.isEmpty else { throw APIError.validation("missing field 'source'") }
        let revision = try body.string("revision")
        // A path, or a name under --adapter-root that exists there, is a folder; anything else a Hub id.
        let pathLike = ["/", "./", "../", "~"].contains { source.hasPrefix($0) } || source == "." || source.contains("..")
        let underRoot = configuration.adapterRoot.map {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent(source).path)
        } ?? false
        var folder: URL?
        if pathLike || underRoot {
            folder = try confined(source)
        } else {
            do { _ = try RepoID(source) } catch { throw APIError.validation("'source' is neither a folder path nor a Hub id: \(error)") }
        }
        guard registry.reserve(name, replace: try body.bool("replace") ?? false) else {
            throw APIError.conflict("an adapter named '\(name)' is loaded or loading (send \"replace\": true to replace it)")
        }
        failures[name] = nil
        let base = model.pretrained.encoder
        let log = logger
        let hubEnvironment = configuration.hub
        Task.detached { [registry, failures] in
            do {
                let resolved: URL
                if let folder {
                    resolved = folder
                } else {
                    resolved = try await HubClient.with(environment: hubEnvironment, logger: log) { hub in
                        try await hub.resolveFolder(source, revision: revision, selection: .all)
                    }
                }
                let adapter = try ServedAdapter.load(name: name, folder: resolved, base: base, source: source)
                registry.finish(name, with: adapter)
                log.info("adapter loaded", metadata: ["adapter": .string(name), "source": .string(source)])
            } catch {
                registry.finish(name, with: nil)
                failures[name] = "\(error)"
                log.warning("adapter failed to load", metadata: ["adapter": .string(name), "error": .string("\(error)")])
            }
        }
        return Self.json(202, ["name": name, "status": "loading"])
    }

    /// A folder path from a request, allowed only inside `--adapter-root` (after resolving `..` and links).
    func confined(_ path: String) throws -> URL {
        guard let root = configuration.adapterRoot else {
            throw APIError.validation("folder sources are disabled: start the server with --adapter-root DIR")
        }
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        let expanded = (path as NSString).expandingTildeInPath
        let candidate = (expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : root.appendingPathComponent(expanded))
            .standardizedFileURL.resolvingSymlinksInPath()
        guard candidate.path == rootPath || candidate.path.hasPrefix(rootPath + "/") else {
            throw APIError.validation("'source' must be a folder inside the adapter root")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw APIError.notFound("no adapter folder at '\(path)' in the adapter root")
        }
        return candidate
    }

    // MARK: - Responses

    static func json(_ status: Int, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ status: Int, _ text: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ e: APIError) -> Response {
        var response = json(e.status, ["error": e.message, "error_type": e.type])
        for (name, value) in e.headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        return response
    }
}

/// Hummingbird's basic context plus the connection, so queued work can tell whether its client is still
/// there (`ClientConnection`).
struct ConnectionContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
