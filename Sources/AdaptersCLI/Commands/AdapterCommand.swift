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
        abstract: "Inspect AdapterHub adapter folders; merge LoRA into a full model; eject a prefix's MLP; average adapters.",
        subcommands: [AdapterInfo.self, AdapterMerge.self, AdapterEjectPrefix.self, AdapterAverage.self])
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

struct AdapterAverage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "average",
        abstract: "Average adapters of one configuration into a new one (AdapterHub's average_adapter), with their heads if they match.",
        discussion: """
            --combine linear (every tensor weighted), lora_linear_only_negate_b (LoRA: A takes |w|) or lora_delta_w_svd \
            (LoRA: the weighted B·A of every location cut to --svd-rank by an SVD). Weights are normalised to sum 1 \
            unless --no-normalize. With --with-heads the heads (same type and labels) are averaged too (average_head).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "An adapter folder (repeat, at least one), or a Hub id.")
    var adapter: [String] = []

    @Option(name: .long, help: "Comma-separated weights, one per --adapter (default equal).")
    var weights: String?

    @Flag(name: .long, help: "Use the weights as given instead of dividing them by their sum.")
    var noNormalize = false

    @Option(name: .long, help: "linear, lora_linear_only_negate_b or lora_delta_w_svd.")
    var combine: AdapterCombineStrategy = .linear

    @Option(name: .long, help: "With lora_delta_w_svd: the rank of the averaged adapter.")
    var svdRank: Int?

    @Flag(name: .long, help: "Average the adapters' heads into a head of the new name too.")
    var withHeads = false

    @Option(name: .long, help: "Name of the averaged adapter.")
    var name: String

    @Option(name: .long, help: "Output AdapterHub folder.")
    var output: String

    func validate() throws {
        if adapter.isEmpty { throw ValidationError("give at least one --adapter") }
        if let svdRank, svdRank < 1 { throw ValidationError("--svd-rank must be at least 1") }
        if svdRank != nil && combine != .loraDeltaWSVD { throw ValidationError("--svd-rank goes with --combine lora_delta_w_svd") }
    }

    func run() throws {
        let pretrained = try modelOptions.load()
        let model = ModelWithAdapters(base: pretrained.encoder, modelName: modelOptions.modelName, logger: logger)
        var names: [String] = []
        for (i, path) in adapter.enumerated() {
            let url = try HubAccess.folder(path, selection: .all)
            do {
                names.append(try model.loadAdapter(from: url, withHead: withHeads))
            } catch AdapterError.alreadyExists(let n), AdapterError.headAlreadyExists(let n) {
                names.append(try model.loadAdapter(from: url, loadAs: "\(n)_\(i + 1)", withHead: withHeads))
            }
        }
        var parsed: [Float]?
        if let weights {
            parsed = try weights.split(separator: ",").map {
                guard let w = Float($0.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--weights: '\($0)' is not a number")
                }
                return w
            }
        }
        try model.averageAdapter(
            name, from: names, weights: parsed, normalize: !noNormalize, combine: combine, svdRank: svdRank)
        if withHeads {
            let heads = names.filter { model.head($0) != nil }
            guard heads.count == names.count else {
                throw ValidationError("--with-heads: \(names.filter { model.head($0) == nil }.joined(separator: ", ")) has no head")
            }
            try model.averageHead(name, from: heads, weights: parsed, normalize: !noNormalize)
        }
        try model.saveAdapter(to: URL(fileURLWithPath: output), name: name, withHead: withHeads)
        print("wrote \(output): \(model.adapterConfig(name)?.summary ?? name) averaged from \(names.joined(separator: ", ")) (\(combine.rawValue))")
    }
}

extension AdapterCombineStrategy: ExpressibleByArgument {}

/// A short sequence within any vocabulary, to check that a rewritten model gives the same logits.
func probeBatch(_ config: EncoderConfig) throws -> TokenBatch {
    try TokenBatch(
        sequences: [[Int32(0), 5, 6, 7, 8, 2].map { Int32(min(Int($0), config.vocabSize - 1)) }], padId: Int32(config.padTokenId))
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
