/// The trainable tensors of a model and their optimizer-side storage, llm.c style: gradients,
/// AdamW's first and second moments each live in one arena (so zeroing, clipping and the update are
/// flat loops), laid out in identical blocks. Parameter values stay where their owner keeps them
/// (the adapter arena, the head arena, or — for full fine-tuning — the base model's arena).
///
/// A block may back several entries: the fused `[3C, C]` QKV gradient is one block, viewed as the
/// query, key and value tensors under their HF names.
public final class ParameterSet {
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let value: UnsafeMutablePointer<Float>
        public let grad: UnsafeMutablePointer<Float>
        public let firstMoment: UnsafeMutablePointer<Float>
        public let secondMoment: UnsafeMutablePointer<Float>
        /// Whether decoupled weight decay applies (HF Trainer: not to biases and LayerNorm weights).
        public let decay: Bool
        public var count: Int { shape.reduce(1, *) }
    }

    public let grads = Arena()
    public let firstMoments = Arena()
    public let secondMoments = Arena()
    public private(set) var entries: [Entry] = []
    private var allocated = false
    /// False for tensors that are only run, never trained (a served adapter): no gradient or moment
    /// memory is taken, and an entry's gradient and moments alias its values — nothing may write them.
    public let trainable: Bool

    public init(trainable: Bool = true) {
        self.trainable = trainable
    }

    /// Declares a gradient block of `count` floats (before `allocate`); empty when not trainable.
    @discardableResult
    public func declareBlock(_ name: String, count: Int) -> Arena.Slot {
        let size = trainable ? count : 0
        firstMoments.declare(name, shape: [size])
        secondMoments.declare(name, shape: [size])
        return grads.declare(name, shape: [size])
    }

    public func allocate() {
        grads.allocate()
        firstMoments.allocate()
        secondMoments.allocate()
        allocated = true
    }

    /// Gradient pointer of a block (after `allocate`).
    public func gradient(_ block: Arena.Slot) -> UnsafeMutablePointer<Float> { grads.pointer(block) }

    /// Registers a tensor whose values are at `value` and whose gradient is `offset` floats into `block`.
    public func add(name: String, shape: [Int], value: UnsafeMutablePointer<Float>, block: Arena.Slot, offset: Int = 0, decay: Bool) {
        precondition(allocated, "ParameterSet.add before allocate")
        guard trainable else {
            entries.append(Entry(name: name, shape: shape, value: value, grad: value, firstMoment: value, secondMoment: value, decay: decay))
            return
        }
        entries.append(
            Entry(
                name: name, shape: shape, value: value, grad: grads.pointer(block) + offset,
                firstMoment: firstMoments.pointer(block) + offset, secondMoment: secondMoments.pointer(block) + offset,
                decay: decay))
    }

    public func zeroGradients() { grads.zero() }

    /// Number of trainable scalars.
    public var parameterCount: Int { entries.reduce(0) { $0 + $1.count } }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
