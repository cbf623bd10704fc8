import Adapters

/// Which adapters run, in order: AdapterHub's `Stack`. A bare name is a stack of one, as
/// `set_active_adapters("x")` wraps it into `Stack("x")`.
///
/// ```swift
/// try model.setActiveAdapters("sentiment")
/// try model.setActiveAdapters(.stack("language", "sentiment"))
/// ```
public struct AdapterSetup: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Adapter names, applied first to last at every location.
    public let names: [String]
    /// Set for AdapterHub's `Average`: each adapter's weight (normalised as asked), one per name.
    public let averageWeights: [Float]?
    /// AdapterHub's `Fuse`: the adapters' outputs combined by the AdapterFusion layer named after them.
    public let isFuse: Bool
    /// AdapterHub's `Split`: each adapter's span of positions, in order.
    public private(set) var splitLengths: [Int]? = nil

    public init(_ names: [String]) {
        self.names = names
        averageWeights = nil
        isFuse = false
    }

    public init(stringLiteral name: String) {
        names = [name]
        averageWeights = nil
        isFuse = false
    }

    private init(names: [String], averageWeights: [Float]?, isFuse: Bool = false) {
        self.names = names
        self.averageWeights = averageWeights
        self.isFuse = isFuse
    }

    /// AdapterHub's `Fuse(a, b, …)`: the fusion layer `a,b,…` (loaded with `loadAdapterFusion`) combines the adapters'
    /// outputs at every location; the head is the one named like the fusion if there is one. Runs for inference only.
    public static func fuse(_ names: String...) -> AdapterSetup {
        AdapterSetup(names: names, averageWeights: nil, isFuse: true)
    }

    /// AdapterHub's `Split(a, b, …, splits=[…])`: by position in the sequence, the first `splits[0]` tokens through
    /// the first adapter, the next `splits[1]` through the second, …; positions past them go through the last (where
    /// AdapterHub requires the padded length to equal the sum). The head is the last adapter's. Inference only.
    public static func split(_ names: [String], splits: [Int]) throws -> AdapterSetup {
        guard names.count >= 2, splits.count == names.count, splits.allSatisfy({ $0 > 0 }) else {
            throw AdapterError.invalidSetup(
                "a Split of \(names.count) adapters needs \(names.count) positive lengths, got \(splits)")
        }
        var setup = AdapterSetup(names)
        setup.splitLengths = splits
        return setup
    }

    /// `fuse` with the names as an array.
    public static func fuse(_ names: [String]) -> AdapterSetup {
        AdapterSetup(names: names, averageWeights: nil, isFuse: true)
    }

    /// The fusion's name, `a,b`.
    public var fusionName: String { names.joined(separator: ",") }

    /// AdapterHub's `Average(a, b, …, weights=…, normalize_weights=…)`: at every location each adapter runs on
    /// the same input and their outputs are combined by weight (equal weights by default; `normalize` divides
    /// them by their sum). The head is the one named like the last adapter. Runs for inference only.
    public static func average(_ names: [String], weights: [Float]? = nil, normalize: Bool = true) throws
        -> AdapterSetup
    {
        guard !names.isEmpty else { throw AdapterError.invalidSetup("an Average needs at least one adapter") }
        var w = weights ?? [Float](repeating: 1 / Float(names.count), count: names.count)
        guard w.count == names.count, w.allSatisfy(\.isFinite) else {
            throw AdapterError.invalidSetup(
                "an Average of \(names.count) adapters needs \(names.count) finite weights, got \(w)")
        }
        if weights != nil && normalize {
            let total = w.reduce(0, +)
            guard total != 0 else {
                throw AdapterError.invalidSetup("the weights \(w) add up to 0: they cannot be normalised")
            }
            w = w.map { $0 / total }
        }
        return AdapterSetup(names: names, averageWeights: w)
    }

    /// Several adapters one after the other: each one's output (with its residual) is the next one's
    /// input, and the last one's output goes through the layer's LayerNorm.
    public static func stack(_ names: String...) -> AdapterSetup { AdapterSetup(names) }

    /// The adapter whose head a setup activates (AdapterHub: the head named like the last adapter).
    public var last: String? { names.last }

    public var description: String {
        if averageWeights != nil { return "Average[\(names.joined(separator: ", "))]" }
        if isFuse { return "Fuse[\(names.joined(separator: ", "))]" }
        if let splitLengths { return "Split[\(names.joined(separator: ", ")), splits=\(splitLengths)]" }
        return names.count == 1 ? names[0] : "Stack[\(names.joined(separator: ", "))]"
    }
}
