import Adapters
import Kernels

/// Prompt tuning: trained vectors inserted into every sequence after the embeddings (AdapterHub's
/// `PromptTuningLayer`, applied after the invertible adapter). Only the first adapter of a Stack applies.
extension AdapterModel {
    struct PromptSlots {
        /// `prompt_embedding.weight` `[P, C]`.
        let embedding: Arena.Slot
        let length: Int
        let afterFirstToken: Bool
    }

    /// `batch` packed for this model: with a prompt, `length` rows per sequence are inserted (before its
    /// tokens, or after the first) for the prompt vectors, all attended.
    func pack(_ batch: TokenBatch) throws -> PackedBatch {
        var packed = try PackedBatch(batch, config: config)
        try packed.requireAttendedFirstTokens()
        if let prompt { packed = packed.insertingPrompt(length: prompt.length, afterFirstToken: prompt.afterFirstToken) }
        return packed
    }

    /// Writes the prompt vectors into their rows of the embedding output `x` `[M, C]`.
    func promptForward(_ x: UnsafeMutablePointer<Float>, _ packed: PackedBatch) {
        guard let prompt else { return }
        let c = config.hiddenSize
        let p = values.pointer(prompt.embedding)
        for row in packed.promptRows { (x + row * c).update(from: p, count: prompt.length * c) }
    }

    /// The prompt's gradient from ∂L/∂x `[M, C]`, summed over the sequences; the prompt rows of `dx` are
    /// then zeroed (nothing below them reads those rows' values).
    func promptBackward(_ dx: UnsafeMutablePointer<Float>, _ packed: PackedBatch) {
        guard let prompt, let g = gradientOf[prompt.embedding.name] else { return }
        let c = config.hiddenSize
        let n = prompt.length * c
        for row in packed.promptRows {
            let d = dx + row * c
            for i in 0..<n { g[i] += d[i] }
            d.update(repeating: 0, count: n)
        }
    }

    /// AdapterHub's `prompt_init="from_string"`: the prompt starts as the word embeddings of `tokenIds`
    /// (the tokenizer's ids of `prompt_init_text`, special tokens included), repeated to the prompt's length.
    public func initializePrompt(fromTokenIds tokenIds: [Int32]) throws {
        guard let prompt else { throw EncoderError.invalidInput("this model has no prompt tuning") }
        guard !tokenIds.isEmpty else { throw EncoderError.invalidInput("the prompt text has no tokens") }
        let c = config.hiddenSize
        let p = values.pointer(prompt.embedding)
        for i in 0..<prompt.length {
            let id = Int(tokenIds[i % tokenIds.count])
            guard id >= 0, id < config.vocabSize else {
                throw EncoderError.invalidInput("prompt token id \(id) is outside the vocabulary of \(config.vocabSize)")
            }
            base.weights.wordEmbedding(id, into: p + i * c)
        }
    }
}

extension PackedBatch {
    /// This batch with `length` prompt rows per sequence, before its first row or (`afterFirstToken`) after
    /// it. The prompt rows carry the padding id at position 0 (they are overwritten after the embeddings);
    /// `promptRows` holds each sequence's first prompt row.
    func insertingPrompt(length p: Int, afterFirstToken: Bool) -> PackedBatch {
        var out = self
        out.ids = []
        out.positions = []
        out.types = []
        out.offsets = [0]
        out.promptRows = []
        let filler = ids.first ?? 0
        for s in 0..<(offsets.count - 1) {
            let range = offsets[s]..<offsets[s + 1]
            let split = afterFirstToken && !range.isEmpty ? range.lowerBound + 1 : range.lowerBound
            func copy(_ rows: Range<Int>) {
                out.ids += ids[rows]
                out.positions += positions[rows]
                out.types += types[rows]
            }
            copy(range.lowerBound..<split)
            out.promptRows.append(out.ids.count)
            out.ids += Array(repeating: filler, count: p)
            out.positions += Array(repeating: 0, count: p)
            out.types += Array(repeating: 0, count: p)
            copy(split..<range.upperBound)
            out.offsets.append(out.ids.count)
        }
        out.rowOf = []  // EncoderModel's padded-layout map does not apply to prompted batches
        return out
    }
}
