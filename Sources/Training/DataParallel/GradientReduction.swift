import Encoders
import Kernels

/// One training step's gradient sum over a process group, overlapped with the backward pass: each
/// group of trainable tensors (`AdapterModel.gradientGroups`) is handed to the transport as soon as
/// the backward pass has finished it — the head first, then the layers from the top — while the pass
/// goes on below; `finish` starts whatever is left (the embeddings, or groups of a process whose share
/// of the batch was empty) and waits for all of it.
final class GradientReduction {
    private let group: ProcessGroup
    private let grads: UnsafeMutablePointer<Float>?
    /// Every group in the order the backward pass finishes them; sums start in this order on every
    /// process (collectives must match), whichever groups a process's backward pass reported.
    private let order: [(group: GradientGroup, ranges: [Range<Int>])]
    private var next = 0
    private(set) var failure: Error?

    init(group: ProcessGroup, model: AdapterModel) {
        self.group = group
        grads = model.parameters.grads.base
        order = model.gradientGroups
    }

    /// The backward pass's `gradientsReady` callback: starts `g` and any group before it not yet started.
    func ready(_ g: GradientGroup) {
        guard failure == nil, let i = order.firstIndex(where: { $0.group == g }), i >= next else { return }
        start(through: i)
    }

    private func start(through last: Int) {
        do {
            while next <= last {
                if let grads {
                    for r in order[next].ranges { try group.startSum(grads + r.lowerBound, count: r.count) }
                }
                next += 1
            }
        } catch {
            failure = error
        }
    }

    /// Starts the groups not yet started and the step's scalars (`scalars`, summed in place), then
    /// waits for everything.
    func finish(scalars: inout [Double]) throws {
        start(through: order.count - 1)
        if let failure { throw failure }
        try scalars.withUnsafeMutableBufferPointer { try group.startSum($0.baseAddress!, count: $0.count) }
        try group.waitAll("summing the step's gradients")
    }
}
