/// Wraps the token ids of one or two texts in the model's special tokens
/// (HF `TemplateProcessing`; `RobertaProcessing` and `BertProcessing` are fixed templates).
struct PostProcessor: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        /// Special token ids with their segment id.
        case special(ids: [Int32], typeId: Int32)
        /// The first text's tokens.
        case first(typeId: Int32)
        /// The second text's tokens.
        case second(typeId: Int32)
    }

    var single: [Piece]
    var pair: [Piece]
    /// Byte-level `trim_offsets`: character offsets leave out the spaces a token starts or ends with.
    var trimOffsets = false

    /// No special tokens (GPT-2 style); pairs are concatenated.
    static let none = PostProcessor(single: [.first(typeId: 0)], pair: [.first(typeId: 0), .second(typeId: 1)])

    /// `<s> A </s>` and `<s> A </s></s> B </s>`; all segment ids are 0 (RoBERTa has one
    /// token type, and HF returns zeros too).
    static func roberta(cls: Int32, sep: Int32, trimOffsets: Bool = true) -> PostProcessor {
        PostProcessor(
            single: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0)],
            pair: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep, sep], typeId: 0),
                   .second(typeId: 0), .special(ids: [sep], typeId: 0)],
            trimOffsets: trimOffsets)
    }

    /// `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` with segment ids 0 / 1.
    static func bert(cls: Int32, sep: Int32) -> PostProcessor {
        PostProcessor(
            single: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0)],
            pair: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0),
                   .second(typeId: 1), .special(ids: [sep], typeId: 1)])
    }

    /// How many special tokens the template adds.
    func addedCount(isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, piece in
            if case .special(let ids, _) = piece { return n + ids.count }
            return n
        }
    }

    /// Segment id of the second text when no special tokens are added (the template's choice,
    /// so RoBERTa stays at 0 and BERT uses 1).
    var secondTypeId: Int32 {
        for piece in pair { if case .second(let t) = piece { return t } }
        return 1
    }

    /// Builds the encoding of `first` (+ `second`), with or without the special tokens.
    func apply(first: [Int32], second: [Int32]?, addSpecialTokens: Bool) -> Encoding {
        let total = first.count + (second?.count ?? 0) + (addSpecialTokens ? addedCount(isPair: second != nil) : 0)
        var e = Encoding(ids: [], typeIds: [], attentionMask: [], specialTokensMask: [])
        e.ids.reserveCapacity(total)
        e.typeIds.reserveCapacity(total)
        e.specialTokensMask.reserveCapacity(total)
        func append(_ ids: [Int32], typeId: Int32, special: Int32) {
            e.ids.append(contentsOf: ids)
            e.typeIds.append(contentsOf: repeatElement(typeId, count: ids.count))
            e.specialTokensMask.append(contentsOf: repeatElement(special, count: ids.count))
        }
        if !addSpecialTokens {
            append(first, typeId: 0, special: 0)
            if let second { append(second, typeId: secondTypeId, special: 0) }
        } else {
            for piece in second == nil ? single : pair {
                switch piece {
                case .special(let ids, let typeId): append(ids, typeId: typeId, special: 1)
                case .first(let typeId): append(first, typeId: typeId, special: 0)
                case .second(let typeId): append(second ?? [], typeId: typeId, special: 0)
                }
            }
        }
        e.attentionMask = [Int32](repeating: 1, count: e.ids.count)
        return e
    }
}

/// HF's truncation rules (`tokenizers/src/utils/truncation.rs`), on the right.
enum Truncation {
    /// Shortens `first` / `second` so that they, plus `added` special tokens, fit `maxLength`.
    /// Pairs use `longest_first`: only the longer text is cut when that suffices, otherwise both
    /// are cut to half the budget (the second gets the odd token).
    static func truncate(first: inout [Int32], second: inout [Int32]?, maxLength: Int, added: Int) {
        let target = max(0, maxLength - added)
        guard var b = second else {
            if first.count > target { first.removeLast(first.count - target) }
            return
        }
        guard first.count + b.count > target else { return }
        var n1 = first.count, n2 = b.count
        let swapped = n1 > n2
        if swapped { swap(&n1, &n2) }
        n2 = n1 > target ? n1 : max(n1, target - n1)
        if n1 + n2 > target {
            n1 = target / 2
            n2 = n1 + target % 2
        }
        if swapped { swap(&n1, &n2) }
        if first.count > n1 { first.removeLast(first.count - n1) }
        if b.count > n2 { b.removeLast(b.count - n2) }
        second = b
    }
}
