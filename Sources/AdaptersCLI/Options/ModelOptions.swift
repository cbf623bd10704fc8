import ArgumentParser
import Foundation
import Encoders
import Inference
import Training

/// `--model`: an HF model folder; defaults to the built-in all-MiniLM-L6-v2 that scripts/setup.sh fetches.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "HF model folder (config.json + model.safetensors [+ tokenizer files]). Default: the built-in all-MiniLM-L6-v2.")
    var model: String?

    /// `$ADAPTERS_DEFAULT_MODEL`, else `.cache/models/all-MiniLM-L6-v2` under the current folder.
    static var defaultModelPath: String {
        ProcessInfo.processInfo.environment["ADAPTERS_DEFAULT_MODEL"] ?? ".cache/models/all-MiniLM-L6-v2"
    }

    var resolvedPath: String { model ?? Self.defaultModelPath }

    func load() throws -> PretrainedModel {
        let path = resolvedPath
        if model == nil, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("the built-in default model is not installed at \(path): run scripts/setup.sh, or pass --model")
        }
        return try PretrainedModel(folder: URL(fileURLWithPath: path), logger: logger)
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

/// An adapter folder in AdapterHub's layout, or PEFT's (`adapter_model.safetensors`), on `base`.
func loadAdapterFolder(_ path: String, base: EncoderModel) throws -> AdapterModel {
    let url = URL(fileURLWithPath: path)
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("adapter_model.safetensors").path) {
        return try AdapterModel.load(peftFolder: url, base: base)
    }
    return try AdapterModel.load(adapterFolder: url, base: base)
}
