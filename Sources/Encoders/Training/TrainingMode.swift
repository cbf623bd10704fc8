import Adapters

/// What a training run updates.
public enum TrainingMode: Sendable, Equatable {
    /// Base frozen; the adapter and the head are trained (`train_adapter`).
    case adapter(name: String, config: AdapterConfig)
    /// Several adapters applied one after the other at every location (AdapterHub's `Stack`), with
    /// the head. Forward only: training a stack is refused by `AdapterModel.step`.
    case stack([NamedAdapter])
    /// AdapterHub's `Average`: at every location each adapter runs on the same input and the outputs are
    /// combined with `weights` (already normalised as the caller wants them). Forward only.
    case average([NamedAdapter], weights: [Float])
    /// AdapterHub's `Fuse` (AdapterFusion): at every location the adapters' outputs are combined by a fusion layer
    /// (`FusionConfig`) named after them (`a,b`). Forward only for now.
    case fuse([NamedAdapter], fusion: FusionConfig)
    /// AdapterHub's `Split`: by position in the sequence, the first `splits[0]` tokens go through the first adapter,
    /// the next `splits[1]` through the second, … (positions past them through the last). Forward only.
    case split([NamedAdapter], splits: [Int])
    /// AdapterHub's `Stack` whose members are adapters or composition blocks, e.g. `Stack("lang", Fuse("a", "b"))`: at
    /// every location each block runs on the previous one's output, as the blocks above do on their own. Forward only.
    case composed([StackBlock])
    /// Everything, embeddings included, plus the head.
    case full
    /// Base frozen, no adapter: only the head.
    case headOnly
}

/// One member of a `composed` Stack.
public enum StackBlock: Sendable, Equatable {
    case single(NamedAdapter)
    case fuse([NamedAdapter], fusion: FusionConfig)
    /// The weights as `average` takes them (already normalised as the caller wants them).
    case average([NamedAdapter], weights: [Float])
    case split([NamedAdapter], splits: [Int])

    /// The block's adapters, in order.
    public var adapters: [NamedAdapter] {
        switch self {
        case .single(let adapter): [adapter]
        case .fuse(let adapters, _), .average(let adapters, _), .split(let adapters, _): adapters
        }
    }
}

extension TrainingMode {
    /// The mode's blocks in Stack order: a single adapter, a plain Stack (one block per adapter) and the blocks of one
    /// composition are special cases of a composed Stack. Empty for full fine-tuning and head-only training.
    var blocks: [StackBlock] {
        switch self {
        case .adapter(let name, let config): [.single(NamedAdapter(name: name, config: config))]
        case .stack(let adapters): adapters.map { .single($0) }
        case .average(let adapters, let weights): [.average(adapters, weights: weights)]
        case .fuse(let adapters, let fusion): [.fuse(adapters, fusion: fusion)]
        case .split(let adapters, let splits): [.split(adapters, splits: splits)]
        case .composed(let blocks): blocks
        case .full, .headOnly: []
        }
    }
}

/// An adapter's name with its configuration.
public struct NamedAdapter: Sendable, Equatable {
    public var name: String
    public var config: AdapterConfig

    public init(name: String, config: AdapterConfig) {
        self.name = name
        self.config = config
    }
}

/// A part of the trainable tensors whose gradients the backward pass completes together
/// (`AdapterModel.gradientGroups`, `step(gradientsReady:)`).
public enum GradientGroup: Hashable, Sendable {
    /// The classification head: done first.
    case head
    /// Encoder layer `l`'s trainable tensors (adapters, LoRA, or its weights in full fine-tuning).
    case layer(Int)
    /// The embedding tables and their LayerNorm (full fine-tuning): done last.
    case embeddings
}
