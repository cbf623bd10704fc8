import Kernels

/// Fills tensors from a `TensorSource` by an explicit name table: every expected tensor must be
/// present with exactly its shape; tensors nobody asked for are reported back to the caller.
public struct WeightLoader {
    public let source: TensorSource
    /// Name of the source in errors (its file path).
    public let sourceName: String
    /// Prefix the checkpoint puts before every name (`roberta.`, `bert.` or empty).
    public let prefix: String
    private(set) var consumed: Set<String> = []

    public init(source: TensorSource, sourceName: String, prefix: String) {
        self.source = source
        self.sourceName = sourceName
        self.prefix = prefix
    }

    /// Chooses the prefix from the model type by looking for the word-embedding tensor: HF
    /// `*ForSequenceClassification` checkpoints put the encoder under `roberta.`/`bert.`,
    /// bare `*Model` checkpoints (such as all-MiniLM-L6-v2) use no prefix.
    public static func detectPrefix(in source: TensorSource, modelType: ModelType) -> String {
        let marker = "embeddings.word_embeddings.weight"
        let prefixed = modelType.rawValue + "."
        if source.shape(of: prefixed + marker) != nil { return prefixed }
        return ""
    }

    public func has(_ name: String) -> Bool { source.shape(of: prefix + name) != nil }

    /// Copies `name` (without prefix) into `destination` after checking its shape and dtype.
    public mutating func load(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<Float>, prefixed: Bool = true) throws {
        let full = try check(name, shape: shape, prefixed: prefixed)
        try source.readFloats(full, into: destination)
        consumed.insert(full)
    }

    /// Checks that `name` exists with exactly `shape` and a floating-point dtype, reading nothing;
    /// returns the name as the checkpoint spells it.
    @discardableResult
    public func check(_ name: String, shape: [Int], prefixed: Bool = true) throws -> String {
        let full = prefixed ? prefix + name : name
        guard let found = source.shape(of: full) else {
            throw EncoderError.missingWeight(source: sourceName, name: full)
        }
        guard found == shape else {
            throw EncoderError.weightShapeMismatch(source: sourceName, name: full, expected: shape, found: found)
        }
        if let dtype = source.dtype(of: full), !dtype.isFloatingPoint {
            throw EncoderError.weightNotFloatingPoint(source: sourceName, name: full, dtype: dtype.rawValue)
        }
        return full
    }

    /// Marks a tensor as known but deliberately unused (e.g. the `position_ids` buffer).
    public mutating func ignore(_ name: String) { consumed.insert(name) }

    /// Tensors of the source that no `load` or `ignore` claimed.
    public var unusedTensors: [String] { source.tensorNames.filter { !consumed.contains($0) } }
}
