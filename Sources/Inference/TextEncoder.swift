import Encoders
import Tokenizers

/// Turns input records into padded `TokenBatch`es: texts through the model's tokenizer (with
/// truncation to `maxLength`), pre-tokenized records as given.
public struct TextEncoder {
    public let tokenizer: Tokenizer?
    public let config: EncoderConfig
    public let maxLength: Int
    /// Whether longer texts are cut to `maxLength` (else they are an error naming the input).
    public let truncation: Bool

    /// - Parameter maxLength: nil means the model's own limit (positions it can embed).
    public init(tokenizer: Tokenizer?, config: EncoderConfig, maxLength: Int? = nil, truncation: Bool = true) {
        self.tokenizer = tokenizer
        self.config = config
        self.maxLength = maxLength ?? TextEncoder.modelMaxLength(config)
        self.truncation = truncation
    }

    /// The longest input the position table allows: RoBERTa's positions start after padding_idx.
    public static func modelMaxLength(_ config: EncoderConfig) -> Int {
        config.modelType == .roberta ? config.maxPositionEmbeddings - config.padTokenId - 1 : config.maxPositionEmbeddings
    }

    /// One padded batch from `records`; `source` names the input in errors.
    public func batch(_ records: ArraySlice<InputRecord>, source: String) throws -> TokenBatch {
        var ids: [[Int32]] = []
        var masks: [[Int32]] = []
        var types: [[Int32]] = []
        var anyTypes = false
        var texts: [(String, String?)] = []
        var textSlots: [Int] = []
        for (i, record) in records.enumerated() {
            switch record {
            case .text(let text, let pair):
                texts.append((text, pair))
                textSlots.append(i)
                ids.append([])
                masks.append([])
                types.append([])
            case .tokens(let t, let mask, let typeIds):
                ids.append(t)
                masks.append(mask)
                types.append(typeIds ?? Array(repeating: 0, count: t.count))
                anyTypes = anyTypes || typeIds != nil
            }
        }
        if !texts.isEmpty {
            guard let tokenizer else {
                throw InferenceError.invalidInput(
                    path: source, line: nil, detail: "text input needs tokenizer files in the model folder; give pre-tokenized input_ids instead")
            }
            let options = EncodeOptions(
                addSpecialTokens: true, maxLength: truncation ? maxLength : nil, truncation: truncation, padding: .none)
            let hasPairs = texts.contains { $0.1 != nil }
            let encodings = tokenizer.encodeBatch(
                texts.map(\.0), pairs: hasPairs ? texts.map { $0.1 ?? "" } : nil, options: options)
            for (slot, e) in zip(textSlots, encodings) {
                if e.ids.count > maxLength {
                    throw InferenceError.invalidInput(
                        path: source, line: nil,
                        detail: "input \(records.startIndex + slot) has \(e.ids.count) tokens, the model takes at most \(maxLength): enable truncation")
                }
                ids[slot] = e.ids
                masks[slot] = e.attentionMask
                types[slot] = e.typeIds.isEmpty ? Array(repeating: 0, count: e.ids.count) : e.typeIds
                anyTypes = anyTypes || tokenizer.usesTokenTypeIds
            }
        }
        return try TokenBatch(
            sequences: ids, masks: masks, typeIds: anyTypes ? types : nil, padId: Int32(config.padTokenId))
    }
}
