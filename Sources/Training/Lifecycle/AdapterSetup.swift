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

    public init(_ names: [String]) {
        self.names = names
    }

    public init(stringLiteral name: String) {
        names = [name]
    }

    /// Several adapters one after the other: each one's output (with its residual) is the next one's
    /// input, and the last one's output goes through the layer's LayerNorm.
    public static func stack(_ names: String...) -> AdapterSetup { AdapterSetup(names) }

    /// The adapter whose head a setup activates (AdapterHub: the head named like the last adapter).
    public var last: String? { names.last }

    public var description: String {
        names.count == 1 ? names[0] : "Stack[\(names.joined(separator: ", "))]"
    }
}
