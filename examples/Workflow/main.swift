// The seed's workflow through the Swift API, on the built-in default (all-MiniLM-L6-v2 + Rotten
// Tomatoes): add a seq_bn adapter and a head, train, evaluate, predict with the pipeline, save,
// then deactivate and delete — and show that the base model is exactly the one that was loaded.
//
//   swift run -c release Workflow [MODEL_DIR|HUB_ID] [OUTPUT_DIR]
//
// The model defaults to the Hub id sentence-transformers/all-MiniLM-L6-v2, read from the Hugging Face
// cache where scripts/setup.sh put it (the cache Python's transformers reads too).
//
// The README puts each step next to the `adapters` command that does the same.
import Adapters
import Datasets
import Encoders
import Foundation
import Hub
import Inference
import Kernels
import Training

BLASCoreSelection.restartWithOptimizedKernelsIfNeeded()
setvbuf(stdout, nil, _IOLBF, 0)

func stage(_ title: String) { print("== \(title)") }

do {
    let arguments = CommandLine.arguments
    let modelPath = arguments.count > 1 ? arguments[1] : "sentence-transformers/all-MiniLM-L6-v2"
    let output = URL(fileURLWithPath: arguments.count > 2 ? arguments[2] : "runs/workflow")
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

    // Load the pre-trained model and its tokenizer; note what the base computes before any adapter.
    var modelFolder = URL(fileURLWithPath: modelPath)
    if !FileManager.default.fileExists(atPath: modelPath) {
        let cache = HubCache(root: HubEnvironment().cacheDirectory)
        guard let snapshot = cache.cachedSnapshot(RepoReference(try RepoID(modelPath)), revision: "main") else {
            throw ValidationFailure("\(modelPath) is not in the Hugging Face cache (\(cache.root.path)): run scripts/setup.sh")
        }
        modelFolder = snapshot
    }
    let pretrained = try PretrainedModel(folder: modelFolder)
    guard let tokenizer = pretrained.tokenizer else { throw ValidationFailure("\(modelPath) has no tokenizer files") }
    let model = ModelWithAdapters(base: pretrained.encoder, modelName: "sentence-transformers/all-MiniLM-L6-v2")
    let examples = [
        "A gripping, beautifully acted film.", "Dull, predictable and far too long.",
        "I laughed, I cried, I want to see it again.",
    ]
    let probe = try TextEncoder(tokenizer: tokenizer, config: pretrained.config).batch(
        examples.map { InputRecord.text($0, pair: nil) }[...], source: "examples")
    let checksumBefore = model.baseChecksum
    let hiddenBefore = try model.lastHiddenState(probe)

    // Data: Rotten Tomatoes as JSON lines (text, label 0/1).
    let labels = ["negative", "positive"]
    let labelMap = LabelMap(names: ["0", "1"])
    var config = TrainingConfig()
    config.learningRate = 1e-3
    config.weightDecay = 0.01
    config.maxLength = 64
    config.epochs = 1
    config.logEvery = 50
    let train = try TokenizedDataset(
        dataset: try LabeledDataset.load(path: "data/rotten_tomatoes/train.jsonl"), tokenizer: tokenizer,
        labelMap: labelMap, maxLength: config.maxLength)
    let test = try TokenizedDataset(
        dataset: try LabeledDataset.load(path: "data/rotten_tomatoes/test.jsonl"), tokenizer: tokenizer,
        labelMap: labelMap, maxLength: config.maxLength)

    stage("add_adapter + add_classification_head + train_adapter (seq_bn, \(train.count) reviews, 1 epoch)")
    try model.addAdapter("rotten_tomatoes", config: .bottleneck(.seqBn))
    try model.addClassificationHead("rotten_tomatoes", labels: labels)
    try model.trainAdapter("rotten_tomatoes")
    let trainer = try Trainer(
        model: try model.trainingModel(), train: train, eval: nil, config: config, padId: tokenizer.padTokenId,
        output: output.appendingPathComponent("checkpoints"))
    trainer.observer = { event in
        if case .logged(let step, _, let loss, _, _, let rate) = event {
            print(String(format: "  step %4d  loss %.4f  %.0f samples/s", step, loss, rate))
        }
        return true
    }
    let summary = try trainer.run()
    for row in model.summary() {
        print(
            String(
                format: "  %@: %@, %d parameters (%.2f %% of the base), active %@", row.name, row.architecture,
                row.parameters, row.percentOfBase, row.active ? "yes" : "no"))
    }

    stage("evaluate on the test split (\(test.count) reviews)")
    let metrics = try Trainer.evaluate(
        model: model, dataset: test, batchSize: 64, padId: tokenizer.padTokenId, maxLength: config.maxLength)
    print(
        String(
            format: "  accuracy %.4f, macro-F1 %.4f after %d steps in %.0f s", metrics.accuracy, metrics.macroF1,
            summary.steps, summary.seconds))

    stage("predict with a TextClassificationPipeline")
    let classify = TextClassificationPipeline(classifier: model, tokenizer: tokenizer, config: pretrained.config)
    for (text, result) in zip(examples, try classify(examples)) {
        print(
            "  \(text.padding(toLength: 45, withPad: " ", startingAt: 0)) \(result[0].label) (\(String(format: "%.3f", result[0].score)))"
        )
    }

    stage("save_adapter")
    let saved = output.appendingPathComponent("rotten_tomatoes")
    try model.saveAdapter(to: saved, name: "rotten_tomatoes")
    func bytes(_ url: URL) -> Int {
        // The Hugging Face cache's snapshot files are symlinks to blobs: measure what they point to.
        ((try? FileManager.default.attributesOfItem(atPath: url.resolvingSymlinksInPath().path))?[.size] as? Int) ?? 0
    }
    let adapterBytes = ["adapter.safetensors", "model_head.safetensors", "adapter_config.json", "head_config.json"]
        .map { bytes(saved.appendingPathComponent($0)) }.reduce(0, +)
    let modelBytes = bytes(pretrained.folder.appendingPathComponent("model.safetensors"))
    print(
        String(
            format: "  %@: %.2f MB (adapter + head), the full model: %.2f MB (%.1f %%)", saved.path,
            Double(adapterBytes) / 1e6,
            Double(modelBytes) / 1e6, 100 * Double(adapterBytes) / Double(modelBytes)))

    stage("set_active_adapters(None) + delete_adapter + delete_head")
    try model.setActiveAdapters(nil)
    try model.deleteAdapter("rotten_tomatoes", deleteHead: true, unfreezeBase: true)
    let hiddenAfter = try model.lastHiddenState(probe)
    let sameWeights = model.baseChecksum == checksumBefore
    let sameOutputs = hiddenAfter == hiddenBefore
    print(
        String(
            format: "  base weights checksum %016llx before, %016llx after: %@", checksumBefore, model.baseChecksum,
            sameWeights ? "identical" : "DIFFERENT"))
    print(
        "  base outputs for the 3 sentences (\(hiddenAfter.count) floats): \(sameOutputs ? "bit-identical to before the adapter" : "DIFFERENT")"
    )
    print("  adapters left: \(model.adapterNames), heads left: \(model.headNames)")
    guard sameWeights && sameOutputs else { throw ValidationFailure("the base model was not restored") }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
