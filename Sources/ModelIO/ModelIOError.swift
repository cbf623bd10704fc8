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
        }
    }
}
