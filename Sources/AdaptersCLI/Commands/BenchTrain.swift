import Adapters
import ArgumentParser
import Encoders
import Foundation
import Inference
import Kernels
import Training

/// `adapters bench train`: training throughput and peak memory, one child process per case (peak
/// RSS is a per-process high-water mark), against `pt_baseline.py`'s `*_train` cases.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training steps at batch 32 × 100 with dropout on: samples/s and peak RSS, vs PyTorch + adapters.")

    @Option(
        name: .long, parsing: .upToNextOption,
        help: "Cases as arch:method, e.g. roberta-base:seq_bn minilm-l6:ia3; methods: \(Self.methods.joined(separator: ", ")).")
    var cases: [String] = [
        "roberta-base:seq_bn", "roberta-base:lora", "roberta-base:full", "minilm-l6:seq_bn", "minilm-l6:lora", "minilm-l6:full",
    ]

    @Option(name: .long, help: "Timed steps per case (after 2 warm-up steps).")
    var steps: Int?

    @Option(name: .long, help: "Runs per case, ours and PyTorch's alternating; the best run of each is compared (shared machines drift).")
    var repeats = 1

    @Flag(name: .long, help: .hidden)
    var child = false

    @OptionGroup var baseline: BaselineOptions

    @Option(name: .long, help: "The PyTorch baseline for the methods pt_baseline.py lacks (par_bn, ia3, …).")
    var methodsBaselineScript = "tools/bench_methods_baseline.py"

    /// bf16 measures seq_bn, lora and full (the autocast baseline's cases).
    @OptionGroup var precisionOptions: BenchPrecisionOptions

    /// LoRA with rank 8 on every dense layer of the encoder, the `lora_ffn` case.
    static let loraEverywhere = "lora[r=8,alpha=8,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]"

    /// Every method a case can name: the adapter methods, `lora_ffn` and full fine-tuning.
    static let methods = AdapterMethod.allCases.map(\.rawValue) + ["lora_ffn", "full"]

    /// The cases pt_baseline.py itself measures (named seqbn, lora, full there).
    static let sharedBaselineMethods: Set<String> = ["seq_bn", "lora", "full"]

    static func mode(_ method: String) throws -> TrainingMode? {
        if method == "full" { return .full }
        if method == "lora_ffn" { return .adapter(name: "task", config: try AdapterConfig.parse(loraEverywhere, source: "bench")) }
        return AdapterMethod(rawValue: method).map { .adapter(name: "task", config: .defaults(for: $0)) }
    }

    func validate() throws {
        for c in cases {
            let parts = c.split(separator: ":").map(String.init)
            guard parts.count == 2, BenchmarkArchitecture(rawValue: parts[0]) != nil, Self.methods.contains(parts[1])
            else {
                throw ValidationError(
                    "case '\(c)' is not arch:method with arch in roberta-base, minilm-l6 and method in \(Self.methods.joined(separator: ", "))")
            }
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if precisionOptions.precision == .bf16 {
            for c in cases where !Self.sharedBaselineMethods.contains(String(c.split(separator: ":").last ?? "")) {
                throw ValidationError("--precision bf16 measures seq_bn, lora and full (the autocast baseline's cases), not '\(c)'")
            }
        }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        if child {
            try runCase(cases[0])
            return
        }
        let resolved = try precisionOptions.resolved()
        print("BLAS kernels: \(BLASInfo.coreName); \(Threading.workerCount) worker threads")
        print(benchmarkPrecisionLine(resolved))
        print("| case | ours samples/s | ours peak RSS | PyTorch samples/s | PyTorch peak RSS | throughput | memory |")
        print("|---|---|---|---|---|---|---|")
        for c in cases {
            var ours: [(samples: Double, rss: Double)] = []
            var theirs: [(samples: Double, rss: Double)] = []
            for _ in 0..<repeats {
                ours.append(try childRun(c))
                if !baseline.noBaseline { theirs.append(try baselineRun(c)) }
            }
            let bestSamples = ours.map(\.samples).max() ?? .nan
            let peak = ours.map(\.rss).max() ?? .nan
            var row = String(format: "| %@ | %.2f | %.0f MiB", c, bestSamples, peak)
            if let pt = theirs.max(by: { $0.samples < $1.samples }) {
                let ptPeak = theirs.map(\.rss).max() ?? .nan
                row += String(format: " | %.2f | %.0f MiB | ×%.2f | ×%.2f", pt.samples, ptPeak, bestSamples / pt.samples, peak / ptPeak)
            }
            print(row + " |")
        }
    }

    /// One run of the baseline's matching case: samples/s from its median step, and its peak RSS.
    func baselineRun(_ c: String) throws -> (samples: Double, rss: Double) {
        let parts = c.split(separator: ":")
        let arch = parts[0] == "roberta-base" ? "roberta" : "minilm"
        let shared = Self.sharedBaselineMethods.contains(String(parts[1]))
        let method = parts[1] == "seq_bn" ? "seqbn" : String(parts[1])
        let script = precisionOptions.precision == .bf16 ? precisionOptions.bf16BaselineScript : shared ? baseline.baselineScript : methodsBaselineScript
        let pt = try baseline.runJSON(
            baseline.baselinePython, [script, "case", "\(arch)_\(method)_train"] + (steps.map { ["--steps", String($0)] } ?? []),
            environment: ["PT_BASELINE_DIR": URL(fileURLWithPath: baseline.baselineScript).deletingLastPathComponent().path])
        let times = (pt["step_s"] as? [NSNumber])?.map(\.doubleValue) ?? []
        FileHandle.standardError.write(Data("\(c) PyTorch: step_s \(times)\n".utf8))
        return (32 / median(times), (pt["peak_rss_mib"] as? NSNumber)?.doubleValue ?? .nan)
    }

    /// Runs one case in a fresh process and reads its JSON line.
    func childRun(_ c: String) throws -> (samples: Double, rss: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments =
            ["bench", "train", "--child", "--cases", c, "--precision", precisionOptions.precision.rawValue] + (steps.map { ["--steps", String($0)] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let samples = (object["samples_per_second"] as? NSNumber)?.doubleValue,
            let rss = (object["peak_rss_mib"] as? NSNumber)?.doubleValue
        else { throw ValidationError("benchmark case \(c) failed") }
        FileHandle.standardError.write(Data("\(c): \(String(decoding: data, as: UTF8.self))".utf8))
        return (samples, rss)
    }

    /// The training workload of case `arch:method`: a randomly initialised model with that method and a
    /// 2-label head (dropout 0.1), the baseline's batch of `batch` × 100 tokens and seeded labels.
    static func trainingCase(
        _ c: String, batch: Int, precision: ResolvedPrecision = .fp32
    ) throws -> (BenchmarkArchitecture, AdapterModel, TokenBatch, [Int32])? {
        let parts = c.split(separator: ":").map(String.init)
        guard parts.count == 2, let arch = BenchmarkArchitecture(rawValue: parts[0]) else { return nil }
        guard let mode = try mode(parts[1]) else { return nil }
        let base = arch.makeModel(seed: 0)
        if precision == .bf16 {
            // As `train --precision bf16` loads it: fp32 masters only where they are updated.
            if mode == .full { base.weights.enableBF16() } else { base.weights.releaseFP32Matrices() }
        }
        let model = try AdapterModel(
            base: base, mode: mode, head: HeadSpec(name: "task", labels: ["0", "1"], dropout: 0.1))
        model.initializeTrainable(seed: 0)
        let tokens = try arch.makeBatch(batch: batch, length: 100, seed: 0)
        var rng = SeededGenerator(seed: 3)
        let labels = (0..<batch).map { _ in Int32.random(in: 0...1, using: &rng) }
        return (arch, model, tokens, labels)
    }

    func runCase(_ c: String) throws {
        guard let (arch, model, batch, labels) = try Self.trainingCase(c, batch: 32, precision: try precisionOptions.resolved()) else { return }
        var adam = AdamW()
        let steps = self.steps ?? (arch == .robertaBase ? 5 : 10)
        var times: [Double] = []
        var losses: [Float] = []
        for s in 0..<(2 + steps) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            model.parameters.zeroGradients()
            let r = try model.step(batch, labels: labels, seed: UInt64(s))
            adam.update(model.parameters, learningRate: 3e-4)
            if s >= 2 {
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                losses.append(r.loss)
            }
        }
        let json: [String: Any] = [
            "case": c, "step_s": times, "samples_per_second": 32 / median(times), "peak_rss_mib": peakResidentMiB() ?? -1,
            "trainable_parameters": model.parameters.parameterCount, "losses": losses,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
