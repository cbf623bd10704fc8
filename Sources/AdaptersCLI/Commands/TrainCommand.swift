import Adapters
import ArgumentParser
import Datasets
import DistributedTraining
import Encoders
import Foundation
import Inference
import Training

/// What `--method` trains: every weight, the head alone, or an adapter given by an AdapterHub config
/// string (`seq_bn`, `par_bn[reduction_factor=4]`, `lora[r=16,alpha=32,attn_matrices=[q,k,v]]`, `ia3`).
enum TrainMethod: Equatable {
    case full
    case head
    /// AdapterFusion over the `--adapter` folders.
    case fusion
    case adapter(AdapterConfig)

    init(_ text: String) throws {
        switch text {
        case "full": self = .full
        case "head": self = .head
        case "fusion": self = .fusion
        default:
            do {
                self = .adapter(try AdapterConfig.parse(text, source: "--method"))
            } catch let error as AdapterError {
                throw ValidationError("\(error)")
            }
        }
    }

    /// The name written to summary.json and logs: "full", "head" or the adapter method's identifier.
    var name: String {
        switch self {
        case .full: "full"
        case .head: "head"
        case .fusion: "fusion"
        case .adapter(let c): c.methodName
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an adapter (or LoRA, the head alone, or the whole model) with a classification head.",
        discussion: """
            OUTPUT receives the trained adapter and head as an AdapterHub folder (OUTPUT/NAME/, loadable by \
            `adapters.load_adapter` in Python), or for --method full an HF model folder (OUTPUT/model/); \
            plus train_log.jsonl, checkpoints/ and summary.json. --resume continues from the last checkpoint.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        name: .long,
        help: "Training data (.jsonl, .csv, .tsv, .parquet — streamed into a token cache — or Amazon polarity CSV with --format amazon_polarity).")
    var train: String?

    @Option(name: .long, help: "Evaluation data, same format.")
    var eval: String?

    @OptionGroup var datasetOptions: HubDatasetOptions

    @Option(name: .long, help: "Split of --dataset to train on.")
    var trainSplit = "train"

    @Option(name: .long, help: "Split of --dataset to evaluate on (e.g. test).")
    var evalSplit: String?

    @OptionGroup var data: DataOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "full (every weight), head (head only), fusion (AdapterFusion over the --adapter folders), or an AdapterHub adapter config string.",
            discussion: "Methods: \(AdapterConfig.identifiers.joined(separator: ", ")); fields in brackets and unions with |: \"seq_bn[reduction_factor=8,non_linearity=gelu]\", \"lora[r=16,alpha=32,attn_matrices=[q,k,v],intermediate_lora=True]\", \"lora[r=4]|seq_bn\"."
        ))
    var method = "seq_bn"

    @Option(
        name: .long,
        help: "An adapter configuration file: AdapterHub's adapter_config.json, or its \"config\" object on its own (replaces --method).")
    var adapterConfig: String?

    @Option(name: .long, help: "Name of the adapter and its head.")
    var adapterName = "adapter"

    @Option(
        name: .long,
        help: "With --method fusion: a trained adapter folder to fuse (repeat, at least 2); the fusion and its head are named after them (a,b).")
    var adapter: [String] = []

    @Option(name: .long, help: "With --method fusion: dynamic (value matrix, regularized) or static.")
    var fusionConfig = "dynamic"

    @Option(
        name: .long,
        help: "With --method fusion: a trained adapter folder stacked before the fusion at every layer, frozen (a language adapter, MAD-X style: AdapterHub's train_adapter_fusion(Stack(lang, Fuse(a, b)))); repeat to stack several.")
    var stackBefore: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Another adapter NAME=METHOD trained side by side with --adapter-name's, each with its own head (repeat): AdapterHub's train_adapter(Parallel(…)).",
            discussion: "Every batch goes through each adapter and its head; the loss is their sum, the gradients are clipped by their joint norm and one optimizer with one schedule steps them all. Each is saved as OUTPUT/NAME/ and evaluated on its own (eval_NAME_* in the log). METHOD is an adapter config string, e.g. lora_rt=\"lora[r=8]\"; --reduction-factor and --lora-* apply to --method only."
        ))
    var parallel: [String] = []

    @Option(name: .long, help: "Output folder.")
    var output: String

    @Option(name: .long, help: "Names for integer labels 0, 1, … (comma-separated), e.g. negative,positive.")
    var labelNames: String?

    @Option(
        name: .long,
        help: "Linear layers of the prediction head (AdapterHub's layers; default 2 for sequence tasks, 1 for tagging).")
    var headLayers: Int?

    @Option(name: .long, help: "Activation between the head's layers (tanh, relu, gelu, gelu_new, swish, silu).")
    var headActivation: AdapterActivation = .tanh

    @Option(name: .long, help: "Peak learning rate (default 3e-4; 2e-5 for --method full).")
    var learningRate: Float?

    @Option(name: .long) var batchSize = 32
    @Option(name: .long, help: "Passes over the data (ignored with --max-steps).") var epochs = 1
    @Option(name: .long, help: "Total optimizer steps.") var maxSteps: Int?
    @Option(name: .long) var warmupSteps = 0
    @Option(name: .long) var weightDecay: Float = 0
    @Option(name: .long, help: "Clip gradients to this global norm (0: off).") var maxGradNorm: Float = 1
    @Option(name: .long, help: "linear or constant (after warm-up).") var schedule: LearningRateSchedule = .linear
    @Option(name: .long) var seed: UInt64 = 42
    @Option(name: .long) var logEvery = 10
    @Option(name: .long) var evalEvery: Int?
    @Option(name: .long) var saveEvery: Int?
    @Flag(name: .long, help: "Pad every batch to --max-length instead of its longest example.") var padToMaxLength = false
    @Flag(name: .long, help: "Continue from the last checkpoint in OUTPUT.") var resume = false
    @Flag(
        name: .long,
        help: "Data-parallel training over MPI: run under `mpirun -np N adapters train … --distributed` (implied when mpirun started this process). --batch-size is the global batch, split over the ranks; rank 0 writes OUTPUT, which every rank must see (a shared folder).")
    var distributed = false
    @Option(
        name: .long,
        help: "Micro-batches per optimizer step on each rank; the global batch and the result stay the same.")
    var gradientAccumulationSteps = 1
    @Option(
        name: .long,
        help: "With --distributed: seconds a rank waits for the others at a synchronisation before it stops the job.")
    var stepTimeout: Double = 300

    @Option(name: .long, help: "Bottleneck reduction factor (seq_bn, double_seq_bn).") var reductionFactor: Double?
    @Option(name: .long, help: "LoRA rank.") var loraR: Int?
    @Option(name: .long, help: "LoRA alpha.") var loraAlpha: Int?
    @Option(name: .long, help: "LoRA targets, comma-separated from q,k,v.") var loraTargets: String?

    func validate() throws {
        if !adapter.isEmpty && method != "fusion" { throw ValidationError("--adapter goes with --method fusion") }
        if !stackBefore.isEmpty && method != "fusion" { throw ValidationError("--stack-before goes with --method fusion") }
        if (train == nil) == (datasetOptions.dataset == nil) { throw ValidationError("give either --train FILE or --dataset NAME") }
        if datasetOptions.dataset != nil && eval != nil { throw ValidationError("with --dataset, choose evaluation data with --eval-split") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if gradientAccumulationSteps < 1 { throw ValidationError("--gradient-accumulation-steps must be at least 1") }
        if !(stepTimeout > 0) { throw ValidationError("--step-timeout must be a positive number of seconds") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if data.maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        if adapterName.isEmpty || adapterName.contains("/") || adapterName.contains(".") {
            throw ValidationError("--adapter-name must be a plain name without '/' or '.'")
        }
        let method = try trainMethod()
        if !parallel.isEmpty {
            guard case .adapter = method else {
                throw ValidationError("--parallel trains adapters beside an adapter --method, not --method \(method.name)")
            }
            _ = try parallelBranches()
        }
    }

    /// `--parallel NAME=METHOD`: the adapters trained beside `--adapter-name`'s, by name.
    func parallelBranches() throws -> [(name: String, config: AdapterConfig)] {
        var seen: Set<String> = [adapterName]
        return try parallel.map { text in
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw ValidationError("--parallel \(text): expected NAME=METHOD, e.g. lora_rt=lora")
            }
            let name = String(text[..<eq])
            guard ModelWithAdapters.isUsableName(name) else {
                throw ValidationError("--parallel \(text): '\(name)' is not a plain name (letters, digits, _ and -)")
            }
            guard seen.insert(name).inserted else {
                throw ValidationError("--parallel \(text): the name '\(name)' is taken (--adapter-name is '\(adapterName)')")
            }
            guard case .adapter(let config) = try TrainMethod(String(text[text.index(after: eq)...])) else {
                throw ValidationError("--parallel \(text): METHOD must be an adapter config string, not full, head or fusion")
            }
            return (name, config)
        }
    }

    /// `--method` (or `--adapter-config`) with `--reduction-factor` / `--lora-*` applied.
    func trainMethod() throws -> TrainMethod {
        var parsed: TrainMethod
        if let adapterConfig {
            parsed = .adapter(try Self.readAdapterConfig(adapterConfig))
        } else {
            parsed = try TrainMethod(method)
        }
        guard case .adapter(var config) = parsed else {
            if reductionFactor != nil || loraR != nil || loraAlpha != nil || loraTargets != nil {
                throw ValidationError("--reduction-factor and --lora-* apply to adapter methods, not --method \(parsed.name)")
            }
            return parsed
        }
        switch config {
        case .bottleneck(var bn):
            if loraR != nil || loraAlpha != nil || loraTargets != nil {
                throw ValidationError("--lora-r, --lora-alpha and --lora-targets apply to LoRA methods, not \(config.methodName)")
            }
            if let reductionFactor { bn.reductionFactor = reductionFactor }
            config = .bottleneck(bn)
        case .lora(var lc):
            if reductionFactor != nil {
                throw ValidationError("--reduction-factor applies to bottleneck methods, not \(config.methodName)")
            }
            if let loraR { lc.r = loraR }
            if let loraAlpha { lc.alpha = loraAlpha }
            if let loraTargets { lc.attnMatrices = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            config = .lora(lc)
        case .union, .promptTuning, .prefixTuning, .reft:
            if reductionFactor != nil || loraR != nil || loraAlpha != nil || loraTargets != nil {
                throw ValidationError(
                    "--reduction-factor and --lora-* apply to one method, not a ConfigUnion: set fields per member, e.g. \"lora[r=4]|seq_bn\"")
            }
        }
        do {
            try config.validate(source: adapterConfig ?? "--method")
        } catch let error as AdapterError {
            throw ValidationError("\(error)")
        }
        return .adapter(config)
    }

    /// An adapter configuration file: a whole `adapter_config.json` (its "config" entry is used) or the
    /// config object itself.
    static func readAdapterConfig(_ path: String) throws -> AdapterConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("--adapter-config \(path): cannot read the file (\(fileErrorText(error)))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw ValidationError("--adapter-config \(path): not a JSON object")
        }
        do {
            if let inner = dict["config"] {
                if let preset = inner as? String { return try AdapterConfig.parse(preset, source: path) }
                guard let innerDict = inner as? [String: Any] else {
                    throw AdapterError.invalidConfig(source: path, detail: "'config' is neither an object nor a string")
                }
                return try AdapterConfig.decode(dictionary: innerDict, source: path)
            }
            return try AdapterConfig.decode(dictionary: dict, source: path)
        } catch let error as AdapterError {
            throw ValidationError("\(error)")
        }
    }

    var trainingConfig: TrainingConfig {
        var c = TrainingConfig()
        c.learningRate = learningRate ?? (method == "full" && adapterConfig == nil ? 2e-5 : 3e-4)
        c.batchSize = batchSize
        c.epochs = epochs
        c.maxSteps = maxSteps
        c.warmupSteps = warmupSteps
        c.weightDecay = weightDecay
        c.maxGradNorm = maxGradNorm
        c.schedule = schedule
        c.seed = seed
        c.logEvery = logEvery
        c.evalEvery = evalEvery
        c.saveEvery = saveEvery
        c.padding = padToMaxLength ? .maxLength : .longest
        c.maxLength = data.maxLength
        return c
    }

    func run() throws {
        guard distributed || MPISupport.launchedByMPI else {
            try train(group: SingleProcess())
            return
        }
        guard MPISupport.available else { throw DistributedError.notBuiltWithMPI }
        let group = try MPIGroup(timeout: stepTimeout)
        // One rank's failure ends the job: the others would otherwise wait for it at the next sum.
        do {
            try train(group: group)
            try group.finalize()
        } catch {
            let text = "\(error)"
            FileHandle.standardError.write(Data("error: rank \(group.rank) of \(group.size) (\(group.host)): \(text)\n".utf8))
            group.abort(code: 1)
            Foundation.exit(1)
        }
    }

    private func train(group: ProcessGroup) throws {
        let leader = group.isLeader
        if group.size > 1 && leader {
            logger.info("data-parallel training on \(group.size) ranks: global batch \(batchSize), \(gradientAccumulationSteps) micro-batch(es) per rank and step")
        }
        // bf16 training keeps the fp32 base weights only where something reads or updates them (full
        // fine-tuning's master weights, DoRA's W + ΔW); otherwise the frozen base is bf16 alone.
        let needsFP32Base: Bool
        switch try trainMethod() {
        case .full: needsFP32Base = true
        case .head, .fusion: needsFP32Base = false
        case .adapter(let config):
            needsFP32Base = config.members.contains { if case .lora(let l) = $0 { return l.useDora } else { return false } }
        }
        let pretrained = try modelOptions.load(keepFP32Weights: needsFP32Base)
        guard let tokenizer = pretrained.tokenizer else {
            throw ValidationError("\(modelOptions.resolvedPath) has no tokenizer files, which training on text needs")
        }
        let dataset = datasetOptions.dataset
        let trainName = dataset ?? train ?? ""
        let trainFiles: [String]
        var evalFiles: [String]? = eval.map { [$0] }
        if dataset != nil {
            trainFiles = try datasetOptions.files(split: trainSplit)
            evalFiles = try evalSplit.map { try datasetOptions.files(split: $0) }
        } else {
            trainFiles = [trainName]
        }
        let trainSource = LabelledData(sources: trainFiles, options: data)
        let labelMap = try trainSource.labelMap()
        var headLabels = labelMap.names
        if let labelNames {
            let names = labelNames.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard labelMap.names == (0..<labelMap.count).map(String.init) else {
                throw ValidationError("--label-names needs integer labels 0…n-1; \(trainName) has \(labelMap.names.prefix(5).joined(separator: ", "))")
            }
            guard names.count == labelMap.count, Set(names).count == names.count else {
                throw ValidationError("--label-names gives \(names.count) distinct names for \(labelMap.count) labels")
            }
            headLabels = names
        }
        let task = data.task
        if task == .regression || task == .questionAnswering {
            guard labelNames == nil else { throw ValidationError("--label-names does not apply to \(task.rawValue)") }
        }
        if task == .questionAnswering {
            headLabels = ["start", "end"]
        } else if task == .regression {
            headLabels = ["LABEL_0"]  // AdapterHub's id2label of a 1-output head
        } else if labelMap.count < (task == .multilabelClassification ? 1 : 2) {
            throw ValidationError("\(trainName): the labels take only \(labelMap.count) value(s); \(task.rawValue) needs at least 2")
        }
        let headConfig = HeadConfig(type: task.headType, layers: headLayers, activation: headActivation)
        do {
            try headConfig.validate(source: "--head-layers")
        } catch {
            throw ValidationError("\(error)")
        }
        let config = trainingConfig
        // Rank 0 tokenizes first: with a shared file system the others then find its token cache.
        func tokenize() throws -> (TokenizedDataset, TokenizedDataset?) {
            let trainData = try trainSource.tokenized(tokenizer: tokenizer, modelFolder: pretrained.folder, labelMap: labelMap)
            let evalData = try evalFiles.map {
                try LabelledData(sources: $0, options: data).tokenized(
                    tokenizer: tokenizer, modelFolder: pretrained.folder, labelMap: labelMap)
            }
            return (trainData, evalData)
        }
        var loaded = leader ? try tokenize() : nil
        if group.size > 1, let mpi = group as? MPIGroup {
            try mpi.waitLong("waiting for rank 0 to read and tokenize the data")
        }
        if loaded == nil { loaded = try tokenize() }
        guard let (trainData, evalData) = loaded else { return }
        let base = pretrained.encoder
        let headDropout = base.config.classifierDropout ?? base.config.hiddenDropoutProb
        let method = try trainMethod()
        let mode: TrainingMode
        var fusion: (model: ModelWithAdapters, name: String)?
        switch method {
        case .full: mode = .full
        case .head, .fusion: mode = .headOnly
        case .adapter(let config): mode = .adapter(name: adapterName, config: config)
        }
        let model: AdapterModel
        var branches: [(name: String, method: String, model: AdapterModel)] = []
        if method == .fusion {
            let built = try fusionModel(
                base: base, headLabels: headLabels, headConfig: headConfig, dropout: headDropout, seed: config.seed)
            fusion = built
            model = try built.model.trainingModel()
        } else {
            model = try AdapterModel(
                base: base, mode: mode, head: HeadSpec(name: adapterName, labels: headLabels, dropout: headDropout, config: headConfig))
            model.initializeTrainable(seed: config.seed)
            branches = [(adapterName, method.name, model)]
            for (k, branch) in try parallelBranches().enumerated() {
                let m = try AdapterModel(
                    base: base, mode: .adapter(name: branch.name, config: branch.config),
                    head: HeadSpec(name: branch.name, labels: headLabels, dropout: headDropout, config: headConfig))
                // Each branch drawn from its own stream, as AdapterHub's add_adapter calls draw one after another.
                m.initializeTrainable(seed: config.seed &+ UInt64(k + 1))
                branches.append((branch.name, branch.config.methodName, m))
            }
        }
        for branch in branches {
            guard case .adapter(_, let config) = branch.model.mode else { continue }
            for case .promptTuning(let pt) in config.members where pt.promptInit == "from_string" {
                // AdapterHub: tokenizer(prompt_init_text)["input_ids"], special tokens included.
                try branch.model.initializePrompt(fromTokenIds: tokenizer.encode(pt.promptInitText ?? "").ids)
            }
        }
        let out = URL(fileURLWithPath: output)
        let trainer = try Trainer(
            models: branches.isEmpty ? [model] : branches.map(\.model), train: trainData, eval: evalData, config: config,
            padId: tokenizer.padTokenId, output: out)
        trainer.group = group
        trainer.gradientAccumulationSteps = gradientAccumulationSteps
        let progress = ProgressReporter()
        if leader { trainer.observer = { progress.report($0) } }
        guard leader else {
            _ = try trainer.run(resume: resume)
            return
        }
        // A Parallel trains every branch's tensors (each is listed under "parallel" in the summary).
        let trainable = trainer.models.reduce(0) { $0 + $1.parameters.parameterCount }
        if branches.count > 1 {
            logger.info("training in Parallel: \(branches.map { "\($0.name) (\($0.method))" }.joined(separator: ", "))")
        }
        logger.info(
            "training \(method.name) for \(model.head.describe) on \(trainData.count) examples (labels: \(headLabels.joined(separator: ", "))), \(trainable) trainable parameters")
        let summary = try trainer.run(resume: resume)
        progress.finish()
        let modelName = modelOptions.modelName
        let saved: URL
        if method == .full {
            saved = out.appendingPathComponent("model")
            let original = try Data(contentsOf: pretrained.folder.appendingPathComponent("config.json"))
            try model.saveHFModel(to: saved, originalConfig: original, tokenizerFolder: pretrained.folder)
        } else if let fusion {
            saved = out.appendingPathComponent(fusion.name)
            try fusion.model.saveAdapterFusion(to: saved, name: fusion.name)
        } else {
            saved = out.appendingPathComponent(adapterName)
            try model.saveAdapterHub(to: saved, modelName: modelName)
            for branch in branches.dropFirst() {
                try branch.model.saveAdapterHub(to: out.appendingPathComponent(branch.name), modelName: modelName)
            }
        }
        // Full fine-tuning trains the base itself; otherwise the frozen base comes on top of what trains.
        let totalParameters = method == .full ? trainable : base.weights.parameterCount + trainable
        var summaryJSON: [String: Any] = [
            "method": method.name, "steps": summary.steps, "final_loss": summary.finalLoss, "seconds": summary.seconds,
            "train_seconds": summary.totalSeconds,
            "samples_per_second": summary.samplesPerSecond, "trainable_parameters": trainable,
            "total_parameters": totalParameters, "saved_bytes": Self.bytes(under: saved),
            "learning_rate": config.learningRate, "seed": config.seed, "batch_size": config.batchSize,
            "epochs": config.epochs, "max_length": config.maxLength,
            "base_model": modelName, "train": trainName, "labels": headLabels, "saved": saved.path,
        ]
        if let maxSteps { summaryJSON["max_steps"] = maxSteps }
        if let peak = peakResidentMiB() { summaryJSON["peak_rss_bytes"] = Int(peak * 1024 * 1024) }
        if let evalName = dataset.map({ "\($0) (\(evalSplit ?? ""))" }) ?? eval, evalFiles != nil {
            summaryJSON["eval_data"] = evalName
        }
        if let dataset { summaryJSON["dataset"] = dataset }
        summaryJSON["eval"] = Self.evaluationJSON(summary.evaluation, summary.taskEvaluation)
        summaryJSON["task"] = task.rawValue
        if let best = summary.bestStep { summaryJSON["best_step"] = best }
        if branches.count > 1 {
            // Each adapter trained in the Parallel (the first is the one the top-level fields describe).
            summaryJSON["parallel"] = zip(branches, summary.branchEvaluations).map { branch, result -> [String: Any] in
                var entry: [String: Any] = [
                    "name": branch.name, "method": branch.method, "saved": out.appendingPathComponent(branch.name).path,
                    "trainable_parameters": branch.model.parameters.parameterCount,
                ]
                entry["eval"] = Self.evaluationJSON(result.evaluation, result.taskEvaluation)
                return entry
            }
        }
        let summaryData = try JSONSerialization.data(withJSONObject: summaryJSON, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        // Written last and atomically: a summary means the run finished (compare skips such runs).
        try summaryData.write(to: out.appendingPathComponent("summary.json"), options: .atomic)
        print(String(decoding: summaryData, as: UTF8.self))
    }

    /// summary.json's `eval` object: a classifier's accuracy and macro-F1, or another task's metrics; nil without an
    /// evaluation.
    static func evaluationJSON(_ classification: ClassificationMetrics?, _ task: TaskMetrics?) -> [String: Any]? {
        if let e = classification {
            return ["accuracy": e.accuracy, "macro_f1": e.macroF1, "loss": e.loss, "examples": e.examples]
        }
        guard let e = task else { return nil }
        var eval: [String: Any] = ["loss": e.loss, "examples": e.examples]
        for (k, v) in e.values { eval[k] = v }
        return eval
    }

    /// `--method fusion`: the `--adapter` folders loaded (a repeated name gets `_2`, `_3`…), a new fusion layer over
    /// them with a head named like it, ready to train (`train_adapter_fusion`).
    func fusionModel(base: EncoderModel, headLabels: [String], headConfig: HeadConfig, dropout: Float, seed: UInt64) throws
        -> (model: ModelWithAdapters, name: String)
    {
        guard adapter.count >= 2 else { throw ValidationError("--method fusion needs at least 2 --adapter folders to fuse") }
        let fusionConfig: FusionConfig
        switch self.fusionConfig {
        case "dynamic": fusionConfig = .dynamic
        case "static": fusionConfig = .static
        default: throw ValidationError("--fusion-config must be dynamic or static, not '\(self.fusionConfig)'")
        }
        let withAdapters = ModelWithAdapters(base: base, modelName: modelOptions.modelName, logger: logger)
        var names: [String] = []
        for (i, path) in (stackBefore + adapter).enumerated() {
            let url = try HubAccess.folder(path, selection: .all)
            do {
                names.append(try withAdapters.loadAdapter(from: url, withHead: false))
            } catch AdapterError.alreadyExists(let name) {
                names.append(try withAdapters.loadAdapter(from: url, loadAs: "\(name)_\(i + 1)", withHead: false))
            }
        }
        let stacked = Array(names.prefix(stackBefore.count))
        let fused = Array(names.dropFirst(stackBefore.count))
        let name = fused.joined(separator: ",")
        try withAdapters.addAdapterFusion(fused, config: fusionConfig, seed: seed)
        try withAdapters.addHead(name, config: headConfig, labels: headLabels, dropout: dropout, seed: seed)
        try withAdapters.trainAdapterFusion(AdapterSetup(blocks: stacked.map { .adapter($0) } + [.fuse(fused)]))
        return (withAdapters, name)
    }

    /// Bytes of the files under `folder` (what a user ships: the adapter folder, or the whole model).
    static func bytes(under folder: URL) -> Int {
        let keys: [URLResourceKey] = [.fileSizeKey, .isRegularFileKey]
        guard let walk = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: keys) else { return 0 }
        var total = 0
        for case let url as URL in walk {
            let values = try? url.resourceValues(forKeys: Set(keys))
            if values?.isRegularFile == true { total += values?.fileSize ?? 0 }
        }
        return total
    }
}

extension LearningRateSchedule: ExpressibleByArgument {}
extension AdapterActivation: ExpressibleByArgument {}

extension DatasetTask {
    /// The AdapterHub head that learns these labels (regression: a classification head with one output).
    var headType: HeadType {
        switch self {
        case .classification, .regression: .classification
        case .multilabelClassification: .multilabelClassification
        case .tagging: .tagging
        case .multipleChoice: .multipleChoice
        case .questionAnswering: .questionAnswering
        }
    }

    /// The task a head's outputs answer.
    init(head: HeadSpec) {
        switch head.type {
        case .classification: self = head.isRegression ? .regression : .classification
        case .multilabelClassification: self = .multilabelClassification
        case .tagging: self = .tagging
        case .multipleChoice: self = .multipleChoice
        case .questionAnswering: self = .questionAnswering
        }
    }
}

/// A live progress bar on a terminal, plain log lines otherwise (CI, files).
final class ProgressReporter {
    let interactive = isatty(fileno(stderr)) != 0
    private var total = 0
    private var lastDraw = 0.0
    private let start = Date()
    private var firstStep: Int?

    func report(_ event: TrainingEvent, head: String? = nil) -> Bool {
        // Several adapters trained in Parallel: each evaluation line names its head.
        let of = head.map { " of '\($0)'" } ?? ""
        switch event {
        case .branch(let head, let inner):
            return report(inner, head: head)
        case .started(let total, let resumed, let params):
            self.total = total
            if let resumed { logger.info("resuming from step \(resumed) of \(total)") }
            _ = params
        case .step(let step, let total, let loss, let lr, _, let rate):
            guard interactive else { break }
            let now = Date().timeIntervalSince1970
            if now - lastDraw < 0.2 && step < total { break }
            lastDraw = now
            let width = 30
            let filled = Int(Double(width) * Double(step) / Double(max(total, 1)))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            if firstStep == nil { firstStep = step - 1 }
            let done = Double(step - (firstStep ?? 0))
            let eta = done > 0 ? Date().timeIntervalSince(start) / done * Double(total - step) : 0
            FileHandle.standardError.write(
                Data(String(format: "\r%@ %d/%d loss %.4f lr %.2e %.1f samples/s eta %.0fs ", bar, step, total, loss, lr, rate, eta).utf8))
        case .logged(let step, let epoch, let loss, let lr, let norm, let rate):
            if !interactive {
                FileHandle.standardError.write(
                    Data(String(format: "step %d/%d epoch %.2f loss %.4f lr %.3e grad_norm %.3f %.1f samples/s\n", step, total, epoch, loss, lr, norm, rate).utf8))
            }
        case .evaluated(let step, let m):
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            FileHandle.standardError.write(
                Data(String(format: "eval%@ at step %d: accuracy %.4f macro-F1 %.4f loss %.4f\n", of, step, m.accuracy, m.macroF1, m.loss).utf8))
        case .evaluatedTask(let step, let m):
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            FileHandle.standardError.write(
                Data("eval\(of) at step \(step): \(m.summary), loss \(String(format: "%.4f", m.loss))\n".utf8))
        case .checkpointSaved:
            break
        }
        return true
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
