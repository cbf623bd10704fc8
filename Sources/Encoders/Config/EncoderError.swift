/// Errors of model configuration, weights and inputs; each names the file or input at fault.
public enum EncoderError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(path: String, detail: String)
    case unsupported(path: String, detail: String)
    case missingWeight(source: String, name: String)
    case weightShapeMismatch(source: String, name: String, expected: [Int], found: [Int])
    case weightNotFloatingPoint(source: String, name: String, dtype: String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case .invalidConfig(let path, let detail): "\(path): invalid model config: \(detail)"
        case .unsupported(let path, let detail): "\(path): unsupported model: \(detail)"
        case .missingWeight(let source, let name): "\(source): missing weight '\(name)'"
        case .weightShapeMismatch(let source, let name, let expected, let found):
            "\(source): weight '\(name)' has shape \(found), expected \(expected)"
        case .weightNotFloatingPoint(let source, let name, let dtype):
            "\(source): weight '\(name)' has dtype \(dtype), expected a floating-point type"
        case .invalidInput(let detail): "invalid input: \(detail)"
        }
    }
}
