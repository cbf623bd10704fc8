import Adapters

/// Which adapters run, in order: AdapterHub's `Stack`, whose members are adapters or the blocks `Fuse`, `Average`
/// and `Split`. A bare name is a stack of one, as `set_active_adapters("x")` wraps it into `Stack("x")`.
///
/// ```swift
/// try model.setActiveAdapters("sentiment")
/// try model.setActiveAdapters(.stack("language", "sentiment"))
/// try model.setActiveAdapters(.stack("language", .fuse("sentiment", "topic")))
/// ```
public struct AdapterSetup: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// One member of the Stack.
    public enum Block: Sendable, Equatable, CustomStringConvertible {
        case adapter(String)
        /// AdapterHub's `Fuse`: the adapters' outputs combined by the AdapterFusion layer named after them (`a,b`).
        case fuse([String])
        /// AdapterHub's `Average`, with each adapter's weight (normalised as asked).
        case average([String], weights: [Float])
        /// AdapterHub's `Split`: each adapter's span of positions, in order.
        case split([String], splits: [Int])

        /// The block's adapters, in order.
        public var names: [String] {
            switch self {
            case .adapter(let name): [name]
            case .fuse(let names), .average(let names, _), .split(let names, _): names
            }
        }

        public var description: String {
            switch self {
            case .adapter(let name): name
            case .fuse(let names): "Fuse[\(names.joined(separator: ", "))]"
            case .average(let names, let weights): "Average[\(names.joined(separator: ", ")), weights=\(weights)]"
            case .split(let names, let splits): "Split[\(names.joined(separator: ", ")), splits=\(splits)]"
            }
        }
    }

    /// The Stack's members, first to last: each runs at every location on the previous one's output.
    public let blocks: [Block]

    public init(_ names: [String]) {
        blocks = names.map { .adapter($0) }
    }

    public init(stringLiteral name: String) {
        blocks = [.adapter(name)]
    }

    /// A Stack of these members.
    public init(blocks: [Block]) {
        self.blocks = blocks
    }

    /// Adapter names, in order, every block's.
    public var names: [String] { blocks.flatMap(\.names) }

    /// Set for a setup that is one `Average`: each adapter's weight (normalised as asked), one per name.
    public var averageWeights: [Float]? {
        if blocks.count == 1, case .average(_, let weights) = blocks[0] { return weights }
        return nil
    }

    /// Whether the setup is one `Fuse`.
    public var isFuse: Bool {
        if blocks.count == 1, case .fuse = blocks[0] { return true }
        return false
    }

    /// Set for a setup that is one `Split`: each adapter's span of positions.
    public var splitLengths: [Int]? {
        if blocks.count == 1, case .split(_, let splits) = blocks[0] { return splits }
        return nil
    }

    /// Whether a Stack holds a composition block among other members (`Stack("lang", Fuse("a", "b"))`).
    public var isNested: Bool {
        blocks.count > 1 && blocks.contains { if case .adapter = $0 { false } else { true } }
    }

    /// The names of the setup's AdapterFusion layers (`a,b`), one per Fuse.
    public var fusionNames: [String] {
        blocks.compactMap { if case .fuse(let names) = $0 { names.joined(separator: ",") } else { nil } }
    }

    /// AdapterHub's `Fuse(a, b, …)`: the fusion layer `a,b,…` (loaded with `loadAdapterFusion`) combines the adapters'
    /// outputs at every location; the head is the one named like the fusion if there is one. Runs for inference only.
    public static func fuse(_ names: String...) -> AdapterSetup { fuse(names) }

    /// AdapterHub's `Split(a, b, …, splits=[…])`: by position in the sequence, the first `splits[0]` tokens through
    /// the first adapter, the next `splits[1]` through the second, …; positions past them go through the last (where
    /// AdapterHub requires the padded length to equal the sum). The head is the last adapter's. Inference only.
    public static func split(_ names: [String], splits: [Int]) throws -> AdapterSetup {
        guard names.count >= 2, splits.count == names.count, splits.allSatisfy({ $0 > 0 }) else {
            throw AdapterError.invalidSetup(
                "a Split of \(names.count) adapters needs \(names.count) positive lengths, got \(splits)")
        }
        return AdapterSetup(blocks: [.split(names, splits: splits)])
    }

    /// `fuse` with the names as an array.
    public static func fuse(_ names: [String]) -> AdapterSetup { AdapterSetup(blocks: [.fuse(names)]) }

    /// The fusion's name, `a,b` (the first Fuse's in a Stack).
    public var fusionName: String { fusionNames.first ?? names.joined(separator: ",") }

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
        return AdapterSetup(blocks: [.average(names, weights: w)])
    }

    /// Several adapters one after the other: each one's output (with its residual) is the next one's
    /// input, and the last one's output goes through the layer's LayerNorm.
    public static func stack(_ names: String...) -> AdapterSetup { AdapterSetup(names) }

    /// A Stack of adapters and blocks, `.stack("lang", .fuse("a", "b"))`: each member runs on the previous one's
    /// output at every location (a Stack inside a Stack is the same as its members in place, as in AdapterHub).
    /// Nested setups run for inference only.
    public static func stack(_ members: AdapterSetup...) -> AdapterSetup {
        AdapterSetup(blocks: members.flatMap(\.blocks))
    }

    /// The adapter whose head a setup activates (AdapterHub: the head named like the last adapter).
    public var last: String? { names.last }

    public var description: String {
        if blocks.count == 1, case .adapter(let name) = blocks[0] { return name }
        if blocks.count == 1 { return blocks[0].description }
        return "Stack[\(blocks.map(\.description).joined(separator: ", "))]"
    }
}
