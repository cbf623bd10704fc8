import Foundation

/// A training method `compare` can run, with the learning rates it sweeps by default: the ranges the
/// literature uses for each (adapters and LoRA around 1e-4…1e-3 — Houlsby et al., Pfeiffer et al., Hu et
/// al. —, full fine-tuning of BERT-size encoders 1e-5…5e-5 — Devlin et al. —, a linear probe higher).
public enum ComparedMethod: String, Codable, Sendable, CaseIterable, Comparable {
    case seqBn = "seq_bn"
    case doubleSeqBn = "double_seq_bn"
    case lora
    case full
    case head

    public var defaultLearningRates: [Double] {
        switch self {
        case .seqBn, .doubleSeqBn, .lora: [1e-4, 3e-4, 1e-3]
        case .full: [1e-5, 2e-5, 5e-5]
        case .head: [1e-3, 3e-3, 1e-2]
        }
    }

    /// What `train` writes: an AdapterHub folder (adapter and/or head) or, for `full`, an HF model folder.
    public var savesWholeModel: Bool { self == .full }

    public static func < (a: ComparedMethod, b: ComparedMethod) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Everything that defines a comparison: the same data, tokenization, batch size and step budget for every
/// method × learning rate × seed. Written to `DIR/settings.json`; a rerun into the same folder must match it.
public struct ComparisonSettings: Codable, Sendable, Equatable {
    /// The base model (`--model`: a folder or a Hub id).
    public var model: String
    public var train: String
    /// Learning rates are chosen on this set only.
    public var eval: String
    /// The reported metrics come from this set; nil reports on `eval` (and the report says so).
    public var test: String?
    public var methods: [ComparedMethod]
    /// Learning rates per method (its raw value), ascending.
    public var learningRates: [String: [Double]]
    public var seeds: [UInt64]
    public var epochs: Int
    public var maxSteps: Int?
    public var batchSize: Int
    public var maxLength: Int
    /// Further `train` flags passed to every run unchanged (label names, text field, …).
    public var trainArguments: [String]
    /// Flags that both `train` and `evaluate` take (how the data files are read).
    public var dataArguments: [String]
    /// Paired-bootstrap resamples for the significance tests.
    public var bootstrapResamples: Int

    enum CodingKeys: String, CodingKey {
        case model, train, eval, test, methods, seeds, epochs
        case learningRates = "learning_rates"
        case maxSteps = "max_steps"
        case batchSize = "batch_size"
        case maxLength = "max_length"
        case trainArguments = "train_arguments"
        case dataArguments = "data_arguments"
        case bootstrapResamples = "bootstrap_resamples"
    }

    public init(
        model: String, train: String, eval: String, test: String?, methods: [ComparedMethod],
        learningRates: [ComparedMethod: [Double]] = [:], seeds: [UInt64] = [42, 43, 44], epochs: Int = 1,
        maxSteps: Int? = nil, batchSize: Int = 32, maxLength: Int = 100, trainArguments: [String] = [],
        dataArguments: [String] = [], bootstrapResamples: Int = 10_000
    ) {
        self.model = model
        self.train = train
        self.eval = eval
        self.test = test
        self.methods = methods
        var rates: [String: [Double]] = [:]
        for m in methods { rates[m.rawValue] = (learningRates[m] ?? m.defaultLearningRates).sorted() }
        self.learningRates = rates
        self.seeds = seeds
        self.epochs = epochs
        self.maxSteps = maxSteps
        self.batchSize = batchSize
        self.maxLength = maxLength
        self.trainArguments = trainArguments
        self.dataArguments = dataArguments
        self.bootstrapResamples = bootstrapResamples
    }

    public func learningRates(for method: ComparedMethod) -> [Double] {
        learningRates[method.rawValue] ?? method.defaultLearningRates
    }

    public func validate() throws {
        func bad(_ s: String) -> ComparisonError { .invalidSettings(s) }
        if methods.isEmpty { throw bad("no methods") }
        if Set(methods).count != methods.count { throw bad("a method is listed twice") }
        if seeds.isEmpty { throw bad("no seeds") }
        if Set(seeds).count != seeds.count { throw bad("a seed is listed twice") }
        for m in methods {
            let rates = learningRates(for: m)
            if rates.isEmpty { throw bad("no learning rates for \(m.rawValue)") }
            if let r = rates.first(where: { !($0 > 0 && $0.isFinite) }) { throw bad("learning rate \(r) for \(m.rawValue)") }
            if Set(rates).count != rates.count { throw bad("a learning rate of \(m.rawValue) is listed twice") }
        }
        if epochs < 1 { throw bad("epochs must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw bad("max steps must be at least 1") }
        if batchSize < 1 { throw bad("batch size must be at least 1") }
        if maxLength < 2 { throw bad("max length must be at least 2") }
        if bootstrapResamples < 100 { throw bad("at least 100 bootstrap resamples") }
    }

    /// Every run of the sweep, method by method, learning rate by learning rate, seed by seed.
    public var runs: [RunSpec] {
        methods.flatMap { m in
            learningRates(for: m).flatMap { lr in seeds.map { RunSpec(method: m, learningRate: lr, seed: $0) } }
        }
    }

    /// What makes two comparisons' runs incomparable, in words; nil when `other` may resume this one.
    public func incompatibility(with other: ComparisonSettings) -> String? {
        var differences: [String] = []
        if model != other.model { differences.append("model \(other.model) vs \(model)") }
        if train != other.train || eval != other.eval { differences.append("training or evaluation data") }
        if epochs != other.epochs || maxSteps != other.maxSteps { differences.append("step budget") }
        if batchSize != other.batchSize || maxLength != other.maxLength { differences.append("batch size or max length") }
        if trainArguments != other.trainArguments || dataArguments != other.dataArguments {
            differences.append("train flags")
        }
        return differences.isEmpty ? nil : differences.joined(separator: ", ")
    }
}

/// One training run of a sweep, named `<method>-lr<lr>-s<seed>` (its folder under `DIR/runs/`).
public struct RunSpec: Hashable, Sendable {
    public var method: ComparedMethod
    public var learningRate: Double
    public var seed: UInt64

    public init(method: ComparedMethod, learningRate: Double, seed: UInt64) {
        self.method = method
        self.learningRate = learningRate
        self.seed = seed
    }

    public var name: String { "\(method.rawValue)-lr\(LearningRateText.format(learningRate))-s\(seed)" }
}

/// Learning rates as people write them: 3e-4, 2.5e-5, 0.1 → 1e-1.
public enum LearningRateText {
    public static func format(_ value: Double) -> String {
        guard value > 0, value.isFinite else { return "\(value)" }
        var exponent = Int(log10(value).rounded(.down))
        var mantissa = value / pow(10, Double(exponent))
        mantissa = (mantissa * 1000).rounded() / 1000
        if mantissa >= 10 {
            mantissa /= 10
            exponent += 1
        }
        let digits = mantissa == mantissa.rounded() ? String(Int(mantissa)) : String(format: "%g", mantissa)
        return "\(digits)e\(exponent)"
    }

    /// Parses "3e-4", "0.0003" or "3E-4".
    public static func parse(_ text: String) -> Double? {
        Double(text.trimmingCharacters(in: .whitespaces))
    }
}
