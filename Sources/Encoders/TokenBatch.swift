/// A padded batch of token ids, as HF models take them: `[B, T]` row-major.
public struct TokenBatch: Sendable, Equatable {
    public let batchSize: Int
    public let sequenceLength: Int
    public var inputIds: [Int32]
    /// 1 for tokens to attend to, 0 for padding.
    public var attentionMask: [Int32]
    /// Segment ids (BERT); nil means all zeros.
    public var tokenTypeIds: [Int32]?

    public init(
        batchSize: Int, sequenceLength: Int, inputIds: [Int32], attentionMask: [Int32],
        tokenTypeIds: [Int32]? = nil
    ) throws {
        let n = batchSize * sequenceLength
        guard batchSize > 0, sequenceLength > 0 else {
            throw EncoderError.invalidInput("empty batch (\(batchSize) × \(sequenceLength))")
        }
        guard inputIds.count == n, attentionMask.count == n, tokenTypeIds.map({ $0.count == n }) ?? true else {
            throw EncoderError.invalidInput(
                "input_ids, attention_mask and token_type_ids must all have \(batchSize) × \(sequenceLength) entries")
        }
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.tokenTypeIds = tokenTypeIds
    }

    /// Pads variable-length sequences on the right to the longest one.
    /// - Parameters: masks default to all ones per sequence; typeIds default to zeros.
    public init(
        sequences: [[Int32]], masks: [[Int32]]? = nil, typeIds: [[Int32]]? = nil, padId: Int32
    ) throws {
        let t = sequences.map(\.count).max() ?? 0
        var ids: [Int32] = []
        var mask: [Int32] = []
        var types: [Int32]? = typeIds == nil ? nil : []
        for (i, s) in sequences.enumerated() {
            let m = masks?[i] ?? Array(repeating: 1, count: s.count)
            guard m.count == s.count else {
                throw EncoderError.invalidInput(
                    "sequence \(i): attention_mask has \(m.count) entries for \(s.count) ids")
            }
            ids += s + Array(repeating: padId, count: t - s.count)
            mask += m + Array(repeating: 0, count: t - s.count)
            if let typeIds {
                guard typeIds[i].count == s.count else {
                    throw EncoderError.invalidInput(
                        "sequence \(i): token_type_ids has \(typeIds[i].count) entries for \(s.count) ids")
                }
                types! += typeIds[i] + Array(repeating: 0, count: t - s.count)
            }
        }
        try self.init(
            batchSize: sequences.count, sequenceLength: t, inputIds: ids, attentionMask: mask,
            tokenTypeIds: types)
    }
}

/// The batch with padding removed: only attended tokens, sequence after sequence.
struct PackedBatch {
    var ids: [Int32] = []
    var positions: [Int32] = []
    var types: [Int32] = []
    /// `[B + 1]` row offsets.
    var offsets: [Int] = [0]
    /// Packed row of `(b, t)`, or -1 for a masked position; `[B · T]`.
    var rowOf: [Int] = []
    /// Whether each sequence's position 0 is attended (its row then is `offsets[b]`).
    var firstTokenAttended: [Bool] = []
    /// Each sequence's dropout key (`Dropout.sequences`): its position in this batch unless the caller
    /// keys sequences by their place in a larger (data-parallel) batch.
    var dropoutKeys: [UInt64] = []
    /// With prompt tuning, each sequence's first prompt row (`AdapterModel.pack`); empty otherwise.
    var promptRows: [Int] = []

    var tokens: Int { ids.count }

    /// Throws for the first sequence whose position 0 is masked: a head reading the first token
    /// (`[CLS]` / `<s>`) would have nothing to read there.
    func requireAttendedFirstTokens(_ why: String = "left padding is not supported") throws {
        if let b = firstTokenAttended.firstIndex(of: false) {
            throw EncoderError.invalidInput("sequence \(b): its first token is masked out (\(why))")
        }
    }

    /// Copies each sequence's first packed row of `rows` (`[M, C]`) into `out` (`[B, C]`); a
    /// sequence with no token gets zeros.
    func gatherFirstRows(of rows: UnsafePointer<Float>, channels c: Int, into out: UnsafeMutablePointer<Float>) {
        for s in 0..<(offsets.count - 1) {
            let row = offsets[s]
            if row < offsets[s + 1] {
                (out + s * c).update(from: rows + row * c, count: c)
            } else {
                (out + s * c).update(repeating: 0, count: c)
            }
        }
    }

    init(_ batch: TokenBatch, config: EncoderConfig) throws {
        let b = batch.batchSize
        let t = batch.sequenceLength
        let pad = Int32(config.padTokenId)
        ids.reserveCapacity(b * t)
        rowOf = Array(repeating: -1, count: b * t)
        for s in 0..<b {
            // RoBERTa numbers positions from padding_idx + 1 and counts only non-padding ids
            // (create_position_ids_from_input_ids); BERT uses the absolute index.
            var nonPad: Int32 = 0
            for j in 0..<t {
                let k = s * t + j
                let id = batch.inputIds[k]
                guard id >= 0, Int(id) < config.vocabSize else {
                    throw EncoderError.invalidInput(
                        "sequence \(s), position \(j): token id \(id) is outside the vocabulary of \(config.vocabSize)")
                }
                if id != pad { nonPad += 1 }
                guard batch.attentionMask[k] != 0 else { continue }
                let position: Int32 =
                    config.modelType == .roberta ? (id != pad ? nonPad + pad : pad) : Int32(j)
                guard Int(position) < config.maxPositionEmbeddings else {
                    throw EncoderError.invalidInput(
                        "sequence \(s) is longer than the model's \(config.maxPositionEmbeddings) positions allow")
                }
                let type = batch.tokenTypeIds?[k] ?? 0
                guard type >= 0, Int(type) < config.typeVocabSize else {
                    throw EncoderError.invalidInput(
                        "sequence \(s), position \(j): token type \(type) is outside 0..<\(config.typeVocabSize)")
                }
                rowOf[k] = ids.count
                ids.append(id)
                positions.append(position)
                types.append(type)
            }
            offsets.append(ids.count)
            firstTokenAttended.append(batch.attentionMask[s * t] != 0)
        }
        dropoutKeys = (0..<UInt64(b)).map { $0 }
    }
}
