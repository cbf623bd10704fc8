import Adapters
import ArgumentParser
import Training

/// `--compose` (`predict`, `evaluate`): how several `--adapter` folders combine — AdapterHub's Stack (the default),
/// Parallel, Average, Split or Fuse.
enum Composition: ExpressibleByArgument, Equatable {
    case stack
    case parallel
    case average([Float]?)
    case fuse(String)
    case split([Int])

    init?(argument: String) {
        switch argument {
        case "stack": self = .stack
        case "parallel": self = .parallel
        case "average": self = .average(nil)
        default:
            if argument.hasPrefix("split:") {
                let parts = argument.dropFirst(6).split(separator: ",", omittingEmptySubsequences: false)
                let lengths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard lengths.count == parts.count, !lengths.isEmpty, lengths.allSatisfy({ $0 > 0 }) else { return nil }
                self = .split(lengths)
                return
            }
            if argument.hasPrefix("fuse:"), argument.count > 5 {
                self = .fuse(String(argument.dropFirst(5)))
                return
            }
            guard argument.hasPrefix("average:") else { return nil }
            let parts = argument.dropFirst("average:".count).split(separator: ",", omittingEmptySubsequences: false)
            let weights = parts.compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard weights.count == parts.count, !weights.isEmpty, weights.allSatisfy(\.isFinite) else { return nil }
            self = .average(weights)
        }
    }

    static var allValueStrings: [String] {
        ["stack", "parallel", "average", "average:W1,W2,…", "split:N1,N2,…", "fuse:FUSIONDIR"]
    }
}

extension Composition {
    /// Checks the number of `--adapter` folders the composition needs.
    func validate(adapterFolders count: Int) throws {
        switch self {
        case .stack:
            break
        case .parallel:
            if count < 2 { throw ValidationError("--compose parallel needs at least 2 --adapter folders") }
        case .fuse:
            if count < 2 { throw ValidationError("--compose fuse needs the fused adapters' --adapter folders") }
        case .average(let weights):
            if count < 2 { throw ValidationError("--compose average needs at least 2 --adapter folders") }
            if let weights, weights.count != count {
                throw ValidationError("--compose average: \(weights.count) weights for \(count) --adapter folders")
            }
        case .split(let lengths):
            if count < 2 || lengths.count != count {
                throw ValidationError(
                    "--compose split: \(lengths.count) lengths for \(count) --adapter folders (2 or more)")
            }
        }
    }

    /// Activates the composition over the adapters `loadAdapterFolders` loaded (and stacked, in order); a Fuse loads
    /// its fusion folder. Parallel is run by `predict` itself.
    func activate(on model: ModelWithAdapters) throws {
        let names = model.activeAdapters?.names ?? []
        do {
            switch self {
            case .stack, .parallel:
                break
            case .fuse(let path):
                try model.loadAdapterFusion(from: try HubAccess.folder(path, selection: .all), setActive: true)
            case .split(let lengths):
                try model.setActiveAdapters(try .split(names, splits: lengths))
            case .average(let weights):
                try model.setActiveAdapters(try .average(names, weights: weights))
            }
        } catch let error as AdapterError {
            throw ValidationError("--compose: \(error)")
        }
    }
}
