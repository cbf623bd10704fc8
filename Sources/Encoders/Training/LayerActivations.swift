import Kernels

/// What one layer's forward pass keeps for its backward pass, in growable buffers reused from step
/// to step (nothing is allocated once the largest batch has been seen). Shapes with `M` packed
/// tokens, `C` hidden, `I` intermediate, `d` bottleneck, `r` LoRA rank.
final class LayerActivations {
    let qkv = ScratchBuffer()  // [M, 3C] (fp32 attention)
    let qkvBF16 = ScratchBuffer()  // [M, 3C] bf16 pairs (bf16 attention: `Attention.forwardBF16`'s savedQKV)
    let probs = ScratchBuffer()  // [heads · Σ T_b²] (bf16 pairs with bf16 attention)
    let droppedProbs = ScratchBuffer()  // [heads · Σ T_b²] after attention dropout (training only; bf16 pairs in bf16)
    let context = ScratchBuffer()  // [M, C]
    let attentionOut = ScratchBuffer()  // [M, C] attention output dense after dropout (h of sub-block 1)
    let sum1 = ScratchBuffer()  // [M, C] input of the attention LayerNorm
    let mean1 = ScratchBuffer()  // [M]
    let rstd1 = ScratchBuffer()  // [M]
    let out1 = ScratchBuffer()  // [M, C]
    let preActivation = ScratchBuffer()  // [M, I]
    let preActivationBF16 = ScratchBuffer()  // [M, I] bf16 pairs (bf16 training: `AdapterModel.keepsPreActivationInBF16`)
    let ffnOut = ScratchBuffer()  // [M, C] FFN output dense after dropout (h of sub-block 2)
    let sumA = ScratchBuffer()  // [M, C] seq_bn: h + r before the first pass through the LayerNorm
    let meanA = ScratchBuffer()
    let rstdA = ScratchBuffer()
    let adapterIn = ScratchBuffer()  // [M, C] seq_bn: LN(h + r), the adapter's input
    let sum2 = ScratchBuffer()  // [M, C] input of the output LayerNorm
    let mean2 = ScratchBuffer()
    let rstd2 = ScratchBuffer()
    let mhPre = ScratchBuffer()  // [M, d]
    let mhAct = ScratchBuffer()
    let outPre = ScratchBuffer()  // [M, d]
    let outAct = ScratchBuffer()
    /// By `AdapterModel.LinearSite` (q, k, v, intermediate, output): LoRA's `x·Aᵀ` `[M, r]`.
    let loraH = (0..<5).map { _ in ScratchBuffer() }
    /// By site: (IA)³'s layer output before scaling `[M, out]` (training only).
    let ia3Kept = (0..<5).map { _ in ScratchBuffer() }
    /// By gate site (`AdapterModel.GateSite`: LinearSites, bottlenecks, prefix): σ `[M, k]` then the means `[B, k]`.
    let gates = (0..<8).map { _ in ScratchBuffer() }
    /// ReFT, by unit: its gathered input rows, `x·Wᵀ + b` and the coefficients (`ReftKernel`).
    let reft = (0..<6).map { _ in ScratchBuffer() }
    /// By site: a LoRA's input after its dropout `[M, in]` (training with LoRA dropout only).
    let loraDropped = (0..<5).map { _ in ScratchBuffer() }

    /// `probs` holding `count` bf16 values: bf16 attention keeps the softmax output so.
    func probsBF16(reserving count: Int) -> UnsafeMutablePointer<UInt16> { halves(probs, count) }

    /// `droppedProbs` holding `count` bf16 values (two to a float): bf16 training keeps them so.
    func droppedProbsBF16(reserving count: Int) -> UnsafeMutablePointer<UInt16> { halves(droppedProbs, count) }

    /// `preActivationBF16` holding `count` bf16 values.
    func preActivationBF16(reserving count: Int) -> UnsafeMutablePointer<UInt16> { halves(preActivationBF16, count) }

    /// `qkvBF16` holding `count` bf16 values.
    func qkvBF16(reserving count: Int) -> UnsafeMutablePointer<UInt16> { halves(qkvBF16, count) }

    private func halves(_ buffer: ScratchBuffer, _ count: Int) -> UnsafeMutablePointer<UInt16> {
        let floats = buffer.reserve((count + 1) / 2)
        return UnsafeMutableRawPointer(floats).bindMemory(to: UInt16.self, capacity: 2 * buffer.capacity)
    }
}
