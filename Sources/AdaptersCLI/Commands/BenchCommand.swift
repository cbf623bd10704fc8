import ArgumentParser
import Foundation
import Inference
import Kernels
import Tokenizers

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks against the PyTorch/HF baseline, measured in the same sitting.",
        subcommands: [BenchInference.self, BenchTrain.self, BenchTokenize.self, BenchDataset.self, BenchServe.self, BenchDistributed.self])
}

/// This machine's CPU for a benchmark's header: model name and the vector/matrix flags that decide
/// which kernels run (every number is recorded with them).
/// `--precision` of `bench inference` and `bench train`, and the PyTorch baseline that goes with bf16.
struct BenchPrecisionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "fp32, or bf16: ours in bf16 mixed precision against PyTorch under torch.autocast(\"cpu\", dtype=torch.bfloat16) (--bf16-baseline-script).")
    var precision: Precision = .fp32

    @Option(name: .long, help: "The PyTorch bf16 autocast baseline (wraps pt_baseline.py's cases).")
    var bf16BaselineScript = "tools/bench_bf16_baseline.py"

    func resolved() throws -> ResolvedPrecision {
        do { return try precision.resolved() } catch { throw ValidationError("\(error)") }
    }
}

/// The precision line of a benchmark's header: what ran, and the CPU's bf16 units.
func benchmarkPrecisionLine(_ precision: ResolvedPrecision) -> String {
    let units = BF16Support.cpuFeatures.isEmpty ? "none" : BF16Support.cpuFeatures.joined(separator: ", ")
    return precision == .bf16
        ? "precision: bf16 (\(BF16Support.oneDNNDescription); CPU bf16 units: \(units)); baseline under torch.autocast(\"cpu\", dtype=torch.bfloat16)"
        : "precision: fp32 (CPU bf16 units: \(units))"
}

func benchmarkCPU() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let name = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last ?? "unknown"
    let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
    let shown = ["avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"].filter(flags.contains)
    return "\(name.trimmingCharacters(in: .whitespaces)) [\(shown.joined(separator: " "))]"
}

/// Where the reference measurements come from; both default to the repository's conventions.
struct BaselineOptions: ParsableArguments {
    @Option(name: .long, help: "Python of the pinned baseline venv (shared/bench/setup_venv.sh makes .venv-bench).")
    var baselinePython = ".venv-bench/bin/python"

    @Option(name: .long, help: "The PyTorch baseline script.")
    var baselineScript = "../shared/bench/pt_baseline.py"

    @Flag(name: .long, help: "Measure only SwiftAdapters.")
    var noBaseline = false

    /// Runs `python script args…` and returns the last line of its output parsed as JSON.
    func runJSON(_ python: String, _ arguments: [String], environment: [String: String] = [:]) throws -> [String: Any] {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw ValidationError(
                "baseline python \(python) not found: run `bash ../shared/bench/setup_venv.sh`, or pass --no-baseline")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ValidationError(
                "baseline \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
        // The JSON may span lines (indent=2); take the outermost object.
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"),
            let object = try JSONSerialization.jsonObject(with: Data(text[start...end].utf8)) as? [String: Any]
        else {
            throw ValidationError("baseline \(arguments.joined(separator: " ")) printed no JSON")
        }
        return object
    }
}

struct BenchInference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Classification inference, batch 32 × 100 (samples/s) and batch 1 × 16 (latency), random weights.")

    @Option(name: .long, parsing: .upToNextOption, help: "Architectures: roberta-base, minilm-l6.")
    var arch: [BenchmarkArchitecture] = BenchmarkArchitecture.allCases

    @Option(name: .long, help: "Timed batches per architecture and round.")
    var steps = 5

    @Option(
        name: .long,
        help: """
            Rounds, each measuring ours then PyTorch, so that both sides see the same phases of a \
            machine whose speed drifts; the table pools every round's samples.
            """)
    var rounds = 3

    @OptionGroup var baseline: BaselineOptions

    @OptionGroup var precisionOptions: BenchPrecisionOptions

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1 (got \(steps))") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1 (got \(rounds))") }
    }

    func run() throws {
        let resolved = try precisionOptions.resolved()
        print(
            "BLAS kernels: \(BLASInfo.coreName); \(Threading.workerCount) worker threads; peak GEMM-bound work counts padded tokens like the baseline"
        )
        print(benchmarkPrecisionLine(resolved))
        let script = resolved == .bf16 ? precisionOptions.bf16BaselineScript : baseline.baselineScript
        var rows: [String] = []
        for a in arch {
            var bench = InferenceBenchmark()
            bench.steps = steps
            bench.precision = resolved
            let setup = try bench.prepare(a)
            // The baseline's batch is the same (`pt_baseline.py`'s BATCH).
            let batch = Double(bench.batch)
            var ourSteps: [Double] = []
            var ourLatency: [Double] = []
            var theirSteps: [Double] = []
            var theirLatency: [Double] = []
            for round in 1...rounds {
                let ours = try bench.run(setup)
                ourSteps += ours.stepSeconds
                ourLatency += ours.latencyMilliseconds
                if round == 1 {
                    for (title, parts) in [("batch 32 × 100", ours.breakdown), ("batch 1 × 16", ours.latencyBreakdown)]
                    {
                        let total = parts.reduce(0) { $0 + $1.seconds }
                        let shares = parts.map { s -> String in
                            let rate = s.flops > 0 ? String(format: " at %.0f GFLOP/s", s.flops / s.seconds / 1e9) : ""
                            return String(format: "%@ %.1f%%%@", s.section.rawValue, 100 * s.seconds / total, rate)
                        }
                        print("  where the time goes, \(title): \(shares.joined(separator: ", "))")
                    }
                }
                var line = String(
                    format: "  round %d: ours %.2f samples/s, batch-1 latency %.2f ms", round,
                    ours.samplesPerSecondMedian,
                    ours.latencyMedian)
                if !baseline.noBaseline {
                    let pt = try baseline.runJSON(
                        baseline.baselinePython,
                        [script, "case", a.baselineInferenceCase, "--steps", String(steps)],
                        environment: ["PT_BASELINE_DIR": URL(fileURLWithPath: baseline.baselineScript).deletingLastPathComponent().path])
                    let ptStepSeconds = (pt["step_s"] as? [NSNumber])?.map(\.doubleValue) ?? []
                    let lat = (pt["latency_b1_ms"] as? [NSNumber])?.map(\.doubleValue) ?? []
                    guard !ptStepSeconds.isEmpty, !lat.isEmpty else {
                        throw ValidationError("baseline \(a.baselineInferenceCase) reported no step_s or latency_b1_ms")
                    }
                    theirSteps += ptStepSeconds
                    theirLatency += lat
                    let ptSamples = batch / median(ptStepSeconds)
                    let ptLatency = median(lat)
                    line += String(
                        format: "; PyTorch %.2f samples/s, %.2f ms → throughput ×%.2f, latency ×%.2f", ptSamples,
                        ptLatency,
                        ours.samplesPerSecondMedian / ptSamples, ours.latencyMedian / ptLatency)
                }
                print(line)
            }
            let samples = batch / median(ourSteps)
            let latency = median(ourLatency)
            var row = "| \(a.rawValue) | \(String(format: "%.2f", samples)) | \(String(format: "%.2f", latency)) ms"
            if !baseline.noBaseline {
                let ptSamples = batch / median(theirSteps)
                let ptLatency = median(theirLatency)
                row += String(
                    format: " | %.2f | %.2f ms | ×%.2f | ×%.2f", ptSamples, ptLatency, samples / ptSamples,
                    latency / ptLatency)
            }
            rows.append(row + " |")
        }
        print(
            "\n| arch | ours samples/s | ours b1 latency | PyTorch samples/s | PyTorch b1 latency | throughput ratio | latency ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        rows.forEach { print($0) }
        print(
            "(medians over \(rounds) round(s), each \(steps) batch-32 steps and 30 batch-1 passes of ours, \(steps) and 20 of PyTorch)"
        )
        if let rss = peakResidentMiB() { print(String(format: "\npeak RSS of this process: %.0f MiB", rss)) }
    }
}

extension BenchmarkArchitecture: ExpressibleByArgument {}

struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize every SST-2 train sentence: one thread and all cores, against HF tokenizers (Rust).")

    @Option(name: .long, help: "JSONL file with a 'sentence' or 'text' field.")
    var data = "../shared/data/sst2/train.jsonl"

    @Option(name: .long, help: "Tokenizer folder.")
    var model = "../shared/models/roberta-base-tokenizer"

    @Option(name: .long, help: "Repetitions (best is reported).")
    var repeats = 3

    @OptionGroup var baseline: BaselineOptions

    func run() throws {
        let records = try InputReader.read(data, options: .init(textField: textField()))
        let texts: [String] = records.compactMap { if case .text(let t, _) = $0 { t } else { nil } }
        var rows: [(String, TokenizerBenchmark.Result)] = []
        for (label, threads) in [("1 thread", 1), ("\(Threading.workerCount) threads", Threading.workerCount)] {
            var best: TokenizerBenchmark.Result?
            for _ in 0..<max(1, repeats) {
                // A fresh tokenizer each time: every measurement starts with a cold word cache.
                let tokenizer = try Tokenizer.load(from: URL(fileURLWithPath: model))
                let r = TokenizerBenchmark.measure(tokenizer: tokenizer, texts: texts, threads: threads)
                if best == nil || r.seconds < best!.seconds { best = r }
            }
            if let best {
                print("ours, \(label): \(best)")
                rows.append((label, best))
            }
        }
        guard !baseline.noBaseline else { return }
        let pt = try baseline.runJSON(
            baseline.baselinePython,
            ["tools/bench_tokenize.py", "--data", data, "--model", model, "--repeat", String(repeats)])
        for mode in ["single", "batch"] {
            guard let m = pt[mode] as? [String: Any], let tps = (m["tokens_per_s"] as? NSNumber)?.doubleValue else {
                continue
            }
            let ours = rows[mode == "single" ? 0 : min(1, rows.count - 1)].1
            print(
                String(
                    format: "HF tokenizers %@ (%@ threads): %.3f M tokens/s, %.0f sentences/s, %.2f MB/s → ours ×%.1f",
                    mode, "\(m["threads"] ?? "?")", tps / 1e6, (m["sentences_per_s"] as? NSNumber)?.doubleValue ?? 0,
                    (m["mb_per_s"] as? NSNumber)?.doubleValue ?? 0, ours.tokensPerSecond / tps))
        }
    }

    func textField() -> String {
        guard
            let first = FileManager.default.contents(atPath: data).flatMap({
                String(decoding: $0.prefix(4096), as: UTF8.self).split(separator: "\n").first
            })
        else {
            return "text"
        }
        return first.contains("\"sentence\"") ? "sentence" : "text"
    }
}
