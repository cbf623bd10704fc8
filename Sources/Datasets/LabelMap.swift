/// Class names in class-id order: `names[id]` is the label of class `id`. Stored with a trained
/// head (it is Codable as `{"names": [...]}`), so predictions map back to the dataset's labels.
public struct LabelMap: Sendable, Codable, Equatable {
    /// Class names; the index is the class id.
    public var names: [String]

    public init(names: [String]) {
        self.names = names
    }

    /// The fixed map of Amazon Polarity: class 0 `negative` (file label 1), class 1 `positive` (2).
    public static let amazonPolarity = LabelMap(names: LabeledDataset.amazonPolarityNames)

    /// Number of classes.
    public var count: Int { names.count }

    /// Derives a map from examples.
    ///
    /// - If every label is an integer (`"0"`, `"1"`, `"-1"`, `"007"`), the names are the distinct
    ///   values in decimal, ordered numerically: labels 0/1 give `["0", "1"]` (id = value, as in HF
    ///   datasets with int labels), and values that are not `0..<n` are mapped in sorted order
    ///   (1/2 → ids 0/1).
    /// - Otherwise the names are the distinct labels, sorted (by Unicode scalar values, so the
    ///   order does not depend on the locale).
    ///
    /// Multi-label examples contribute each of their labels, tagging examples each tag; multiple-choice examples
    /// give `LABEL_0 … LABEL_{k-1}` for their k choices.
    public static func derive(from examples: [Example]) -> LabelMap {
        // Multiple choice: one class per choice position, named as AdapterHub names them.
        if let k = examples.first?.choices?.count {
            return LabelMap(names: (0..<k).map { "LABEL_\($0)" })
        }
        var distinct = Set<String>()
        for e in examples {
            if !e.label.isEmpty { distinct.insert(e.label) }
            distinct.formUnion(e.labels)
        }
        var integers: [Int] = []
        integers.reserveCapacity(distinct.count)
        for label in distinct {
            guard let v = Int(label) else {
                return LabelMap(names: distinct.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) })
            }
            integers.append(v)
        }
        return LabelMap(names: Set(integers).sorted().map(String.init))
    }

    /// Derives the map of a loaded dataset: ``amazonPolarity`` for Amazon Polarity files (whatever
    /// classes the file happens to hold), the derivation from its examples otherwise.
    public static func derive(from dataset: LabeledDataset) -> LabelMap {
        dataset.format == .amazonPolarity ? .amazonPolarity : derive(from: dataset.examples)
    }

    /// The class id of a label: its index in ``names``, matching exactly or, for an integer label,
    /// by value (`"01"` finds `"1"`); nil when the head has no such class.
    public func id(of label: String) -> Int? {
        if let i = names.firstIndex(of: label) { return i }
        if let v = Int(label) { return names.firstIndex(of: String(v)) }
        return nil
    }

    /// A lookup table for many labels (same answers as ``id(of:)``).
    func lookup() -> (String) -> Int? {
        var table: [String: Int] = [:]
        for (i, name) in names.enumerated() where table[name] == nil { table[name] = i }
        return { label in
            if let i = table[label] { return i }
            if let v = Int(label) { return table[String(v)] }
            return nil
        }
    }
}
