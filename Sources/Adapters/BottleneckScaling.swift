import Foundation

/// The factor on a bottleneck's output (AdapterHub's `scaling`, He et al. 2021): a fixed number, one
/// learned scalar (`scaled_par_bn`, tensor `…adapters.NAME.scaling` `[1]`) or one learned factor per channel
/// (`AdapterPlusConfig`, `[C]`). In JSON a number, `"learned"` or `"channel"`.
public enum BottleneckScaling: Codable, Sendable, Equatable, CustomStringConvertible {
    case fixed(Double)
    case learned
    case channel

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) {
            self = .fixed(d)
            return
        }
        let s = try c.decode(String.self)
        switch s {
        case "learned": self = .learned
        case "channel": self = .channel
        default:
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "scaling \"\(s)\" is neither a number, \"learned\" nor \"channel\"")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .fixed(let d): try c.encode(d)
        case .learned: try c.encode("learned")
        case .channel: try c.encode("channel")
        }
    }

    /// The learned tensor's length for a hidden size, or nil for a fixed factor.
    public func learnedCount(hiddenSize: Int) -> Int? {
        switch self {
        case .fixed: nil
        case .learned: 1
        case .channel: hiddenSize
        }
    }

    public var description: String {
        switch self {
        case .fixed(let d): "\(d)"
        case .learned: "\"learned\""
        case .channel: "\"channel\""
        }
    }
}
