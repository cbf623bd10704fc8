import Kernels

/// Where every base-model tensor lives in the weight arena, named after the HF module tree
/// (`encoder.layer.{i}.attention.self.query`, …) so that loading is a table lookup.
///
/// Query, key and value of a layer share one `[3C, C]` slot (and one `[3C]` bias): they are
/// fused at load time so the projection is one GEMM, and attention reads heads as strided views.
public struct EncoderWeights {
    public struct Layer {
        /// `[3C, C]`: rows 0..<C query, C..<2C key, 2C..<3C value.
        public let qkvWeight: Arena.Slot
        public let qkvBias: Arena.Slot
        public let attentionOutWeight: Arena.Slot  // [C, C]
        public let attentionOutBias: Arena.Slot
        public let attentionNormWeight: Arena.Slot  // [C]
        public let attentionNormBias: Arena.Slot
        public let intermediateWeight: Arena.Slot  // [I, C]
        public let intermediateBias: Arena.Slot
        public let outputWeight: Arena.Slot  // [C, I]
        public let outputBias: Arena.Slot
        public let outputNormWeight: Arena.Slot
        public let outputNormBias: Arena.Slot
    }

    /// One HF tensor and where it goes: `slot`, starting `offset` floats in.
    public struct Binding {
        public let name: String
        public let shape: [Int]
        public let slot: Arena.Slot
        public let offset: Int
    }

    public let arena = Arena()
    public let wordEmbeddings: Arena.Slot  // [V, C]
    public let positionEmbeddings: Arena.Slot  // [P, C]
    public let tokenTypeEmbeddings: Arena.Slot  // [types, C]
    public let embeddingNormWeight: Arena.Slot
    public let embeddingNormBias: Arena.Slot
    public let layers: [Layer]
    /// BERT's pooler (`dense` + tanh on token 0); nil when the checkpoint has none.
    public let poolerWeight: Arena.Slot?
    public let poolerBias: Arena.Slot?
    /// The HF tensors, in a stable order, and where they are stored.
    public let bindings: [Binding]

    /// Lays out the tensors; with `allocate` false no memory is taken yet (`arena.allocate()` later), so
    /// a loader can check every shape against the checkpoint before sizes from `config.json` cost memory.
    public init(config: EncoderConfig, withPooler: Bool, allocate: Bool = true) {
        let c = config.hiddenSize
        let inter = config.intermediateSize
        var bindings: [Binding] = []
        let arena = self.arena
        func slot(_ name: String, _ shape: [Int]) -> Arena.Slot {
            let s = arena.declare(name, shape: shape)
            bindings.append(Binding(name: name, shape: shape, slot: s, offset: 0))
            return s
        }
        wordEmbeddings = slot("embeddings.word_embeddings.weight", [config.vocabSize, c])
        positionEmbeddings = slot("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, c])
        tokenTypeEmbeddings = slot("embeddings.token_type_embeddings.weight", [config.typeVocabSize, c])
        embeddingNormWeight = slot("embeddings.LayerNorm.weight", [c])
        embeddingNormBias = slot("embeddings.LayerNorm.bias", [c])
        var layers: [Layer] = []
        for i in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(i)."
            let qkvW = arena.declare(p + "attention.self.qkv.weight", shape: [3 * c, c])
            let qkvB = arena.declare(p + "attention.self.qkv.bias", shape: [3 * c])
            for (part, name) in ["query", "key", "value"].enumerated() {
                bindings.append(Binding(name: p + "attention.self.\(name).weight", shape: [c, c], slot: qkvW, offset: part * c * c))
                bindings.append(Binding(name: p + "attention.self.\(name).bias", shape: [c], slot: qkvB, offset: part * c))
            }
            layers.append(
                Layer(
                    qkvWeight: qkvW, qkvBias: qkvB,
                    attentionOutWeight: slot(p + "attention.output.dense.weight", [c, c]),
                    attentionOutBias: slot(p + "attention.output.dense.bias", [c]),
                    attentionNormWeight: slot(p + "attention.output.LayerNorm.weight", [c]),
                    attentionNormBias: slot(p + "attention.output.LayerNorm.bias", [c]),
                    intermediateWeight: slot(p + "intermediate.dense.weight", [inter, c]),
                    intermediateBias: slot(p + "intermediate.dense.bias", [inter]),
                    outputWeight: slot(p + "output.dense.weight", [c, inter]),
                    outputBias: slot(p + "output.dense.bias", [c]),
                    outputNormWeight: slot(p + "output.LayerNorm.weight", [c]),
                    outputNormBias: slot(p + "output.LayerNorm.bias", [c])))
        }
        self.layers = layers
        if withPooler {
            poolerWeight = slot("pooler.dense.weight", [c, c])
            poolerBias = slot("pooler.dense.bias", [c])
        } else {
            poolerWeight = nil
            poolerBias = nil
        }
        self.bindings = bindings
        if allocate { arena.allocate() }
    }

    @inlinable
    public func pointer(_ slot: Arena.Slot) -> UnsafeMutablePointer<Float> { arena.pointer(slot) }

    /// Number of parameters (HF's count: fused QKV counts as its three tensors).
    public var parameterCount: Int { bindings.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
