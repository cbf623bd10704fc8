import Foundation

/// Errors thrown while loading tokenizer files.
///
/// Every case names the offending file, and the line where one is known, so that a broken model
/// folder can be fixed without a debugger. Encoding and decoding never throw: once a `Tokenizer`
/// is loaded every input string has a defined encoding.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file the chosen format needs does not exist.
    case missingFile(path: String)
    /// The directory holds none of `tokenizer.json`, `vocab.json` + `merges.txt`, `vocab.txt`.
    case noTokenizerFiles(directory: String)
    /// The file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not what its format requires (JSON syntax, wrong value types, a merges line
    /// without exactly two tokens, an empty vocabulary, ...). `line` is 1-based when known.
    case malformedFile(path: String, line: Int?, reason: String)
    /// A merge rule names a token (or produces a token) that the vocabulary lacks.
    case unknownMergeToken(path: String, line: Int, token: String)
    /// The file is not valid UTF-8; `line` is the 1-based line of the first bad byte.
    case invalidUTF8(path: String, line: Int)
    /// `tokenizer.json` declares a model type this package does not implement.
    case unsupportedModel(path: String, type: String)
    /// `tokenizer.json` declares a normalizer, pre-tokenizer, post-processor or model option this
    /// package does not implement; silently ignoring it would give different ids than HF.
    case unsupportedComponent(path: String, component: String, detail: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "tokenizer file not found: \(path)"
        case .noTokenizerFiles(let directory):
            return "no tokenizer files in \(directory): expected tokenizer.json, vocab.json + merges.txt, or vocab.txt"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedFile(let path, let line, let reason):
            if let line { return "\(path):\(line): malformed: \(reason)" }
            return "\(path): malformed: \(reason)"
        case .unknownMergeToken(let path, let line, let token):
            return "\(path):\(line): merge names token \(String(reflecting: token)) which is not in the vocabulary"
        case .invalidUTF8(let path, let line):
            return "\(path):\(line): invalid UTF-8"
        case .unsupportedModel(let path, let type):
            return "\(path): unsupported tokenizer model type \(String(reflecting: type)) (supported: BPE with ByteLevel, WordPiece)"
        case .unsupportedComponent(let path, let component, let detail):
            return "\(path): unsupported \(component): \(detail)"
        }
    }
}
