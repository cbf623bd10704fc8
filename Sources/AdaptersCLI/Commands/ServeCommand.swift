import ArgumentParser
import Foundation
import Hub
import Logging
import Serving

/// `adapters serve`: flags onto `ServerConfiguration`; the `Serving` library does the rest.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve one base model with many adapters over HTTP (predict, embed, tokenize; mixed-adapter batches).",
        discussion: """
            Routes: POST /predict, /embed, /tokenize; GET /health, /info, /metrics, /openapi.json; GET/POST /adapters, \
            DELETE /adapters/NAME. Listens on 127.0.0.1 unless --host says otherwise. SIGTERM or SIGINT stops \
            accepting requests, answers what is queued and exits.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        name: .long,
        help: "NAME=FOLDER or NAME=HUB_ID: an adapter to serve from the start (AdapterHub or PEFT folder, or a head alone). Repeatable.")
    var adapter: [String] = []

    @Option(name: .long, help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port (0: any free port, printed when listening).") var port = 8080
    @Option(name: .long, help: "Tokens one batch may hold.") var maxBatchTokens = 16_384
    @Option(name: .long, help: "Inputs one batch may hold.") var maxBatchRequests = 64
    @Option(name: .long, help: "Inputs waiting before requests get 429.") var maxQueue = 1_024
    @Option(name: .long, help: "Longest input in tokens (default: the model's limit); longer ones get 422 unless the request asks to truncate.")
    var maxInputLength: Int?
    @Option(name: .long, help: "Inputs one request may carry.") var maxInputsPerRequest = 64
    @Option(name: .long, help: "File holding the API key: every route but /health then needs 'Authorization: Bearer KEY'.")
    var apiKeyFile: String?
    @Option(name: .long, help: "Folder under which POST /adapters may load folder sources (none otherwise).")
    var adapterRoot: String?
    @Option(name: .long, help: "Worker threads for the kernels (default: every core).") var threads: Int?
    @Option(name: .long, help: "Seconds a shutdown waits for queued requests.") var drainSeconds: Double = 30

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        for entry in adapter where !entry.contains("=") {
            throw ValidationError("--adapter '\(entry)': expected NAME=FOLDER or NAME=HUB_ID")
        }
    }

    func run() throws {
        if let threads { setenv("ADAPTERS_NUM_THREADS", String(threads), 1) }
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        config.maxBatchTokens = maxBatchTokens
        config.maxBatchRequests = maxBatchRequests
        config.maxQueue = maxQueue
        config.maxInputLength = maxInputLength
        config.maxInputsPerRequest = maxInputsPerRequest
        config.drainSeconds = drainSeconds
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw ValidationError("\(apiKeyFile): cannot read the API key file")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ValidationError("\(apiKeyFile): the API key file is empty") }
            config.apiKey = key
        }
        if let adapterRoot {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: adapterRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--adapter-root \(adapterRoot): no such folder")
            }
            config.adapterRoot = URL(fileURLWithPath: adapterRoot)
        }
        let pretrained = try modelOptions.load()
        var serverLogger = Logger(label: "serve")
        serverLogger.logLevel = logger.logLevel
        let server = try AdapterServer(
            model: pretrained, modelID: modelOptions.modelName, configuration: config, logger: serverLogger)
        for entry in adapter {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let folder = try HubAccess.folder(parts[1], selection: .all)
            try server.addAdapter(name: parts[0], folder: folder, source: parts[1])
            logger.info("adapter \(parts[0]) loaded from \(parts[1])")
        }
        try runBlocking {
            try await server.run { port in
                // The one line scripts wait for.
                print("listening on http://\(host):\(port)")
                fflush(stdout)
            }
        }
        logger.info("stopped")
    }
}
