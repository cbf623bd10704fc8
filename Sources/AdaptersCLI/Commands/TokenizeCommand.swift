import ArgumentParser
import Hub
import Foundation
import Inference
import Tokenizers

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize texts with a model's tokenizer: one JSON line each, {input_ids, attention_mask[, token_type_ids]}.")

    @Option(name: .long, help: "Folder with tokenizer.json, vocab.json + merges.txt, or vocab.txt; or a Hub model id.")
    var model: String

    @OptionGroup var inputOptions: InputOptions

    @Option(name: .long, help: "Maximum length, special tokens included.")
    var maxLength: Int?

    @Option(name: .long, help: "none, longest (to the longest input of the file) or max_length.")
    var padding: PaddingStrategy = .none

    @Flag(name: .long, help: "Truncate to --max-length (longest_first for pairs).")
    var truncation = false

    func validate() throws {
        if padding == .maxLength && maxLength == nil { throw ValidationError("--padding max_length needs --max-length") }
        if truncation && maxLength == nil { throw ValidationError("--truncation needs --max-length") }
        if let maxLength, maxLength < 1 { throw ValidationError("--max-length must be positive") }
    }

    func run() throws {
        let files = FileSelection(
            allowPatterns: ["tokenizer.json", "tokenizer_config.json", "vocab.*", "merges.txt", "special_tokens_map.json", "config.json"])
        let tokenizer = try Tokenizer.load(from: try HubAccess.folder(model, selection: files))
        let records = try InputReader.read(inputOptions.input, options: inputOptions.readerOptions)
        var texts: [String] = []
        var pairs: [String] = []
        for (i, record) in records.enumerated() {
            guard case .text(let text, let pair) = record else {
                throw InferenceError.invalidInput(path: inputOptions.input, line: i + 1, detail: "already tokenized")
            }
            texts.append(text)
            pairs.append(pair ?? "")
        }
        let options = EncodeOptions(addSpecialTokens: true, maxLength: maxLength, truncation: truncation, padding: padding)
        let encodings = tokenizer.encodeBatch(
            texts, pairs: inputOptions.textPairField == nil ? nil : pairs, options: options)
        let sink = try OutputSink(path: inputOptions.output)
        for e in encodings {
            var line = "{\"input_ids\":\(JSONLines.array(e.ids)),\"attention_mask\":\(JSONLines.array(e.attentionMask))"
            if tokenizer.usesTokenTypeIds { line += ",\"token_type_ids\":\(JSONLines.array(e.typeIds))" }
            sink.write(line + "}")
        }
        try sink.finish()
    }
}

extension PaddingStrategy: ExpressibleByArgument {}
