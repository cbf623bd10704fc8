/// What a training step's loss compares the head's outputs with, by head type.
public enum HeadTargets: Sendable, Equatable {
    /// `[B]` class indices: single-label classification (cross-entropy).
    case classes([Int32])
    /// `[B, n]` values: regression (`n` = 1, mean squared error) or multi-label classification (targets in
    /// [0, 1] for binary cross-entropy with logits).
    case values([Float])
    /// `[B, T]` class indices aligned with the batch's positions (`TokenBatch.inputIds`): tagging. Positions
    /// labelled `ignoreIndex` (a word's later sub-tokens, special tokens) and padding count for nothing.
    case tokenClasses([Int32])
    /// `[B, 2]` answer start and end positions per sequence (positions of the unpadded sequence): extractive
    /// question answering. A position at or past the sequence's end counts for nothing in its half of the loss
    /// (AdapterHub clamps such positions to `ignore_index`); a negative one means the first position (the clamp).
    case spans([Int32])

    /// The label of positions a token loss skips, as PyTorch's `CrossEntropyLoss(ignore_index=-100)`.
    public static let ignoreIndex: Int32 = -100
}
