/// The model inputs for one text (or text pair), as HF's `BatchEncoding` holds them per row.
public struct Encoding: Sendable, Equatable {
    /// Token ids, special tokens and padding included.
    public var ids: [Int32]
    /// Segment ids: 0 for the first text, 1 for the second of a BERT pair; all 0 for RoBERTa.
    public var typeIds: [Int32]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32]
    /// 1 for tokens added by post-processing (`<s>`, `[SEP]`, ...) and padding, 0 for tokens of
    /// the texts (special tokens written in the text itself count as text, as in HF).
    public var specialTokensMask: [Int32]

    public init(ids: [Int32], typeIds: [Int32], attentionMask: [Int32], specialTokensMask: [Int32]) {
        self.ids = ids
        self.typeIds = typeIds
        self.attentionMask = attentionMask
        self.specialTokensMask = specialTokensMask
    }

    /// Number of positions, padding included.
    public var count: Int { ids.count }

    /// Pads on the right to `length` (no-op when already that long or longer).
    mutating func pad(to length: Int, padId: Int32, padTypeId: Int32 = 0) {
        let extra = length - ids.count
        guard extra > 0 else { return }
        ids.append(contentsOf: repeatElement(padId, count: extra))
        typeIds.append(contentsOf: repeatElement(padTypeId, count: extra))
        attentionMask.append(contentsOf: repeatElement(0, count: extra))
        specialTokensMask.append(contentsOf: repeatElement(1, count: extra))
    }
}

/// How `encode` / `encodeBatch` pad (always on the right, with the model's pad id).
public enum PaddingStrategy: String, Sendable, CaseIterable {
    /// No padding.
    case none
    /// Pad every encoding of a batch to the longest one (a single `encode` is unchanged).
    case longest
    /// Pad to `EncodeOptions.maxLength` (no-op when `maxLength` is nil).
    case maxLength = "max_length"
}

/// Options of one `encode` / `encodeBatch` call, named after HF's `__call__` arguments.
public struct EncodeOptions: Sendable {
    /// Add the model's special tokens (`<s> A </s>`, `[CLS] A [SEP]`, ...).
    public var addSpecialTokens: Bool = true
    /// Length limit for truncation and for `.maxLength` padding, special tokens included.
    public var maxLength: Int? = nil
    /// Truncate to `maxLength` (HF `truncation=True`, i.e. `longest_first` for pairs). A
    /// `maxLength` below the number of special tokens leaves only the special tokens (HF raises).
    public var truncation: Bool = false
    /// Padding strategy.
    public var padding: PaddingStrategy = .none

    public init(addSpecialTokens: Bool = true, maxLength: Int? = nil, truncation: Bool = false,
                padding: PaddingStrategy = .none) {
        self.addSpecialTokens = addSpecialTokens
        self.maxLength = maxLength
        self.truncation = truncation
        self.padding = padding
    }
}
