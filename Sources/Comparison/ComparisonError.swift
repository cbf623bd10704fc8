/// What can go wrong reading runs or comparing them; each case names the file or setting at fault.
public enum ComparisonError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A run's file is missing, unreadable or not what `adapters train`/`evaluate` writes.
    case invalidRun(path: String, detail: String)
    /// A setting that cannot work (an empty method list, a learning rate that is not positive, …).
    case invalidSettings(String)
    /// `compare` was run again into the same folder with settings that change what its runs mean.
    case settingsChanged(path: String, detail: String)
    /// A run of the sweep failed.
    case runFailed(name: String, detail: String)

    public var description: String {
        switch self {
        case .invalidRun(let path, let detail): "\(path): \(detail)"
        case .invalidSettings(let detail): "invalid comparison: \(detail)"
        case .settingsChanged(let path, let detail):
            "\(path): this folder holds a comparison with other settings (\(detail)); use a new --output, or the same settings to resume"
        case .runFailed(let name, let detail): "run \(name) failed: \(detail)"
        }
    }
}
