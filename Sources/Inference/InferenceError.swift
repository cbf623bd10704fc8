/// Errors of model folders and inputs, naming the file (and line) at fault.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    case modelNotFound(path: String)
    case missingFile(folder: String, detail: String)
    case invalidInput(path: String, line: Int?, detail: String)
    case noTokenizer(folder: String)

    public var description: String {
        switch self {
        case .modelNotFound(let path): "\(path): no such model folder"
        case .missingFile(let folder, let detail): "\(folder): \(detail)"
        case .invalidInput(let path, let line, let detail):
            line.map { "\(path):\($0): \(detail)" } ?? "\(path): \(detail)"
        case .noTokenizer(let folder):
            "\(folder): no tokenizer files (tokenizer.json, vocab.json + merges.txt, or vocab.txt); use pre-tokenized input"
        }
    }
}
