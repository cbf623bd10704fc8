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
        source.didRead(full)
        consumed.insert(full)
    }

    /// Copies `name` rounded to bf16 into `destination`, streaming it through a small fp32 buffer (and
    /// dropping the file's pages as it goes), so a large tensor never exists in fp32 in memory.
    public mutating func loadBF16(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<UInt16>) throws {
        let full = try check(name, shape: shape, prefixed: true)
        guard Self.stream(full, count: shape.reduce(1, *), from: source, into: destination) else {
            throw EncoderError.invalidInput("\(sourceName): tensor \(full) could not be read as floats")
        }
        consumed.insert(full)
    }

    /// The chunks of a checked tensor, rounded into `destination`; false if the source could not read one.
    private static func stream(
        _ name: String, count: Int, from source: TensorSource, into destination: UnsafeMutablePointer<UInt16>
    ) -> Bool {
        let chunk = 1 << 18
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(chunk, max(count, 1)))
        defer { buffer.deallocate() }
        for start in stride(from: 0, to: count, by: chunk) {
            let part = start..<min(count, start + chunk)
            guard source.copyFloats(name, elements: part, into: buffer) else { return false }
            BF16.convert(buffer, to: destination + start, count: part.count)
            source.didRead(name, elements: part)
        }
        return true
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
