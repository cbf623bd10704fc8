import Foundation

/// Everything that can be wrong with a file ModelIO reads; each case names the file.
public enum ModelIOError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case truncated(path: String, detail: String)
    case invalidHeader(path: String, detail: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case offsetsOutOfRange(path: String, tensor: String, detail: String)
    case overlappingTensors(path: String, first: String, second: String)
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case notFloatingPoint(path: String, tensor: String, dtype: String)
    case missingTensor(path: String, tensor: String)
    case invalidIndex(path: String, detail: String)
    case writeFailed(path: String, reason: String)
    /// A JSON configuration file (`adapter_config.json`, `head_config.json`) that is not what its format says.
    case invalidConfig(path: String, detail: String)
    /// A well-formed file asking for something this version does not implement.
    case unsupported(path: String, detail: String)

    /// The case without its payload, for callers that branch on what went wrong.
    public enum Kind: Sendable, Equatable {
        case fileNotFound, unreadable, truncated, invalidHeader, unknownDType, offsetsOutOfRange, overlappingTensors
        case sizeMismatch, notFloatingPoint, missingTensor, invalidIndex, writeFailed, invalidConfig, unsupported
    }

    public var kind: Kind {
        switch self {
        case .fileNotFound: .fileNotFound
        case .unreadable: .unreadable
        case .truncated: .truncated
        case .invalidHeader: .invalidHeader
        case .unknownDType: .unknownDType
        case .offsetsOutOfRange: .offsetsOutOfRange
        case .overlappingTensors: .overlappingTensors
        case .sizeMismatch: .sizeMismatch
        case .notFloatingPoint: .notFloatingPoint
        case .missingTensor: .missingTensor
        case .invalidIndex: .invalidIndex
        case .writeFailed: .writeFailed
        case .invalidConfig: .invalidConfig
        case .unsupported: .unsupported
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path): "\(path): no such file"
        case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
        case .truncated(let path, let detail): "\(path): truncated safetensors file: \(detail)"
        case .invalidHeader(let path, let detail): "\(path): invalid safetensors header: \(detail)"
        case .unknownDType(let path, let tensor, let dtype):
            "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case .offsetsOutOfRange(let path, let tensor, let detail):
            "\(path): tensor '\(tensor)' has data offsets out of range: \(detail)"
        case .overlappingTensors(let path, let first, let second):
            "\(path): tensors '\(first)' and '\(second)' overlap in the data section"
        case .sizeMismatch(let path, let tensor, let expected, let actual):
            "\(path): tensor '\(tensor)' needs \(expected) bytes for its shape and dtype but spans \(actual)"
        case .notFloatingPoint(let path, let tensor, let dtype):
            "\(path): tensor '\(tensor)' has dtype \(dtype), expected F32, F16 or BF16"
        case .missingTensor(let path, let tensor): "\(path): no tensor named '\(tensor)'"
        case .invalidIndex(let path, let detail): "\(path): invalid sharded-checkpoint index: \(detail)"
        case .writeFailed(let path, let reason): "\(path): cannot write: \(reason)"
        case .invalidConfig(let path, let detail): "\(path): invalid configuration: \(detail)"
        case .unsupported(let path, let detail): "\(path): not supported yet: \(detail)"
        }
    }
}
