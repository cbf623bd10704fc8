import Adapters
import ArgumentParser
import Encoders
import Foundation
import Inference
import Kernels
import ModelIO
import Training

struct AdapterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter",
        abstract: "Inspect AdapterHub adapter folders; merge LoRA into a full model; eject a prefix's MLP.",
        subcommands: [AdapterInfo.self, AdapterMerge.self, AdapterEjectPrefix.self])
}

struct AdapterInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe an adapter folder.")

    @Argument(help: "AdapterHub adapter folder, or a Hub id (org/name[@revision]).")
    var folder: String

    func run() throws {
        let adapter = try AdapterHubAdapter(folder: try HubAccess.folder(folder, selection: .all))
        let method: String
        switch adapter.config {
        case nil:
            method = "none (a head saved on its own)"
        case let config?:
            method = config.summary
        }
        func count(_ s: TensorSource) -> Int { s.tensorNames.reduce(0) { $0 + (s.shape(of: $1)?.reduce(1, *) ?? 0) } }
        print("adapter:    \(adapter.name)")
        print("method:     \(method)")
        print("for model:  \(adapter.modelType ?? "?"), hidden size \(adapter.hiddenSize.map(String.init) ?? "?")")
        if let weights = adapter.weights, let path = adapter.weightsPath {
            print("weights:    \(weights.tensorNames.count) tensors, \(formatCount(count(weights))) parameters (\(path))")
        }
        if let head = adapter.head {
            print("head:       \(head.name), \(head.config.type.rawValue) (\(head.config.layers) layers), labels \(head.labels.joined(separator: ", ")); \(formatCount(count(head.weights))) parameters")
        } else {
            print("head:       none")
        }
        let bytes = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).reduce(0) { total, name in
            total + (((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name))?[.size] as? NSNumber)?.intValue ?? 0)
        }
        print("on disk:    \(formatBytes(bytes))")
    }
}

struct AdapterMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold a LoRA adapter into its base model and write an HF *ForSequenceClassification folder.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "LoRA adapter folder (with its head), or a Hub id.")
    var adapter: String

    @Option(name: .long, help: "Output model folder.")
    var output: String

    func run() throws {
        let pretrained = try modelOptions.load()
        let model = try AdapterModel.load(adapterFolder: try HubAccess.folder(adapter, selection: .all), base: pretrained.encoder, logger: logger)
        try model.mergeLoRA()
        let out = URL(fileURLWithPath: output)
        try model.saveHFModel(
            to: out, originalConfig: try Data(contentsOf: pretrained.folder.appendingPathComponent("config.json")),
            tokenizerFolder: pretrained.folder)
        // Check the written model against the adapter on a few inputs.
        let merged = try PretrainedModel(folder: out)
        let probe = try probeBatch(pretrained.config)
        let diff = maxAbsDifference(try merged.encoder.classify(probe), try model.logits(probe))
        print("wrote \(out.path) (\(merged.encoder.head?.numLabels ?? 0) labels); merged vs adapter logits differ by \(diff)")
    }
}

struct AdapterEjectPrefix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eject-prefix",
        abstract: "Replace a prefix-tuning adapter's MLP by the keys and values it computes (eject_prefix_tuning).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Prefix-tuning (or MAM) adapter folder, with its head, or a Hub id.")
    var adapter: String

    @Option(name: .long, help: "Output adapter folder (flat prefix).")
    var output: String

    func run() throws {
        let pretrained = try modelOptions.load()
        let model = ModelWithAdapters(base: pretrained.encoder, modelName: pretrained.folder.lastPathComponent, logger: logger)
        let name = try model.loadAdapter(from: try HubAccess.folder(adapter, selection: .all), setActive: true)
        guard let head = model.headNames.last else {
            throw ValidationError("\(adapter): no head_config.json; eject-prefix checks the logits through the adapter's head")
        }
        try model.setActiveHead(head)
        let probe = try probeBatch(pretrained.config)
        let before = try model.logits(probe)
        try model.ejectPrefixTuning(name)
        let after = try model.logits(probe)
        try model.saveAdapter(to: URL(fileURLWithPath: output), name: name)
        print("wrote \(output): flat prefix (\(model.adapterConfig(name)?.summary ?? "")); logits before vs after differ by \(maxAbsDifference(before, after))")
    }
}

/// A short sequence within any vocabulary, to check that a rewritten model gives the same logits.
func probeBatch(_ config: EncoderConfig) throws -> TokenBatch {
    try TokenBatch(
        sequences: [[Int32(0), 5, 6, 7, 8, 2].map { Int32(min(Int($0), config.vocabSize - 1)) }], padId: Int32(config.padTokenId))
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
