import Adapters
import ArgumentParser
import AsyncHTTPClient
import Encoders
import Foundation
import Inference
import Kernels
import ModelIO
import NIOCore
import Tokenizers
import Training

/// `adapters bench serve`: a load generator of ours over loopback against a real `adapters serve`
/// process, against references measured in this process and the PyTorch + `adapters` baseline doing
/// one batch per adapter (tools/bench_serve_baseline.py). Not a test: numbers for BENCHMARKS.md.
struct BenchServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serving throughput and latency: 1 vs 8 mixed adapters, concurrency 1/8/64, short and long inputs.")

    @Option(name: .long, parsing: .upToNextOption, help: "Architectures: minilm-l6 (the real default model), roberta-base (random weights).")
    var arch: [BenchmarkArchitecture] = [.miniLM]
    @Option(name: .long, help: "Concurrency levels, comma-separated.") var concurrency = "1,8,64"
    @Option(name: .long, help: "Requests per setting (at least 4 × the concurrency are sent).") var requests = 128
    @Option(name: .long, help: "Adapters mixed uniformly.") var adapters = 8
    @Option(name: .long, help: "seq_bn adapters loaded for the memory measurement (0: skip).") var memoryAdapters = 100
    @OptionGroup var baseline: BaselineOptions

    func run() throws {
        let levels = concurrency.split(separator: ",").compactMap { Int($0) }
        print("CPU: \(benchmarkCPU()); \(Threading.workerCount) worker threads; BLAS \(BLASInfo.coreName)")
        for a in arch { try bench(a, levels: levels) }
    }

    /// The model folder to serve, made for the benchmark when needed (random roberta-base with the
    /// roberta-base tokenizer; the real all-MiniLM-L6-v2 from the HF cache).
    func modelFolder(_ a: BenchmarkArchitecture, scratch: URL) throws -> URL {
        if a == .miniLM {
            guard let cached = HubAccess.cachedSnapshot(ModelOptions.defaultModelID) else {
                throw ValidationError("the default model is not in the HF cache: run scripts/setup.sh")
            }
            return cached
        }
        let folder = scratch.appendingPathComponent("roberta-base-random")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = a.makeModel(seed: 0)
        var tensors: [SafetensorsWriter.Tensor] = []
        for b in model.weights.bindings where !b.name.hasPrefix("pooler.") {
            tensors.append(.init(name: "roberta." + b.name, shape: b.shape, values: Array(
                UnsafeBufferPointer(start: model.weights.pointer(b.slot) + b.offset, count: b.shape.reduce(1, *)))))
        }
        try SafetensorsWriter.encode(tensors).write(to: folder.appendingPathComponent("model.safetensors"))
        try JSONEncoder().encode(a.config).write(to: folder.appendingPathComponent("config.json"))
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: "Tests/Fixtures/tokenizers/roberta-base/\(name)"), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    /// `count` seq_bn adapters with random values and 2-label heads.
    func makeAdapters(_ count: Int, base: EncoderModel, into root: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return try (0..<count).map { i in
            let lifecycle = ModelWithAdapters(base: base)
            let name = "a\(i)"
            try lifecycle.addAdapter(name, config: .bottleneck(.seqBn), seed: UInt64(i + 1))
            try lifecycle.addClassificationHead(name, labels: ["negative", "positive"], seed: UInt64(i + 1))
            let folder = root.appendingPathComponent(name)
            try lifecycle.saveAdapter(to: folder, name: name)
            return folder
        }
    }

    /// A running `adapters serve` child process.
    final class ServerProcess {
        let process = Process()
        let port: Int

        init(model: URL, adapters: [URL]) throws {
            process.executableURL = try CompareCommand.executable()
            process.arguments = ["serve", "--model", model.path, "--port", "0", "--max-queue", "100000"]
                + adapters.flatMap { ["--adapter", "\($0.lastPathComponent)=\($0.path)"] }
            var env = ProcessInfo.processInfo.environment
            env["ADAPTERS_LOG_LEVEL"] = "warning"
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            var line = Data()
            while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
                line += byte
            }
            guard let p = String(decoding: line, as: UTF8.self).split(separator: ":").last.flatMap({ Int($0) }) else {
                process.terminate()
                throw ValidationError("adapters serve did not start")
            }
            port = p
        }

        var residentBytes: Int {
            let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let kb = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").compactMap { Int($0) }.first
            return (kb ?? 0) * 1024
        }

        func stop() {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    struct Load {
        var seconds: Double
        var latencies: [Double]
        var inputs: Int
        var throughput: Double { Double(inputs) / seconds }
        func percentile(_ p: Double) -> Double {
            let s = latencies.sorted()
            return s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))]
        }
    }

    /// `total` single-input requests, `concurrency` at a time, each to a random adapter of `names`.
    static func load(port: Int, names: [String], text: String, total: Int, concurrency: Int) throws -> Load {
        try runBlocking {
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = Task { try? await http.shutdown() } }
            let body = { (name: String) in
                try JSONSerialization.data(withJSONObject: ["inputs": text, "adapter": name, "truncate": true])
            }
            let counter = Counter(total)
            let start = DispatchTime.now().uptimeNanoseconds
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var mine: [Double] = []
                        var rng = SeededGenerator(seed: UInt64(worker + 1))
                        while counter.take() {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/predict")
                            request.method = .POST
                            request.body = .bytes(ByteBuffer(data: try body(names[Int(rng.next() % UInt64(names.count))])))
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            let response = try await http.execute(request, timeout: .seconds(300))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            guard response.status == .ok else { throw ValidationError("the server answered \(response.status)") }
                            mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                        }
                        return mine
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try await http.shutdown()
            return Load(seconds: seconds, latencies: latencies, inputs: latencies.count)
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var left: Int
        init(_ n: Int) { left = n }
        func take() -> Bool { lock.withLock { left -= 1; return left >= 0 } }
    }

    func bench(_ a: BenchmarkArchitecture, levels: [Int]) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let folder = try modelFolder(a, scratch: scratch)
        let pretrained = try PretrainedModel(folder: folder)
        let adapterFolders = try makeAdapters(max(adapters, 1), base: pretrained.encoder, into: scratch.appendingPathComponent("adapters"))
        let texts = ["short": Array(repeating: "good", count: 14).joined(separator: " "),
                     "long": Array(repeating: "good", count: 98).joined(separator: " ")]

        // References in this process: predict's batch-1 latency and batch-32 × 100 samples/s, same adapter.
        let engine = try AdapterModel.load(adapterFolder: adapterFolders[0], base: pretrained.encoder)
        let tokenizer = try pretrainedTokenizer(pretrained)
        let one = try TokenBatch(sequences: [tokenizer.encode(texts["short"] ?? "").ids], padId: Int32(pretrained.config.padTokenId))
        let many = try TokenBatch(
            sequences: Array(repeating: tokenizer.encode(texts["long"] ?? "").ids, count: 32), padId: Int32(pretrained.config.padTokenId))
        _ = try engine.logits(one)
        var latencies: [Double] = []
        for _ in 0..<30 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try engine.logits(one)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        _ = try engine.logits(many)
        var batchSeconds: [Double] = []
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try engine.logits(many)
            batchSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let predictLatency = median(latencies)
        let batch32 = 32 / median(batchSeconds)
        print("\n== \(a.rawValue): in-process predict batch-1 latency \(String(format: "%.2f", predictLatency)) ms (\(one.sequenceLength) tokens), batch 32 × \(many.sequenceLength): \(String(format: "%.1f", batch32)) samples/s")

        let server = try ServerProcess(model: folder, adapters: adapterFolders)
        defer { server.stop() }
        let allNames = adapterFolders.map(\.lastPathComponent)
        _ = try Self.load(port: server.port, names: allNames, text: texts["long"] ?? "", total: 32, concurrency: 8)
        print("| inputs | adapters | concurrency | inputs/s | p50 ms | p99 ms |")
        print("|---|---|---:|---:|---:|---:|")
        var results: [String: Load] = [:]
        for length in ["short", "long"] {
            for (label, names) in [("1", [allNames[0]]), ("\(allNames.count) mixed", allNames)] {
                for c in levels {
                    let l = try Self.load(port: server.port, names: names, text: texts[length] ?? "", total: max(requests, 4 * c), concurrency: c)
                    results["\(length)|\(label)|\(c)"] = l
                    print(String(format: "| %@ | %@ | %d | %.1f | %.2f | %.2f |", length, label, c, l.throughput, l.percentile(0.5), l.percentile(0.99)))
                }
            }
        }
        let top = levels.max() ?? 64
        if let mixed = results["long|\(allNames.count) mixed|\(top)"], let single = results["long|1|\(top)"] {
            print(String(format: "mixing cost (long, c=%d): %d mixed / 1 adapter = ×%.2f (target ≥ 0.9)", top, allNames.count,
                         mixed.throughput / single.throughput))
            print(String(format: "HTTP + JSON + batching cost (long, c=%d, 1 adapter): %.1f / %.1f batch-32 samples/s = ×%.2f (target ≥ 0.85)",
                         top, single.throughput, batch32, single.throughput / batch32))
        }
        if let c1 = results["short|1|1"] {
            print(String(format: "latency at concurrency 1 (short): p50 %.2f ms vs predict %.2f ms: +%.2f ms (target ≤ 1.5)",
                         c1.percentile(0.5), predictLatency, c1.percentile(0.5) - predictLatency))
        }
        server.stop()

        if memoryAdapters > 0 {
            let memoryFolders = try makeAdapters(memoryAdapters, base: pretrained.encoder, into: scratch.appendingPathComponent("memory"))
            // Both servers get the same traffic (200 long inputs, 8 at a time), so each holds the same
            // request-time memory (activations, the allocator's arenas) when measured.
            let bare = try ServerProcess(model: folder, adapters: [memoryFolders[0]])
            let bareLoadedRSS = bare.residentBytes
            _ = try Self.load(port: bare.port, names: ["a0"], text: texts["long"] ?? "", total: 200, concurrency: 8)
            let bareRSS = bare.residentBytes
            bare.stop()
            let full = try ServerProcess(model: folder, adapters: memoryFolders)
            let loadedRSS = full.residentBytes
            _ = try Self.load(port: full.port, names: memoryFolders.map(\.lastPathComponent), text: texts["long"] ?? "", total: 200, concurrency: 8)
            let fullRSS = full.residentBytes
            full.stop()
            let adapterBytes = try AdapterModel.load(adapterFolder: memoryFolders[0], base: pretrained.encoder).parameters.parameterCount * 4
            let budget = bareRSS + (memoryAdapters - 1) * adapterBytes + 64 << 20
            print(String(format: "memory: 1 adapter %.0f MiB, %d adapters %.0f MiB (+%.1f MiB; %d × %.0f kB = %.1f MiB); budget %.0f MiB: %@",
                         Double(bareRSS) / 1048576, memoryAdapters, Double(fullRSS) / 1048576, Double(fullRSS - bareRSS) / 1048576,
                         memoryAdapters - 1, Double(adapterBytes) / 1000, Double((memoryAdapters - 1) * adapterBytes) / 1048576,
                         Double(budget) / 1048576, fullRSS <= budget ? "met" : "missed"))
            print(String(format: "  once loaded, before any request: 1 adapter %.0f MiB, %d adapters %.0f MiB (+%.1f MiB)",
                         Double(bareLoadedRSS) / 1048576, memoryAdapters, Double(loadedRSS) / 1048576,
                         Double(loadedRSS - bareLoadedRSS) / 1048576))
        }

        if !baseline.noBaseline {
            for length in ["short", "long"] {
                let pt = try baseline.runJSON(baseline.baselinePython, [
                    "tools/bench_serve_baseline.py", "--model", a == .miniLM ? folder.path : "roberta-base-random",
                    "--adapters", String(allNames.count), "--tokens", length == "short" ? "16" : "100",
                    "--requests", String(max(requests, 4 * top)), "--batch", String(top),
                ])
                let theirs = (pt["samples_per_second"] as? NSNumber)?.doubleValue ?? .nan
                if let ours = results["\(length)|\(allNames.count) mixed|\(top)"] {
                    print(String(format: "PyTorch + adapters, one batch per adapter (%@, %d adapters, batches of %d): %.1f inputs/s; ours over HTTP ×%.2f",
                                 length, allNames.count, top, theirs, ours.throughput / theirs))
                }
            }
        }
    }

    func pretrainedTokenizer(_ p: PretrainedModel) throws -> Tokenizers.Tokenizer {
        guard let t = p.tokenizer else { throw ValidationError("\(p.folder.path) has no tokenizer") }
        return t
    }
}
