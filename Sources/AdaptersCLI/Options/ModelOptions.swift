import Adapters
import ArgumentParser
import Foundation
import Hub
import Encoders
import Inference
import Kernels
import Training

/// `--model`: an HF model folder or a Hub id; defaults to the built-in all-MiniLM-L6-v2, which
/// scripts/setup.sh puts into the Hugging Face cache.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "HF model folder (config.json + model.safetensors [+ tokenizer files]), or a Hub id (org/name[@revision]) downloaded into the HF cache. Default: the built-in sentence-transformers/all-MiniLM-L6-v2.")
    var model: String?

    /// The built-in default, a Hub id: `scripts/setup.sh` puts its files into the HF cache.
    static let defaultModelID = "sentence-transformers/all-MiniLM-L6-v2"

    /// `--model`, else `$ADAPTERS_DEFAULT_MODEL`, else the built-in default's Hub id.
    var resolvedPath: String {
        model ?? ProcessInfo.processInfo.environment["ADAPTERS_DEFAULT_MODEL"] ?? Self.defaultModelID
    }

    /// How saved adapters name their base model (`model_name`): a Hub id as given (without
    /// `@revision`), else the folder's name — never a snapshot's commit hash.
    var modelName: String {
        let path = resolvedPath
        if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent }
        return path.split(separator: "@", maxSplits: 1).first.map(String.init) ?? path
    }

    /// The model's folder. The built-in default comes straight from the HF cache, with no request and
    /// from any working directory; only when it is not cached is it fetched like any Hub id.
    func folder() throws -> URL {
        let path = resolvedPath
        if path == Self.defaultModelID, let cached = HubAccess.cachedSnapshot(path) { return cached }
        do {
            return try HubAccess.folder(path, selection: .model)
        } catch let error where path == Self.defaultModelID {
            throw ValidationError(
                "the built-in default model \(path) is not in the Hugging Face cache (\(HubEnvironment().cacheDirectory.path)) and could not be fetched (\(error)): run scripts/setup.sh, or pass --model")
        }
    }

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Arithmetic: fp32 (exact, the default), bf16 (mixed precision: the base model's GEMMs in bf16 through oneDNN, everything else fp32; needs AMX-BF16 or AVX512-BF16), or auto (bf16 where the CPU has it, else fp32).",
            valueName: "fp32|bf16|auto"))
    var precision: Precision = .fp32

    /// `--precision` decided for this machine; `auto` says once what it picked and why.
    func resolvedPrecision() throws -> ResolvedPrecision {
        let resolved: ResolvedPrecision
        do { resolved = try precision.resolved() } catch { throw ValidationError("\(error)") }
        if precision == .auto {
            let why = BF16Support.missing.map { "fp32 (\($0))" }
                ?? "bf16 (\(BF16Support.cpuFeatures.joined(separator: ", ")); \(BF16Support.oneDNNDescription))"
            logger.info("precision auto: \(why)")
        }
        return resolved
    }

    /// Loads the model in `--precision`; `keepFP32Weights` for training, which needs the fp32 master
    /// weights (full fine-tuning, DoRA) while its GEMMs read bf16 copies.
    func load(keepFP32Weights: Bool = false) throws -> PretrainedModel {
        try PretrainedModel(
            folder: try folder(), precision: try resolvedPrecision(), keepFP32Weights: keepFP32Weights, logger: logger)
    }
}

/// Input file and batching options shared by predict, embed and tokenize.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Input: .txt (one text a line) or .jsonl (a text field, or input_ids/attention_mask).")
    var input: String

    @Option(name: .long, help: "Output JSONL file (default: standard output). Written atomically.")
    var output: String?

    @Option(name: .long, help: "JSONL field holding the text.")
    var textField = "text"

    @Option(name: .long, help: "JSONL field holding the second text of a pair.")
    var textPairField: String?

    func validate() throws {
        if input.isEmpty { throw ValidationError("--input must name a file") }
    }

    var readerOptions: InputReader.Options { .init(textField: textField, textPairField: textPairField) }
}

/// Adapter folders (AdapterHub's, or PEFT LoRA; local or Hub ids) loaded onto `base` and run as a
/// Stack in the given order; the head is the last adapter's. With `activate` false they are only loaded (a
/// `--compose` expression then names them).
func loadAdapterFolders(_ paths: [String], base: EncoderModel, activate: Bool = true) throws -> ModelWithAdapters {
    let model = ModelWithAdapters(base: base, logger: logger)
    var names: [String] = []
    for (i, path) in paths.enumerated() {
        let url = try HubAccess.folder(path, selection: .all)
        if ModelWithAdapters.isHeadOnlyFolder(url) {
            // A head trained alone (train --method head): the plain base with that head.
            guard paths.count == 1 else {
                throw ValidationError("\(path) holds a head and no adapter; give it as the only --adapter")
            }
            try model.loadHead(from: url)
            return model
        }
        do {
            names.append(try model.loadAdapter(from: url))
        } catch AdapterError.alreadyExists(let name), AdapterError.headAlreadyExists(let name) {
            // Folders trained under the same name stack as NAME_2, NAME_3…, as `load_as` would.
            names.append(try model.loadAdapter(from: url, loadAs: "\(name)_\(i + 1)"))
        }
    }
    guard activate else { return model }
    try model.setActiveAdapters(AdapterSetup(names))
    guard let last = names.last, model.activeHead == last else {
        throw ValidationError("\(paths.last ?? ""): the last --adapter has no head_config.json; its head gives the labels")
    }
    return model
}
extension Precision: ExpressibleByArgument {}
