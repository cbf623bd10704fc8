import ArgumentParser
import Comparison
import Datasets
import Foundation

/// `adapters compare`: the fair adapter-vs-full-fine-tuning experiment. Every method × learning rate ×
/// seed is an ordinary `adapters train` run in a process of its own (so each has its own peak memory and
/// a killed sweep resumes where it stopped), on the same data, tokenization, batch size and step budget;
/// learning rates are picked on the evaluation set, the picked runs are evaluated on the test set, and
/// the `Comparison` library writes comparison.json, report.md and report.html.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare training methods (adapters, LoRA, full fine-tuning, head only) fairly, with a report.",
        discussion: """
            Runs every method × learning rate × seed under OUTPUT/runs/<method>-lr<lr>-s<seed>/ (a finished run \
            is not redone, a killed one resumes from its checkpoint), picks each method's learning rate on --eval \
            only, evaluates the picked runs on --test, and writes OUTPUT/comparison.json, report.md and report.html.
            """)

    @Option(name: .long, help: "Base model: HF folder or Hub id (default: the built-in all-MiniLM-L6-v2).")
    var model: String?

    @Option(name: .long, help: "Training data.") var train: String
    @Option(name: .long, help: "Evaluation data: learning rates are chosen on it.") var eval: String
    @Option(name: .long, help: "Test data: the reported numbers (default: --eval, which the report then says).")
    var test: String?

    @Option(name: .long, help: "Methods, comma-separated: seq_bn, double_seq_bn, lora, full, head.")
    var methods = "seq_bn,lora,full,head"

    @Option(
        name: .customLong("lr-grid"),
        help: "Learning rates of a method, e.g. seq_bn=1e-4,3e-4,1e-3 (repeatable; defaults: adapters and LoRA 1e-4,3e-4,1e-3, full 1e-5,2e-5,5e-5, head 1e-3,3e-3,1e-2).")
    var lrGrid: [String] = []

    @Option(name: .long, help: "Seeds, comma-separated.") var seeds = "42,43,44"
    @Option(name: .long, help: "Passes over the training data (every run).") var epochs = 1
    @Option(name: .long, help: "Optimizer steps per run instead of epochs.") var maxSteps: Int?
    @Option(name: .long) var batchSize = 32
    @Option(name: .long, help: "Evaluate every N steps (default: about 10 evaluations per run).") var evalEvery: Int?
    @Option(name: .long, help: "Names for integer labels 0, 1, … (comma-separated).") var labelNames: String?
    @Option(name: .long, help: "Paired-bootstrap resamples for the significance tests.") var bootstrapResamples = 10_000
    @Option(name: .long, help: "Output folder.") var output: String

    @OptionGroup var data: DataOptions

    func validate() throws {
        guard data.task == .classification else {
            throw ValidationError("compare runs classification tasks (accuracy, McNemar); --task \(data.task.rawValue) is not supported")
        }
        _ = try settings(trainingExamples: 1)
    }

    /// The flags as library settings (`trainingExamples` sizes the default evaluation interval).
    func settings(trainingExamples: Int) throws -> ComparisonSettings {
        var chosen: [ComparedMethod] = []
        for name in methods.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let m = ComparedMethod(rawValue: name) else {
                throw ValidationError("--methods: unknown method '\(name)' (seq_bn, double_seq_bn, lora, full, head)")
            }
            chosen.append(m)
        }
        var grid: [ComparedMethod: [Double]] = [:]
        for entry in lrGrid {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let m = ComparedMethod(rawValue: parts[0]) else {
                throw ValidationError("--lr-grid '\(entry)': expected METHOD=LR,LR,… with a known method")
            }
            guard chosen.contains(m) else { throw ValidationError("--lr-grid names \(m.rawValue), which --methods does not") }
            let rates = parts[1].split(separator: ",").map { LearningRateText.parse(String($0)) }
            guard !rates.isEmpty, rates.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--lr-grid '\(entry)': the learning rates must be numbers")
            }
            grid[m] = rates.compactMap { $0 }
        }
        var seedList: [UInt64] = []
        for s in seeds.split(separator: ",") {
            guard let v = UInt64(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds: '\(s)' is not a seed") }
            seedList.append(v)
        }
        let steps = maxSteps ?? epochs * ((trainingExamples + batchSize - 1) / max(batchSize, 1))
        // About 10 evaluations and 50 loss points per run, for the curves and the time to 99 %.
        var trainArguments = [
            "--eval-every", String(evalEvery ?? max(1, (steps + 9) / 10)), "--log-every", String(max(1, steps / 50)),
        ]
        if let labelNames { trainArguments += ["--label-names", labelNames] }
        let s = ComparisonSettings(
            model: model ?? ModelOptions.defaultModelID, train: train, eval: eval, test: test, methods: chosen,
            learningRates: grid, seeds: seedList, epochs: epochs, maxSteps: maxSteps, batchSize: batchSize,
            maxLength: data.maxLength, trainArguments: trainArguments, dataArguments: dataArguments,
            bootstrapResamples: bootstrapResamples)
        do { try s.validate() } catch let e as ComparisonError { throw ValidationError(e.description) }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be at least 1") }
        return s
    }

    /// The data-reading flags every train and evaluate run gets.
    var dataArguments: [String] {
        var a = ["--text-field", data.resolvedTextField, "--label-field", data.resolvedLabelField, "--max-length", String(data.maxLength)]
        if let f = data.format { a += ["--format", f.rawValue] }
        if let p = data.textPairField { a += ["--text-pair-field", p] }
        if data.amazonTitle { a.append("--amazon-title") }
        if let n = data.maxExamples { a += ["--max-examples", String(n)] }
        if let c = data.tokenCache { a += ["--token-cache", c] }
        return a
    }

    func run() throws {
        let source = LabelledData(sources: [train], options: data)
        let examples = source.isParquet ? try source.parquet.rowCount() : try source.loadFile().count
        let settings = try settings(trainingExamples: examples)
        let root = URL(fileURLWithPath: output)
        try ComparisonRunner(settings: settings, root: root, executable: try Self.executable()).run()
    }

    /// This executable, to run `train` and `evaluate` as child processes.
    static func executable() throws -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }
}

/// Executes a comparison's runs as child processes and writes its reports.
struct ComparisonRunner {
    let settings: ComparisonSettings
    let root: URL
    let executable: URL

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("runs"), withIntermediateDirectories: true)
        let settingsURL = root.appendingPathComponent("settings.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = fm.contents(atPath: settingsURL.path) {
            guard let previous = try? JSONDecoder().decode(ComparisonSettings.self, from: data) else {
                throw ComparisonError.invalidRun(path: settingsURL.path, detail: "not the settings of a comparison")
            }
            if let why = settings.incompatibility(with: previous) {
                throw ComparisonError.settingsChanged(path: root.path, detail: why)
            }
        }
        try encoder.encode(settings).write(to: settingsURL, options: .atomic)

        let runs = settings.runs
        let started = Date()
        var trainedHere = 0
        for (i, spec) in runs.enumerated() {
            let folder = runFolder(spec)
            if fm.fileExists(atPath: folder.appendingPathComponent("summary.json").path) {
                progress("run \(i + 1) of \(runs.count): \(spec.name) already finished")
                continue
            }
            let eta = trainedHere == 0 ? "" : ", ETA \(Format.seconds(Date().timeIntervalSince(started) / Double(trainedHere) * Double(runs.count - i)))"
            progress("run \(i + 1) of \(runs.count): \(spec.name)\(eta)")
            let checkpoints = (try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent("checkpoints").path)) ?? []
            let resume = checkpoints.contains { $0.hasPrefix("step-") }
            try execute(trainArguments(spec, resume: resume), name: spec.name, stdout: nil)
            trainedHere += 1
        }

        // Learning rates are picked on the evaluation set; only the picked runs see the test set.
        var records: [RunSpec: RunRecord] = [:]
        for spec in runs { records[spec] = try RunRecord(folder: runFolder(spec)) }
        for method in settings.methods {
            let picked = try ComparisonAnalysis.pickLearningRate(method, settings: settings, records: records)
            for seed in settings.seeds {
                let spec = RunSpec(method: method, learningRate: picked, seed: seed)
                let folder = runFolder(spec)
                let metrics = folder.appendingPathComponent("test_metrics.json")
                if !fm.fileExists(atPath: metrics.path) {
                    progress("testing \(spec.name)")
                    let out = folder.appendingPathComponent(".test_metrics.json.partial")
                    try execute(evaluateArguments(spec, record: records[spec]), name: spec.name, stdout: out)
                    try fm.moveItem(at: out, to: metrics)
                }
                records[spec] = try RunRecord(folder: folder)
            }
        }
        let result = try ComparisonAnalysis.analyze(
            settings: settings, records: records, environment: .current(tool: "adapters \(Adapters.configuration.version)"))
        try encoder.encode(result).write(to: root.appendingPathComponent("comparison.json"), options: .atomic)
        try Data(ComparisonReport.markdown(result).utf8).write(to: root.appendingPathComponent("report.md"), options: .atomic)
        try Data(try ComparisonReport.html(result).utf8).write(to: root.appendingPathComponent("report.html"), options: .atomic)
        for line in result.answer { print(line) }
        print("wrote \(root.appendingPathComponent("report.html").path), report.md and comparison.json")
    }

    func runFolder(_ spec: RunSpec) -> URL { root.appendingPathComponent("runs").appendingPathComponent(spec.name) }

    func trainArguments(_ spec: RunSpec, resume: Bool) -> [String] {
        var a = ["train", "--model", settings.model, "--train", settings.train, "--eval", settings.eval,
                 "--method", spec.method.rawValue, "--adapter-name", spec.method.rawValue,
                 "--learning-rate", String(spec.learningRate), "--seed", String(spec.seed),
                 "--epochs", String(settings.epochs), "--batch-size", String(settings.batchSize),
                 "--output", runFolder(spec).path]
        if let m = settings.maxSteps { a += ["--max-steps", String(m)] }
        if resume { a.append("--resume") }
        return a + settings.trainArguments + settings.dataArguments
    }

    func evaluateArguments(_ spec: RunSpec, record: RunRecord?) -> [String] {
        let folder = runFolder(spec)
        var a = ["evaluate", "--data", settings.test ?? settings.eval,
                 "--predictions", folder.appendingPathComponent("test_predictions.jsonl").path]
        if spec.method.savesWholeModel {
            a += ["--model", folder.appendingPathComponent("model").path]
        } else {
            a += ["--model", settings.model, "--adapter", folder.appendingPathComponent(spec.method.rawValue).path]
        }
        return a + settings.dataArguments
    }

    /// Runs this executable with `arguments`; stderr passes through (each run's own progress), stdout goes
    /// to `stdout` when given.
    func execute(_ arguments: [String], name: String, stdout: URL?) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var handle: FileHandle?
        if let stdout {
            _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
            handle = try FileHandle(forWritingTo: stdout)
            process.standardOutput = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        defer { try? handle?.close() }
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw ComparisonError.runFailed(
                name: name, detail: "adapters \(arguments.first ?? "") exited with status \(process.terminationStatus); its messages are above")
        }
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data("compare: \(line)\n".utf8))
    }
}

/// `adapters report RUN_DIR`: the charts of one training run as RUN_DIR/report.html.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a training run's charts (loss, learning rate, gradient norm, evaluation) as RUN_DIR/report.html.")

    @Argument(help: "A folder written by `adapters train` (summary.json, train_log.jsonl).") var runFolder: String

    func run() throws {
        let folder = URL(fileURLWithPath: runFolder)
        let record = try RunRecord(folder: folder)
        let out = folder.appendingPathComponent("report.html")
        try Data(RunCharts.page(record).html.utf8).write(to: out, options: .atomic)
        print(out.path)
    }
}
