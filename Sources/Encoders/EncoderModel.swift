import Foundation
import Kernels
import Logging

/// A BERT or RoBERTa encoder (plus an optional sequence-classification head) with its weights in
/// one arena and reusable activation buffers.
///
/// The forward pass follows `modeling_bert.py` / `modeling_roberta.py` layer by layer:
/// embeddings (word + position + type) → LayerNorm, then per layer
/// `LN(x + Wo·Attn(Wqkv·x))` and `LN(h + W2·gelu(W1·h))`. Padding is packed away before the
/// first layer (see `Attention`), so its cost is proportional to the real tokens.
///
/// Passes reuse the model's activation buffers, so concurrent callers (two servers or a server and a
/// caller on one model) run one at a time: `forward` and `classify` take the model's lock.
public final class EncoderModel: @unchecked Sendable {
    public let config: EncoderConfig
    public let weights: EncoderWeights
    public private(set) var head: SequenceClassificationHead?

    private let hidden = ScratchBuffer()
    private let hidden1 = ScratchBuffer()
    private let qkv = ScratchBuffer()
    private let context = ScratchBuffer()
    private let projection = ScratchBuffer()
    private let intermediate = ScratchBuffer()
    private let firstRows = ScratchBuffer()
    /// Held while a pass uses the buffers above.
    private let passLock = NSLock()

    /// A model with zero weights (`load` or `randomize` fills them).
    public convenience init(config: EncoderConfig, withPooler: Bool, head: SequenceClassificationHead? = nil) {
        self.init(config: config, weights: EncoderWeights(config: config, withPooler: withPooler), head: head)
    }

    init(config: EncoderConfig, weights: EncoderWeights, head: SequenceClassificationHead?) {
        self.config = config
        self.weights = weights
        self.head = head
    }

    /// Loads the encoder (and the head HF's `architectures` names, if any) from `source`.
    /// Every expected tensor must exist with its exact shape; tensors of other heads (`lm_head.*`,
    /// …) are listed once in the log and skipped.
    ///
    /// With `precision` bf16 the GEMM weights and the word embeddings are kept in bf16 only (see
    /// `EncoderWeights.matrix`): each is streamed from the file into bf16 and never exists in fp32 here,
    /// so the model takes about half the memory. Full fine-tuning needs fp32 weights: load in fp32 and call `enableBF16()` instead.
    public static func load(
        config: EncoderConfig, source: TensorSource, sourceName: String, logger: Logger? = nil,
        precision: ResolvedPrecision = .fp32
    ) throws -> EncoderModel {
        var loader = WeightLoader(
            source: source, sourceName: sourceName,
            prefix: WeightLoader.detectPrefix(in: source, modelType: config.modelType))
        let architectures = config.architectures ?? []
        let headLayout: SequenceClassificationHead.Layout?
        if architectures.contains("RobertaForSequenceClassification") {
            headLayout = .roberta
        } else if architectures.contains("BertForSequenceClassification") {
            headLayout = .bert
        } else {
            headLayout = nil
        }
        // BERT checkpoints carry a pooler unless saved with add_pooling_layer=False; RoBERTa's
        // classification head does not use it (roberta-base's is absent or unused).
        let withPooler =
            headLayout == .bert || (config.modelType == .bert && loader.has("pooler.dense.weight"))
        var head: SequenceClassificationHead?
        if let headLayout {
            guard
                let found = source.shape(
                    of: headLayout == .roberta ? "classifier.out_proj.weight" : "classifier.weight"),
                found.count == 2
            else {
                throw EncoderError.missingWeight(
                    source: sourceName,
                    name: headLayout == .roberta ? "classifier.out_proj.weight" : "classifier.weight")
            }
            let n = found[0]
            var labels: [String]? = nil
            if let map = config.id2label, map.count == n, (0..<n).allSatisfy({ map[$0] != nil }) {
                labels = (0..<n).map { map[$0]! }
            }
            head = SequenceClassificationHead(
                layout: headLayout, hiddenSize: config.hiddenSize, numLabels: n, labels: labels, allocate: false)
        }
        // Every size in config.json must agree with the checkpoint before it is allowed to cost memory.
        let weights = EncoderWeights(config: config, withPooler: withPooler, allocate: false)
        for b in weights.bindings { try loader.check(b.name, shape: b.shape) }
        for b in head?.bindings ?? [] { try loader.check(b.name, shape: b.shape, prefixed: false) }
        weights.arena.allocate()
        if precision == .fp32 { weights.arena.preferHugePages() }
        head?.arena.allocate()
        let model = EncoderModel(config: config, weights: weights, head: head)
        let bf16 = precision == .bf16
        if bf16 { model.weights.prepareBF16Load() }
        for b in model.weights.bindings {
            if bf16, let destination = model.weights.bf16Destination(of: b) {
                try loader.loadBF16(b.name, shape: b.shape, into: destination)
            } else {
                try loader.load(b.name, shape: b.shape, into: model.weights.pointer(b.slot) + b.offset)
            }
        }
        if bf16 { model.weights.completeBF16Load() }
        if let head {
            for b in head.bindings {
                try loader.load(b.name, shape: b.shape, into: head.arena.pointer(b.slot) + b.offset, prefixed: false)
            }
        }
        // A registered buffer, not a weight: positions are computed from the ids.
        loader.ignore(loader.prefix + "embeddings.position_ids")
        let unused = loader.unusedTensors
        if !unused.isEmpty {
            let shown = unused.prefix(8).joined(separator: ", ")
            logger?.info(
                "\(sourceName): skipping \(unused.count) tensor(s) this model does not use: \(shown)\(unused.count > 8 ? ", …" : "")"
            )
        }
        return model
    }

    /// Fills every weight with N(0, 0.02) and LayerNorms with (1, 0), as transformers' `_init_weights`;
    /// used by benchmarks, which do not depend on weight values.
    public func randomize(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func fill(_ arena: Arena, _ slots: [Arena.Slot]) {
            for s in slots {
                let p = arena.pointer(s)
                let isNorm = s.name.contains("LayerNorm")
                let isBias = s.name.hasSuffix("bias")
                for i in 0..<s.count {
                    p[i] = isNorm && !isBias ? 1 : (isBias ? 0 : 0.02 * rng.nextGaussian())
                }
            }
        }
        fill(weights.arena, weights.arena.slots)
        if let head { fill(head.arena, head.arena.slots) }
    }

    /// Replaces (or removes) the classification head.
    public func setHead(_ head: SequenceClassificationHead?) { self.head = head }

    // MARK: - Forward

    /// Runs the encoder. Throws on ids, positions or token types outside the model's tables.
    public func forward(_ batch: TokenBatch) throws -> EncoderOutput {
        let packed = try PackedBatch(batch, config: config)
        let m = packed.tokens
        let c = config.hiddenSize
        let packedHidden = passLock.withLock {
            let h = hidden.reserve(max(m * c, 1))
            if m > 0 { encode(packed, into: h, firstTokensOnly: false) }
            return Array(UnsafeBufferPointer(start: h, count: m * c))
        }
        return EncoderOutput(
            batchSize: batch.batchSize, sequenceLength: batch.sequenceLength, hiddenSize: c,
            packedHidden: packedHidden, offsets: packed.offsets, rowOf: packed.rowOf)
    }

    /// Logits `[B, numLabels]` of the classification head.
    ///
    /// The head reads only each sequence's first token, so the last layer runs its attention for
    /// that query alone and its output projection, feed-forward and LayerNorms on B rows instead
    /// of every token's (keys and values still come from every token): the same numbers as the full
    /// pass, with ~1/16 (roberta-base) to ~1/8 (MiniLM-L6) less GEMM work at batch 32.
    public func classify(_ batch: TokenBatch) throws -> [Float] {
        guard let head else {
            throw EncoderError.invalidInput("the model has no classification head")
        }
        let packed = try PackedBatch(batch, config: config)
        try packed.requireAttendedFirstTokens("left padding is not supported for CLS pooling")
        let c = config.hiddenSize
        var features = passLock.withLock {
            let h = hidden.reserve(max(packed.tokens * c, 1))
            if packed.tokens > 0 { encode(packed, into: h, firstTokensOnly: true) }
            return Array(UnsafeBufferPointer(start: h, count: batch.batchSize * c))
        }
        if head.layout == .bert {
            features = try pool(features, batch: batch.batchSize)
        }
        return Profiler.shared.measure(.head) { head.forward(features: features, batch: batch.batchSize) }
    }

    /// BERT's pooler: `tanh(W·x + b)` on first-token states `[B, C]`.
    public func pool(_ first: [Float], batch: Int) throws -> [Float] {
        guard let w = weights.poolerWeight, let b = weights.poolerBias else {
            throw EncoderError.invalidInput("the model has no pooler")
        }
        let c = config.hiddenSize
        var out = [Float](repeating: 0, count: batch * c)
        out.withUnsafeMutableBufferPointer { op in
            first.withUnsafeBufferPointer { fp in
                Linear.forward(
                    out: op.baseAddress!, x: fp.baseAddress!, weight: weights.matrix(w),
                    bias: weights.pointer(b), rows: batch, inFeatures: c, outFeatures: c)
            }
            Tanh.forward(out: op.baseAddress!, x: op.baseAddress!, count: batch * c)
        }
        return out
    }

    /// Word + position + token-type embeddings of the packed tokens into `h` `[M, C]` (before the
    /// embedding LayerNorm); shared by inference and training.
    func embed(_ packed: PackedBatch, into h: UnsafeMutablePointer<Float>) {
        let w = weights
        packed.ids.withUnsafeBufferPointer { ids in
            packed.positions.withUnsafeBufferPointer { pos in
                packed.types.withUnsafeBufferPointer { types in
                    // The packed arrays are never empty here: callers skip empty batches.
                    guard let i = ids.baseAddress, let p = pos.baseAddress, let t = types.baseAddress else { return }
                    Embedding.forward(
                        out: h,
                        lookups: [
                            w.wordEmbeddingLookup(ids: i),
                            .init(table: w.pointer(w.positionEmbeddings), ids: p),
                            .init(table: w.pointer(w.tokenTypeEmbeddings), ids: t),
                        ], tokens: packed.tokens, channels: config.hiddenSize)
                }
            }
        }
    }

    /// The layer stack over packed tokens; `h` `[M, C]` receives the last hidden states, or with
    /// `firstTokensOnly` its first B rows receive each sequence's first-token state `[B, C]`.
    private func encode(_ packed: PackedBatch, into h: UnsafeMutablePointer<Float>, firstTokensOnly: Bool) {
        let m = packed.tokens
        let c = config.hiddenSize
        let eps = config.layerNormEps
        let w = weights
        let prof = Profiler.shared
        prof.measure(.embedding) { embed(packed, into: h) }
        prof.measure(.layerNorm) {
            LayerNorm.forward(
                out: h, x: h, gamma: w.pointer(w.embeddingNormWeight), beta: w.pointer(w.embeddingNormBias),
                rows: m, channels: c, eps: eps)
        }
        let shape = AttentionShape(offsets: packed.offsets, heads: config.numAttentionHeads, headDim: config.headDim)
        let qkvBuf = qkv.reserve(m * 3 * c)
        let ctx = context.reserve(m * c)
        let b = shape.batch
        // bf16 weights: the attention products in bf16 too, as autocast runs them.
        let bf16 = w.precision == .bf16
        for (l, layer) in w.layers.enumerated() {
            prof.measure(.gemm, flops: 2 * Double(m) * Double(3 * c * c)) {
                Linear.forward(
                    out: qkvBuf, x: h, weight: w.matrix(layer.qkvWeight), bias: w.pointer(layer.qkvBias),
                    rows: m, inFeatures: c, outFeatures: 3 * c)
            }
            if firstTokensOnly && l == w.layers.count - 1 {
                prof.measure(.attention) {
                    if bf16 {
                        Attention.forwardBF16(out: ctx, qkv: qkvBuf, shape: shape, firstQueries: true)
                    } else {
                        Attention.forwardFirstQueries(out: ctx, qkv: qkvBuf, shape: shape)
                    }
                }
                // The residual of the first tokens, gathered before `h` is overwritten.
                let first = firstRows.reserve(b * c)
                packed.gatherFirstRows(of: h, channels: c, into: first)
                afterAttention(layer, context: ctx, residual: first, rows: b, out: h)
            } else {
                prof.measure(.attention) {
                    if bf16 {
                        Attention.forwardBF16(out: ctx, qkv: qkvBuf, shape: shape)
                    } else {
                        Attention.forward(out: ctx, qkv: qkvBuf, shape: shape)
                    }
                }
                afterAttention(layer, context: ctx, residual: h, rows: m, out: h)
            }
        }
    }

    /// `out = LN(h₁ + W₂·gelu(W₁·h₁))` with `h₁ = LN(residual + Wₒ·context)`, all `[rows, C]`;
    /// `out` may be `residual`.
    private func afterAttention(
        _ layer: EncoderWeights.Layer, context ctx: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>,
        rows m: Int, out: UnsafeMutablePointer<Float>
    ) {
        let c = config.hiddenSize
        let inter = config.intermediateSize
        let eps = config.layerNormEps
        let w = weights
        let prof = Profiler.shared
        let fm = Double(m)
        let h1 = hidden1.reserve(m * c)
        let proj = projection.reserve(m * c)
        let mid = intermediate.reserve(m * inter)
        prof.measure(.gemm, flops: 2 * fm * Double(c * c)) {
            Linear.forward(
                out: proj, x: ctx, weight: w.matrix(layer.attentionOutWeight),
                bias: w.pointer(layer.attentionOutBias), rows: m, inFeatures: c, outFeatures: c)
        }
        prof.measure(.layerNorm) {
            LayerNorm.forward(
                out: h1, x: proj, residual: residual, gamma: w.pointer(layer.attentionNormWeight),
                beta: w.pointer(layer.attentionNormBias), rows: m, channels: c, eps: eps)
        }
        let form = config.hiddenAct.geluForm
        if Linear.fusesActivation(rows: m, inFeatures: c) {
            // Batch-1 shapes: the GELU runs inside the GEMM, on each chunk of its output.
            prof.measure(.gemm, flops: 2 * fm * Double(c * inter)) {
                Linear.forward(
                    out: mid, x: h1, weight: w.matrix(layer.intermediateWeight),
                    bias: w.pointer(layer.intermediateBias), rows: m, inFeatures: c, outFeatures: inter,
                    activation: form)
            }
        } else {
            prof.measure(.gemm, flops: 2 * fm * Double(c * inter)) {
                Linear.forward(
                    out: mid, x: h1, weight: w.matrix(layer.intermediateWeight),
                    bias: w.pointer(layer.intermediateBias), rows: m, inFeatures: c, outFeatures: inter)
            }
            prof.measure(.activation) { GELU.forward(form, out: mid, x: mid, count: m * inter) }
        }
        prof.measure(.gemm, flops: 2 * fm * Double(c * inter)) {
            Linear.forward(
                out: proj, x: mid, weight: w.matrix(layer.outputWeight), bias: w.pointer(layer.outputBias),
                rows: m, inFeatures: inter, outFeatures: c)
        }
        prof.measure(.layerNorm) {
            LayerNorm.forward(
                out: out, x: proj, residual: h1, gamma: w.pointer(layer.outputNormWeight),
                beta: w.pointer(layer.outputNormBias), rows: m, channels: c, eps: eps)
        }
    }
}
