/// Errors of adapter configurations and files, naming the file or field at fault.
public enum AdapterError: Error, CustomStringConvertible, Equatable {
    case unsupported(source: String, field: String, value: String)
    case invalidConfig(source: String, detail: String)
    case unknownAdapter(String)
    case alreadyExists(String)
    case unknownHead(String)
    case headAlreadyExists(String)
    /// An operation that the current adapter setup does not allow (what and why).
    case invalidSetup(String)
    case incompatible(detail: String)
    /// A prediction head this library does not run (its type, layer count or activation).
    case unsupportedHead(source: String, detail: String)

    public var description: String {
        switch self {
        case .unsupported(let source, let field, let value):
            "\(source): adapter config field '\(field)' = \(value) is not supported by SwiftAdapters"
        case .invalidConfig(let source, let detail): "\(source): invalid adapter config: \(detail)"
        case .unknownAdapter(let name): "no adapter named '\(name)'"
        case .alreadyExists(let name): "an adapter named '\(name)' already exists (pass overwrite to replace it)"
        case .unknownHead(let name): "no head named '\(name)'"
        case .headAlreadyExists(let name): "a head named '\(name)' already exists (pass overwrite to replace it)"
        case .invalidSetup(let detail): detail
        case .incompatible(let detail): "incompatible adapter: \(detail)"
        case .unsupportedHead(let source, let detail): "\(source): unsupported prediction head: \(detail)"
        }
    }
}
