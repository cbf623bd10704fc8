import Foundation

/// Everything `compare` found, as `comparison.json` holds it: self-contained, so the reports are drawn
/// from it alone and every number can be traced back to the runs' own files.
public struct ComparisonResult: Codable, Sendable {
    public var settings: ComparisonSettings
    public var environment: Environment
    /// Which data the reported metrics come from: "test" or, without `--test`, "eval".
    public var reportedOn: String
    /// Methods, best mean test accuracy first.
    public var methods: [MethodResult]
    /// Each method against each worse one, on the same test examples.
    public var comparisons: [PairResult]
    /// The answer in words: which method is better, by how much, at what cost.
    public var answer: [String]

    enum CodingKeys: String, CodingKey {
        case settings, environment, methods, comparisons, answer
        case reportedOn = "reported_on"
    }
}

/// What produced the numbers.
public struct Environment: Codable, Sendable, Equatable {
    public var tool: String
    public var date: String
    public var cpu: String
    public var cpuFlags: [String]
    public var cores: Int

    enum CodingKeys: String, CodingKey {
        case tool, date, cpu, cores
        case cpuFlags = "cpu_flags"
    }

    public init(tool: String, date: String, cpu: String, cpuFlags: [String], cores: Int) {
        self.tool = tool
        self.date = date
        self.cpu = cpu
        self.cpuFlags = cpuFlags
        self.cores = cores
    }

    /// This machine, now (CPU model and the vector/matrix flags that matter for speed, from /proc/cpuinfo).
    public static func current(tool: String) -> Environment {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let interesting: Set<String> = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni"]
        let flags = (field("flags") ?? "").split(separator: " ").map(String.init).filter { interesting.contains($0) }.sorted()
        let formatter = ISO8601DateFormatter()
        return Environment(
            tool: tool, date: formatter.string(from: Date()), cpu: field("model name") ?? "unknown", cpuFlags: flags,
            cores: ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Mean, sample standard deviation and a 95 % Student-t interval of a metric over seeds.
public struct Stat: Codable, Sendable, Equatable {
    public var mean: Double
    public var std: Double
    public var low: Double?
    public var high: Double?
    public var values: [Double]
}

/// One method at the learning rate the evaluation set picked.
public struct MethodResult: Codable, Sendable {
    public var method: ComparedMethod
    public var learningRate: Double
    /// Evaluation accuracy of every learning rate tried (what picked `learningRate`).
    public var sweep: [SweepPoint]
    /// The picked runs, one per seed.
    public var runs: [String]
    public var testAccuracy: Stat
    public var testMacroF1: Stat
    public var trainableParameters: Int
    public var totalParameters: Int
    /// trainable / total, in percent.
    public var trainablePercent: Double
    public var trainSeconds: Stat
    public var trainSamplesPerSecond: Stat
    /// The largest peak resident memory of the runs.
    public var peakRSSBytes: Int?
    /// Time until evaluation reached 99 % of its final accuracy.
    public var secondsTo99Percent: Stat?
    /// What is shipped: adapter + head, or the whole model for `full`.
    public var savedBytes: Int
    public var inferenceSamplesPerSecond: Stat?
    /// Test-set confusion matrix, summed over seeds: counts[true][predicted].
    public var labels: [String]
    public var confusion: [[Int]]
    /// Mean training loss over seeds at each logged step.
    public var lossCurve: [CurvePoint]
    public var evalAccuracyCurve: [CurvePoint]
    public var evalLossCurve: [CurvePoint]

    enum CodingKeys: String, CodingKey {
        case method, sweep, runs, labels, confusion
        case learningRate = "learning_rate"
        case testAccuracy = "test_accuracy"
        case testMacroF1 = "test_macro_f1"
        case trainableParameters = "trainable_parameters"
        case totalParameters = "total_parameters"
        case trainablePercent = "trainable_percent"
        case trainSeconds = "train_seconds"
        case trainSamplesPerSecond = "train_samples_per_second"
        case peakRSSBytes = "peak_rss_bytes"
        case secondsTo99Percent = "seconds_to_99_percent"
        case savedBytes = "saved_bytes"
        case inferenceSamplesPerSecond = "inference_samples_per_second"
        case lossCurve = "loss_curve"
        case evalAccuracyCurve = "eval_accuracy_curve"
        case evalLossCurve = "eval_loss_curve"
    }
}

public struct SweepPoint: Codable, Sendable, Equatable {
    public var learningRate: Double
    public var evalAccuracy: Stat

    enum CodingKeys: String, CodingKey {
        case learningRate = "learning_rate"
        case evalAccuracy = "eval_accuracy"
    }
}

public struct CurvePoint: Codable, Sendable, Equatable {
    public var step: Int
    public var value: Double
}

/// `method` against `baseline` on the same test examples.
public struct PairResult: Codable, Sendable {
    public var method: ComparedMethod
    public var baseline: ComparedMethod
    /// Accuracy difference (method − baseline), a fraction.
    public var difference: Double
    public var low: Double
    public var high: Double
    /// Two-sided paired-bootstrap p-value over test examples (per-example correctness averaged over seeds).
    public var pValue: Double
    /// Exact McNemar p-value of each seed's pair of runs (same seed, same examples).
    public var mcnemarPValues: [String: Double]
    public var significant: Bool
    public var sentence: String

    enum CodingKeys: String, CodingKey {
        case method, baseline, difference, low, high, significant, sentence
        case pValue = "p_value"
        case mcnemarPValues = "mcnemar_p_values"
    }
}
