import Foundation
import Tokenizers

/// A dataset turned into token ids (special tokens included, truncated, not padded) and class ids.
public struct TokenizedDataset: Sendable {
    /// The default `max_length` (the value the training seed uses).
    public static let defaultMaxLength = 100

    /// The ids, flat, in the heap or memory-mapped from a token cache (`TokenCache`).
    let store: TokenStore
    /// The truncation length, also the length ``batch(_:padId:padding:maxLength:)`` pads to with
    /// `.maxLength` when it is given no other; nil when the ids were not truncated.
    public let maxLength: Int?
    /// What the targets are: class ids (`label(_:)`), real values (`values(_:)`) or token labels
    /// (`tokenLabels(_:)`).
    public let task: DatasetTask
    /// Question answering: the examples behind the windows and how windows map back to their contexts.
    public internal(set) var questionAnswering: QuestionAnsweringFeatures?

    /// Number of examples.
    public var count: Int { store.count }
    /// Number of tokens over all examples.
    public var tokenCount: Int { store.tokenCount }
    /// Whether the examples carry segment ids (BERT tokenizers).
    public var hasTypeIds: Bool { store.typeIds != nil }

    /// Example `i`'s token ids (special tokens included, at most ``maxLength``, not padded), valid
    /// while the dataset lives.
    public func sequence(_ i: Int) -> UnsafeBufferPointer<Int32> { store.sequence(i) }

    /// Example `i`'s class id.
    public func label(_ i: Int) -> Int32 { store.labels[i] }

    /// Every example's ids as arrays (copies them: for tests and small data).
    public var ids: [[Int32]] { (0..<count).map { Array(store.sequence($0)) } }
    /// Segment ids per example when the tokenizer uses them, else nil (copies them).
    public var typeIds: [[Int32]]? {
        store.typeIds == nil ? nil : (0..<count).map { Array(store.typeSequence($0) ?? UnsafeBufferPointer(start: nil, count: 0)) }
    }
    /// Class id per example (copies them).
    public var labels: [Int32] { Array(UnsafeBufferPointer(start: store.labels, count: count)) }

    /// Tokenizes every example (on all cores) with the tokenizer's special tokens and truncation to
    /// `maxLength` tokens (`longest_first` for pairs, as HF's `truncation=True`), and maps the labels.
    ///
    /// - Throws: ``DatasetError/labelOutsideHead(file:line:label:)`` for the first example whose
    ///   label `labelMap` does not know (checked before any tokenization).
    public init(dataset: LabeledDataset, tokenizer: Tokenizer, labelMap: LabelMap,
                maxLength: Int = TokenizedDataset.defaultMaxLength) throws {
        precondition(maxLength > 0, "maxLength must be positive")
        let examples = dataset.examples
        let lookup = labelMap.lookup()
        var labels: [Int32] = []
        labels.reserveCapacity(examples.count)
        for (k, example) in examples.enumerated() {
            guard let id = lookup(example.label) else {
                throw DatasetError.labelOutsideHead(file: dataset.source, line: dataset.lines[k], label: example.label)
            }
            labels.append(Int32(id))
        }

        let encodings = Self.encodeTexts(examples, tokenizer: tokenizer, maxLength: maxLength)
        let sequences = encodings.map(\.ids)
        store = Self.flatten(sequences, typeIds: tokenizer.usesTokenTypeIds ? encodings.map(\.typeIds) : nil, labels: labels)
        self.maxLength = maxLength
        task = .classification
    }

    /// Each example's text (or pair) encoded with special tokens and truncation, as `init` does.
    static func encodeTexts(_ examples: [Example], tokenizer: Tokenizer, maxLength: Int) -> [Encoding] {
        let options = EncodeOptions(addSpecialTokens: true, maxLength: maxLength, truncation: true, padding: .none)
        var encodings = [Encoding?](repeating: nil, count: examples.count)
        // encodeBatch takes either no pairs or one per text: encode single texts and pairs apart.
        let pairIndices = examples.indices.filter { examples[$0].textPair != nil }
        let singleIndices = pairIndices.isEmpty ? Array(examples.indices) : examples.indices.filter { examples[$0].textPair == nil }
        if !singleIndices.isEmpty {
            let batch = tokenizer.encodeBatch(singleIndices.map { examples[$0].text }, options: options)
            for (k, i) in singleIndices.enumerated() { encodings[i] = batch[k] }
        }
        if !pairIndices.isEmpty {
            let batch = tokenizer.encodeBatch(pairIndices.map { examples[$0].text },
                                              pairs: pairIndices.map { examples[$0].textPair! }, options: options)
            for (k, i) in pairIndices.enumerated() { encodings[i] = batch[k] }
        }
        return encodings.map { $0 ?? Encoding(ids: [], typeIds: [], attentionMask: [], specialTokensMask: []) }
    }

    static func flatten(_ ids: [[Int32]], typeIds: [[Int32]]?, labels: [Int32]) -> TokenStore {
        var offsets: [Int64] = [0]
        offsets.reserveCapacity(ids.count + 1)
        for sequence in ids { offsets.append((offsets.last ?? 0) + Int64(sequence.count)) }
        return TokenStore(ids: ids.flatMap { $0 }, typeIds: typeIds?.flatMap { $0 }, offsets: offsets, labels: labels)
    }

    init(store: TokenStore, maxLength: Int?, task: DatasetTask = .classification) {
        self.store = store
        self.maxLength = maxLength
        self.task = task
    }

    /// A dataset already in ids (for tests and for callers with their own tokenization).
    public init(ids: [[Int32]], typeIds: [[Int32]]? = nil, labels: [Int32], maxLength: Int? = nil) {
        precondition(ids.count == labels.count, "one label per sequence")
        precondition(typeIds == nil || zip(typeIds!, ids).allSatisfy { $0.count == $1.count } && typeIds!.count == ids.count,
                     "typeIds must match ids in shape")
        store = Self.flatten(ids, typeIds: typeIds, labels: labels)
        self.maxLength = maxLength
        task = .classification
    }
}

/// How ``TokenizedDataset/batch(_:padId:padding:maxLength:)`` pads.
public enum BatchPadding: String, Sendable, Codable {
    /// To the longest sequence of the batch (HF `DataCollatorWithPadding`'s default).
    case longest
    /// To a fixed length (HF `padding="max_length"`).
    case maxLength = "max_length"
}

/// One padded batch, every array row-major `[batchSize, sequenceLength]` (labels: `[batchSize]`).
/// Padding is on the right.
public struct PaddedBatch: Sendable, Equatable {
    /// Number of sequences (rows).
    public let batchSize: Int
    /// Padded length of every row.
    public let sequenceLength: Int
    /// Token ids, `padId` at padded positions.
    public let inputIds: [Int32]
    /// 1 for real tokens, 0 for padding.
    public let attentionMask: [Int32]
    /// Segment ids (0 at padded positions) when the dataset has them, else nil.
    public let tokenTypeIds: [Int32]?
    /// Class id per row.
    public let labels: [Int32]
    /// Regression / multi-label targets `[batchSize, width]`, nil for the other tasks.
    public let values: [Float]?
    /// Tagging: a class id per position `[batchSize, sequenceLength]`, `-100` at padding and unlabelled tokens.
    public let tokenLabels: [Int32]?
    /// Question answering: each row's answer start and end position `[batchSize, 2]`.
    public let spans: [Int32]?

    public init(batchSize: Int, sequenceLength: Int, inputIds: [Int32], attentionMask: [Int32],
                tokenTypeIds: [Int32]?, labels: [Int32], values: [Float]? = nil, tokenLabels: [Int32]? = nil,
                spans: [Int32]? = nil) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.tokenTypeIds = tokenTypeIds
        self.labels = labels
        self.values = values
        self.tokenLabels = tokenLabels
        self.spans = spans
    }

    /// The real (unpadded) length of each row.
    public var lengths: [Int] {
        (0..<batchSize).map { r in
            attentionMask[(r * sequenceLength)..<((r + 1) * sequenceLength)].reduce(0) { $0 + Int($1) }
        }
    }
}

extension TokenizedDataset {
    /// Gathers the examples at `indices` (in that order) into a right-padded batch.
    ///
    /// With `.longest` the rows are padded to the longest of them; with `.maxLength` to `maxLength`,
    /// or to the dataset's own ``maxLength`` when nil (and to the longest row when both are nil).
    /// Nothing is ever cut here: a row longer than the requested length widens the batch to it.
    public func batch(_ indices: [Int], padId: Int32, padding: BatchPadding = .longest,
                      maxLength: Int? = nil) -> PaddedBatch {
        let examples = indices
        // Multiple choice: every example's choices, consecutive; the labels stay one per example.
        let k = store.choices
        let indices = k > 0 ? examples.flatMap { e in (0..<k).map { e * k + $0 } } : examples
        let longest = indices.reduce(0) { max($0, store.range($1).count) }
        let length: Int
        switch padding {
        case .longest: length = longest
        case .maxLength: length = max(longest, maxLength ?? self.maxLength ?? longest)
        }
        let b = indices.count
        var input = [Int32](repeating: padId, count: b * length)
        var mask = [Int32](repeating: 0, count: b * length)
        var types: [Int32]? = store.typeIds == nil ? nil : [Int32](repeating: 0, count: b * length)
        var labels: [Int32] = []
        labels.reserveCapacity(b)
        let width = store.valueWidth
        var values: [Float]? = width > 0 ? [] : nil
        values?.reserveCapacity(b * width)
        var tokenLabels: [Int32]? = store.tokenLabels.isEmpty ? nil : [Int32](repeating: -100, count: b * length)
        for (row, i) in indices.enumerated() {
            if width > 0 { values?.append(contentsOf: store.values[(i * width)..<((i + 1) * width)]) }
            if !store.tokenLabels.isEmpty {
                let r = store.range(i)
                for (t, y) in store.tokenLabels[r].enumerated() { tokenLabels?[row * length + t] = y }
            }
            let sequence = store.sequence(i)
            let base = row * length
            for (t, id) in sequence.enumerated() {
                input[base + t] = id
                mask[base + t] = 1
            }
            if let typeSequence = store.typeSequence(i) {
                for (t, id) in typeSequence.enumerated() { types?[base + t] = id }
            }
            if k == 0 { labels.append(store.labels[i]) }
        }
        if k > 0 { labels = examples.map { store.labels[$0] } }
        let spans = store.spans.isEmpty ? nil : indices.flatMap { store.spans[(2 * $0)..<(2 * $0 + 2)] }
        return PaddedBatch(batchSize: b, sequenceLength: length, inputIds: input, attentionMask: mask,
                           tokenTypeIds: types, labels: labels, values: values, tokenLabels: tokenLabels, spans: spans)
    }
}
