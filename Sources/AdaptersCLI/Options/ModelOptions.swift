import Adapters
import ArgumentParser
import Foundation
import Encoders
import Inference
import Training

/// `--model`: an HF model folder; defaults to the built-in all-MiniLM-L6-v2 that scripts/setup.sh fetches.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "HF model folder (config.json + model.safetensors [+ tokenizer files]), or a Hub id (org/name[@revision]) downloaded into the HF cache. Default: the built-in all-MiniLM-L6-v2.")
    var model: String?

    /// `$ADAPTERS_DEFAULT_MODEL`, else `.cache/models/all-MiniLM-L6-v2` under the current folder.
    static var defaultModelPath: String {
        ProcessInfo.processInfo.environment["ADAPTERS_DEFAULT_MODEL"] ?? ".cache/models/all-MiniLM-L6-v2"
    }

    var resolvedPath: String { model ?? Self.defaultModelPath }

    /// How saved adapters name their base model (`model_name`): a Hub id as given (without
    /// `@revision`), else the folder's name — never a snapshot's commit hash.
    var modelName: String {
        let path = resolvedPath
        if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent }
        return path.split(separator: "@", maxSplits: 1).first.map(String.init) ?? path
    }

    func load() throws -> PretrainedModel {
        let path = resolvedPath
        if model == nil, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("the built-in default model is not installed at \(path): run scripts/setup.sh, or pass --model")
        }
        let folder = model == nil ? URL(fileURLWithPath: path) : try HubAccess.folder(path, selection: .model)
        return try PretrainedModel(folder: folder, logger: logger)
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
/// Stack in the given order; the head is the last adapter's.
func loadAdapterFolders(_ paths: [String], base: EncoderModel) throws -> ModelWithAdapters {
    let model = ModelWithAdapters(base: base, logger: logger)
    var names: [String] = []
    for (i, path) in paths.enumerated() {
        let url = try HubAccess.folder(path, selection: .all)
        do {
            names.append(try model.loadAdapter(from: url))
        } catch AdapterError.alreadyExists(let name), AdapterError.headAlreadyExists(let name) {
            // Folders trained under the same name stack as NAME_2, NAME_3…, as `load_as` would.
            names.append(try model.loadAdapter(from: url, loadAs: "\(name)_\(i + 1)"))
        }
    }
    try model.setActiveAdapters(AdapterSetup(names))
    guard let last = names.last, model.activeHead == last else {
        throw ValidationError("\(paths.last ?? ""): the last --adapter has no head_config.json; its head gives the labels")
    }
    return model
}
