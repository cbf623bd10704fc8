import Adapters
import ArgumentParser
import Training

/// `--compose` (`predict`, `evaluate`): how several `--adapter` folders combine — AdapterHub's Stack (the default),
/// Parallel, Average, Split or Fuse over the folders in order, or a composition written as in Python over the adapters'
/// names (`Stack(lang, Fuse(a, b))`, `AdapterComposition`).
enum Composition: ExpressibleByArgument, Equatable {
    case stack
    case parallel
    case average([Float]?)
    case fuse(String)
    case split([Int])
    /// The text of an `AdapterComposition`, parsed by `validate` (which reports its errors).
    case expression(String)

    init?(argument: String) {
        if argument.contains("(") {
            self = .expression(argument)
            return
        }
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
        ["stack", "parallel", "average", "average:W1,W2,…", "split:N1,N2,…", "fuse:FUSIONDIR", "'Stack(a, Fuse(b, c))'…"]
    }

    /// The parsed expression of `.expression` (nil for the other cases).
    func parsed() throws -> AdapterComposition? {
        guard case .expression(let text) = self else { return nil }
        do {
            return try AdapterComposition(parsing: text)
        } catch let error as AdapterError {
            throw ValidationError("--compose '\(text)': \(error)")
        }
    }

    /// Whether predict runs it branch by branch with one output object per head (Parallel).
    var isParallel: Bool {
        if self == .parallel { return true }
        if case .parallel? = try? parsed() { return true }
        return false
    }
}

extension Composition {
    /// Checks the number of `--adapter` folders the composition needs, and that `--fusion` folders come only with an
    /// expression.
    func validate(adapterFolders count: Int, fusionFolders: Int = 0) throws {
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
        case .expression:
            if case .batchSplit? = try parsed() {
                throw ValidationError("--compose: BatchSplit is for the library (batchSplitLogits); predict sends every line through each branch with Parallel")
            }
            if count < 1 { throw ValidationError("--compose names adapters: give their --adapter folders") }
        }
        if fusionFolders > 0 {
            guard case .expression = self else {
                throw ValidationError(
                    "--fusion goes with a --compose expression that has a Fuse (or use --compose fuse:FUSIONDIR)")
            }
        }
    }

    /// Loads the `--fusion` folders and activates an expression's setup (a Parallel's branches are run by `predict`).
    func activate(expression composition: AdapterComposition, fusions: [String], on model: ModelWithAdapters) throws {
        let loaded = Set(model.adapterNames)
        if let unknown = composition.names.first(where: { !loaded.contains($0) }) {
            throw ValidationError(
                "--compose names '\(unknown)', which no --adapter folder holds (loaded: \(model.adapterNames.joined(separator: ", ")))")
        }
        do {
            for path in fusions { try model.loadAdapterFusion(from: try HubAccess.folder(path, selection: .all)) }
            if case .setup(let setup) = composition { try model.setActiveAdapters(setup) }
        } catch let error as AdapterError {
            throw ValidationError("--compose: \(error)")
        }
    }

    /// Activates the composition over the adapters `loadAdapterFolders` loaded (and stacked, in order); a Fuse loads
    /// its fusion folder. Parallel is run by `predict` itself.
    func activate(on model: ModelWithAdapters) throws {
        let names = model.activeAdapters?.names ?? []
        do {
            switch self {
            case .stack, .parallel, .expression:
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
