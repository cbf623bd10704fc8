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

    /// The bf16 copies of the GEMM weights, once `enableBF16` made them.
    let lowPrecision = LowPrecisionState()

    /// The weights that go through GEMMs (Q/K/V, attention output, the feed-forward's two, the
    /// pooler): what bf16 precision stores in bf16. Embeddings, LayerNorms and biases stay fp32.
    public var matrixSlots: [Arena.Slot] {
        layers.flatMap { [$0.qkvWeight, $0.attentionOutWeight, $0.intermediateWeight, $0.outputWeight] }
            + (poolerWeight.map { [$0] } ?? [])
    }

    /// A GEMM weight as the kernels should read it: its bf16 copy in bf16 precision, else fp32.
    public func matrix(_ slot: Arena.Slot) -> WeightMatrix {
        if let copies = lowPrecision.copies, let p = copies.pointer(slot) { return .bf16(UnsafePointer(p)) }
        return .fp32(UnsafePointer(arena.pointer(slot)))
    }

    /// The precision the GEMM weights are read in.
    public var precision: ResolvedPrecision { lowPrecision.copies == nil ? .fp32 : .bf16 }

    /// Whether the fp32 GEMM weights were given back to the OS (bf16 inference): then only their
    /// bf16 copies exist, and nothing that writes or reads the fp32 matrices (a LoRA merge, full
    /// fine-tuning, saving the base model) may run.
    public var fp32MatricesReleased: Bool { lowPrecision.copies?.releasedFP32 ?? false }

    /// Makes bf16 copies of the GEMM weights from their fp32 values (idempotent); the fp32 values stay
    /// (full fine-tuning updates them and then `refreshBF16`).
    public func enableBF16() {
        if lowPrecision.copies != nil { return }
        let copies = BF16Matrices(slots: matrixSlots)
        for slot in matrixSlots { copies.update(slot, from: arena) }
        lowPrecision.copies = copies
    }

    /// Re-rounds every bf16 copy from the fp32 weights, after they changed (an optimizer step of full
    /// fine-tuning, a LoRA merge or unmerge). Nothing to do in fp32.
    public func refreshBF16() {
        guard let copies = lowPrecision.copies, !copies.releasedFP32 else { return }
        for slot in matrixSlots { copies.update(slot, from: arena) }
    }

    /// bf16 inference: the fp32 GEMM weights' pages are given back (about half of a model's memory);
    /// their values live on only as bf16.
    /// The pooler's weight keeps its fp32 values too: it is small, and PEFT folders carry a copy of it.
    /// The word-embedding table (a third of roberta-base) goes to bf16 as well; the lookups widen its
    /// rows exactly, so the embedding sum sees bf16-rounded word vectors (2⁻⁸ relative).
    public func releaseFP32Matrices() {
        enableBF16()
        guard let copies = lowPrecision.copies, !copies.releasedFP32 else { return }
        copies.makeWordTable(wordEmbeddings, from: arena)
        release(copies)
    }

    /// The fp32 slots whose values live only in bf16 once released: the GEMM weights but the pooler's,
    /// and the word embeddings.
    private var releasableSlots: [Arena.Slot] { matrixSlots.filter { $0 != poolerWeight } + [wordEmbeddings] }

    /// Makes the released slots' fp32 pages unreadable and marks the copies as the only values.
    private func release(_ copies: BF16Matrices) {
        for slot in releasableSlots { arena.releasePages(of: slot) }
        copies.releasedFP32 = true
    }

    /// The word-embedding lookup: bf16 once the fp32 table was given back, else fp32.
    public func wordEmbeddingLookup(ids: UnsafePointer<Int32>) -> Embedding.Lookup {
        if let copies = lowPrecision.copies, copies.releasedFP32, let table = copies.wordTable {
            return .init(bf16Table: UnsafePointer(table.pointer), ids: ids)
        }
        return .init(table: pointer(wordEmbeddings), ids: ids)
    }

    /// Row `id` of the word-embedding table in fp32 (widened from bf16 on a bf16 inference model).
    public func wordEmbedding(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        let c = wordEmbeddings.shape[1]
        if let copies = lowPrecision.copies, copies.releasedFP32, let table = copies.wordTable {
            BF16.widen(table.pointer + id * c, to: out, count: c)
        } else {
            out.update(from: pointer(wordEmbeddings) + id * c, count: c)
        }
    }

    /// Loading straight into bf16: `prepareBF16Load` before the tensors are read; then each tensor goes
    /// to `bf16Destination(of:)` when it has one (the GEMM weights but the pooler's, and the word
    /// embeddings: streamed from the file, never held in fp32), else to its fp32 slot; `completeBF16Load`
    /// after the last rounds the pooler and makes the unused fp32 pages unreadable.
    func prepareBF16Load() {
        let copies = BF16Matrices(slots: matrixSlots)
        copies.allocateWordTable(count: wordEmbeddings.count)
        lowPrecision.copies = copies
    }

    /// Where binding `b` goes in bf16 (nil: it is read in fp32).
    func bf16Destination(of b: Binding) -> UnsafeMutablePointer<UInt16>? {
        guard let copies = lowPrecision.copies, !copies.releasedFP32 else { return nil }
        if b.slot == wordEmbeddings { return copies.wordTable.map { $0.pointer + b.offset } }
        if b.slot == poolerWeight { return nil }
        return copies.pointer(b.slot).map { $0 + b.offset }
    }

    func completeBF16Load() {
        guard let copies = lowPrecision.copies else { return }
        if let pooler = poolerWeight { copies.update(pooler, from: arena) }
        release(copies)
    }

    /// FNV-1a over every tensor's bits (the bf16 copies' in place of released fp32 matrices): proves
    /// that weights were restored or left untouched.
    public func checksum() -> UInt64 {
        guard let copies = lowPrecision.copies, copies.releasedFP32 else { return arena.checksum() }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let released = Set(releasableSlots.map(\.offset))
        for slot in arena.slots {
            if slot == wordEmbeddings, let table = copies.wordTable {
                for i in 0..<slot.count { hash = (hash ^ UInt64(table.pointer[i])) &* 0x0000_0100_0000_01b3 }
            } else if released.contains(slot.offset), let p = copies.pointer(slot) {
                for i in 0..<slot.count { hash = (hash ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
            } else {
                let p = UnsafeRawPointer(arena.pointer(slot)).assumingMemoryBound(to: UInt32.self)
                for i in 0..<slot.count { hash = (hash ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
            }
        }
        return hash
    }

    /// Number of parameters (HF's count: fused QKV counts as its three tensors).
    public var parameterCount: Int { bindings.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}

/// Holds the bf16 copies once made (a class, so the value-typed `EncoderWeights` shares them).
final class LowPrecisionState: @unchecked Sendable {
    var copies: BF16Matrices?
}

/// bf16 copies of some fp32 arena slots, in one block.
final class BF16Matrices: @unchecked Sendable {
    let buffer: BF16Buffer
    /// fp32 slot offset → offset in `buffer`.
    private let offsets: [Int: Int]
    var releasedFP32 = false
    /// The word-embedding table in bf16, once its fp32 pages were given back.
    private(set) var wordTable: BF16Buffer?

    func makeWordTable(_ slot: Arena.Slot, from arena: Arena) {
        if wordTable != nil { return }
        let table = BF16Buffer(count: slot.count)
        BF16.convert(arena.pointer(slot), to: table.pointer, count: slot.count)
        wordTable = table
    }

    func allocateWordTable(count: Int) { wordTable = BF16Buffer(count: count) }

    init(slots: [Arena.Slot]) {
        var offsets: [Int: Int] = [:]
        var next = 0
        for s in slots {
            offsets[s.offset] = next
            next += (s.count + 31) / 32 * 32  // 64-byte aligned rows of the block
        }
        self.offsets = offsets
        buffer = BF16Buffer(count: next)
    }

    func pointer(_ slot: Arena.Slot) -> UnsafeMutablePointer<UInt16>? {
        offsets[slot.offset].map { buffer.pointer + $0 }
    }

    func update(_ slot: Arena.Slot, from arena: Arena) {
        guard let p = pointer(slot) else { return }
        BF16.convert(arena.pointer(slot), to: p, count: slot.count)
    }
}
