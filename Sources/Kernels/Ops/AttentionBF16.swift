import CVectorKernels

/// Attention with its matrix products in bf16, for bf16 mixed precision: Q, K, V and the (dropped)
/// probabilities are rounded to bf16 and every head's `QKᵀ`, `P·V` and their backward products run with
/// fp32 accumulation (`sa_small_gemm_bf16`), as PyTorch's autocast runs its attention `bmm`s in bf16,
/// while the softmax, its backward and the dropout stay fp32, as there (the forward's softmax, dropout
/// and rounding in one row pass, `sa_softmax_dropout_bf16_row`). Q/K/V are kept for the backward
/// pass in bf16 (`savedQKV`), half the memory of the fp32 `[M, 3C]` buffer.
///
/// Same packed layout, shapes, dropout streams and probabilities buffers as `Attention.forward`; no
/// prefix (prefix tuning runs the fp32 products).
extension Attention {
    /// - Parameters:
    ///   - out: `[M, C]` (`[B, C]` with `firstQueries`) context vectors.
    ///   - qkv: `[M, 3C]` fp32.
    ///   - savedQKV: optional `[M, 3C]` bf16; receives `qkv` rounded to bf16, for `backwardBF16`.
    ///   - probs: optional, as for `forward`: the fp32 softmax output before dropout.
    ///   - probsBF16: optional, the same in bf16 (half the memory, for `backwardBF16(probsBF16:)`).
    ///   - droppedProbs: optional, the probabilities after dropout in bf16 (what the P·V product reads),
    ///     which spares the backward pass regenerating the mask.
    public static func forwardBF16(
        out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, shape: AttentionShape,
        savedQKV: UnsafeMutablePointer<UInt16>? = nil, probs: UnsafeMutablePointer<Float>? = nil,
        probsBF16: UnsafeMutablePointer<UInt16>? = nil, dropout: Float = 0,
        seed: UInt64 = 0, droppedProbs: UnsafeMutablePointer<UInt16>? = nil, firstQueries: Bool = false
    ) {
        precondition(shape.prefixLength == 0, "bf16 attention runs without a prefix")
        let c = shape.channels
        let d = shape.headDim
        let scale = 1 / Float(d).squareRoot()
        let sizes = BF16HeadSizes(shape, firstQueries: firstQueries)
        // Kept for the backward pass: rounded in one contiguous pass (a head's strided rows, rounded by
        // each task, took ~5× as long per value). Without `savedQKV` (inference) each task rounds its own
        // rows into scratch instead, so no `[M, 3C]` bf16 buffer is held beside the fp32 one.
        if let savedQKV { BF16.convert(qkv, to: savedQKV, count: shape.tokens * 3 * c) }
        forEachHead(shape, scratchCount: sizes.forwardFloats) { task, scratch in
            let t = task.t
            let (nq, probOffset, outOffset) = layout(task, shape, firstQueries: firstQueries)
            if t == 0 {
                if firstQueries { (out + outOffset).update(repeating: 0, count: d) }
                return
            }
            var carve = ScratchCarver(scratch)
            // Q, K, V of this head in bf16: the saved buffer (rows 3C apart), else rounded into scratch (3D apart).
            let (qb, ld, kOffset, vOffset) =
                savedQKV.map { ($0 + task.qkvOffset, 3 * c, c, 2 * c) } ?? (
                    carve.take(3 * t * d, UInt16.self), 3 * d, d, 2 * d
                )
            if savedQKV == nil {
                let src = qkv + task.qkvOffset
                sa_f32_to_bf16_rows(nq, d, src, 3 * c, qb, ld)
                sa_f32_to_bf16_rows(t, d, src + c, 3 * c, qb + kOffset, ld)
                sa_f32_to_bf16_rows(t, d, src + 2 * c, 3 * c, qb + vOffset, ld)
            }
            let q = UnsafePointer(qb)
            let k = q + kOffset
            let v = q + vOffset
            // S = Q·Kᵀ `[nq, T]`, softmax in fp32 (scaled inside)
            let packed = carve.take(sizes.packedWords, UInt32.self)
            sa_pack_pairs_transposed_bf16(d, t, k, ld, packed)
            let p = probs.map { $0 + probOffset } ?? carve.take(nq * t)
            sa_small_gemm_bf16(nq, t, d, q, ld, 2, packed, p, t, 0)
            // P' (after dropout) in bf16, in the softmax's normalising pass; then O_h = P'·V_h
            let weights = droppedProbs.map { $0 + probOffset } ?? carve.take(nq * t, UInt16.self)
            let (stream, start) = dropout > 0 ? dropoutStream(task, shape, seed: seed) : (0, 0)
            let probs16 = probsBF16.map { $0 + probOffset }
            for i in 0..<nq {
                sa_softmax_dropout_bf16_row(
                    p + i * t, weights + i * t, probs16.map { $0 + i * t }, t, scale, dropout, stream,
                    start + UInt64(i * t))
            }
            sa_pack_pairs_bf16_rows(t, d, v, ld, packed)
            sa_small_gemm_bf16(nq, d, t, weights, t, 2, packed, out + outOffset, c, 0)
        }
    }

    /// Backward of `forwardBF16`: writes `dqkv` (`[M, 3C]` fp32, every element: no clearing first) from `dout`
    /// (`[M, C]`, or `[B, C]` with `firstQueries`). `qkv` is the forward's `savedQKV`; its probabilities
    /// are `probs` (fp32) or `probsBF16` (one of the two), `droppedProbs` its bf16 dropped ones when it kept
    /// them (else the mask is regenerated from `seed`; dropout must match the forward's). From bf16
    /// probabilities, the softmax's backward reads them widened, and regenerated dropped weights are
    /// rounded from them (within a bf16 step of the forward's).
    public static func backwardBF16(
        dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<UInt16>,
        probs: UnsafePointer<Float>? = nil, probsBF16: UnsafePointer<UInt16>? = nil, shape: AttentionShape,
        dropout: Float = 0, seed: UInt64 = 0, droppedProbs: UnsafePointer<UInt16>? = nil, firstQueries: Bool = false
    ) {
        precondition(shape.prefixLength == 0, "bf16 attention runs without a prefix")
        precondition((probs == nil) != (probsBF16 == nil), "the probabilities in one precision")
        let c = shape.channels
        let d = shape.headDim
        let scale = 1 / Float(d).squareRoot()
        let sizes = BF16HeadSizes(shape, firstQueries: firstQueries)
        forEachHead(shape, scratchCount: sizes.backwardFloats) { task, scratch in
            let t = task.t
            if t == 0 { return }
            let (nq, probOffset, outOffset) = layout(task, shape, firstQueries: firstQueries)
            var carve = ScratchCarver(scratch)
            let q = qkv + task.qkvOffset
            let k = q + c
            let v = q + 2 * c
            let dq = dqkv + task.qkvOffset
            if firstQueries {
                // Only the first query has a gradient; the head's other Q rows get zeros.
                for r in 1..<t { (dq + r * 3 * c).update(repeating: 0, count: d) }
            }
            let p: UnsafePointer<Float>
            if let probs {
                p = probs + probOffset
            } else if let probsBF16 {
                let widened = carve.take(nq * t)
                sa_bf16_to_f32(probsBF16 + probOffset, widened, nq * t)
                p = UnsafePointer(widened)
            } else {
                return  // excluded by the precondition
            }
            let dO = carve.take(nq * d, UInt16.self)
            sa_f32_to_bf16_rows(nq, d, dout + outOffset, c, dO, d)
            // The weights P' the forward multiplied V by, in bf16.
            let weights: UnsafePointer<UInt16>
            if dropout > 0, let saved = droppedProbs {
                weights = saved + probOffset
            } else {
                let w = carve.take(nq * t, UInt16.self)
                roundDropped(p, into: w, count: nq * t, task, shape, dropout: dropout, seed: seed, carve: &carve)
                weights = UnsafePointer(w)
            }
            let packedA = carve.take(sizes.packedWords, UInt32.self)
            let packedB = carve.take(sizes.packedWords, UInt32.self)
            let tp = (t + 15) & ~15
            // dV_h = P'ᵀ·dO_h
            sa_pack_pairs_bf16_rows(nq, t, weights, t, packedA)
            sa_pack_pairs_bf16_rows(nq, d, dO, d, packedB)
            sa_small_gemm_bf16(
                t, d, nq, UnsafeRawPointer(packedA).assumingMemoryBound(to: UInt16.self), 2, 2 * tp, packedB,
                dq + 2 * c, 3 * c, 0)
            // dP' = dO_h·V_hᵀ
            let dp = carve.take(nq * t)
            sa_pack_pairs_transposed_bf16(d, t, v, 3 * c, packedB)
            sa_small_gemm_bf16(nq, t, d, dO, d, 2, packedB, dp, t, 0)
            if dropout > 0 {
                if droppedProbs != nil {
                    // Kept iff its dropped probability is non-zero (bf16 keeps fp32's exponent range).
                    sa_bf16_dropout_mask(dp, weights, p, nq * t, 1 / (1 - dropout))
                } else {
                    let (stream, start) = dropoutStream(task, shape, seed: seed)
                    Dropout.serial(out: dp, x: dp, count: nq * t, p: dropout, seed: stream, offset: start)
                }
            }
            // dS = softmax'(dP') · scale, then in bf16
            for i in 0..<nq {
                Softmax.rowBackward(dx: dp + i * t, dout: dp + i * t, probs: p + i * t, cols: t, scale: scale)
            }
            let ds = carve.take(nq * t, UInt16.self)
            sa_f32_to_bf16(dp, ds, nq * t)
            // dQ_h = dS·K_h ; dK_h = dSᵀ·Q_h
            sa_pack_pairs_bf16_rows(t, d, k, 3 * c, packedB)
            sa_small_gemm_bf16(nq, d, t, ds, t, 2, packedB, dq, 3 * c, 0)
            sa_pack_pairs_bf16_rows(nq, t, ds, t, packedA)
            sa_pack_pairs_bf16_rows(nq, d, q, 3 * c, packedB)
            sa_small_gemm_bf16(
                t, d, nq, UnsafeRawPointer(packedA).assumingMemoryBound(to: UInt16.self), 2, 2 * tp, packedB, dq + c,
                3 * c, 0)
        }
    }
}

extension Attention {
    /// `out` = bf16 of the head's probabilities after its dropout (the P·V product's input): the same mask
    /// stream as the fp32 pass, applied in fp32, then rounded.
    fileprivate static func roundDropped(
        _ p: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int, _ task: HeadTask,
        _ shape: AttentionShape, dropout: Float, seed: UInt64, carve: inout ScratchCarver
    ) {
        guard dropout > 0 else {
            sa_f32_to_bf16(p, out, count)
            return
        }
        let dropped = carve.take(count)
        let (stream, start) = dropoutStream(task, shape, seed: seed)
        Dropout.serial(out: dropped, x: p, count: count, p: dropout, seed: stream, offset: start)
        sa_f32_to_bf16(dropped, out, count)
    }
}

/// Scratch a worker needs for one head of `forwardBF16` / `backwardBF16`, in floats, at the batch's
/// longest sequence: every piece rounded up to 64 bytes (`ScratchCarver`).
private struct BF16HeadSizes {
    /// The largest packed operand: `((x + 1) / 2) · round16(y)` words over the products' (k, n) pairs.
    let packedWords: Int
    let forwardFloats: Int
    let backwardFloats: Int

    init(_ shape: AttentionShape, firstQueries: Bool) {
        let t = max(shape.maxLength, 1)
        let nq = firstQueries ? 1 : t
        let d = shape.headDim
        func pad16(_ x: Int) -> Int { (x + 15) & ~15 }
        func floats(_ bytes: Int) -> Int { (bytes + 63) / 64 * 16 }
        packedWords = max((d + 1) / 2 * pad16(t), (t + 1) / 2 * pad16(d), (nq + 1) / 2 * pad16(max(t, d)))
        let probs = nq * t
        // 16 floats of slack: the carver first aligns the buffer's start to 64 bytes.
        forwardFloats = 16 + floats(3 * t * d * 2) + floats(packedWords * 4) + floats(probs * 4) + floats(probs * 2)
        // The widened probabilities (bf16 ones), dO, regenerated weights and their fp32 pass, the two packed
        // operands, dP and dS.
        backwardFloats =
            16 + floats(probs * 4) + floats(nq * d * 2) + floats(probs * 2) + floats(probs * 4)
            + 2 * floats(packedWords * 4) + floats(probs * 4) + floats(probs * 2)
    }
}

/// Hands out 64-byte-aligned pieces of a worker's scratch buffer, one after the other.
private struct ScratchCarver {
    private var next: UnsafeMutableRawPointer

    init(_ scratch: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(scratch)
        next = raw.alignedUp(toMultipleOf: 64)
    }

    mutating func take<T>(_ count: Int, _: T.Type = Float.self) -> UnsafeMutablePointer<T> {
        let piece = next.bindMemory(to: T.self, capacity: count)
        next += (count * MemoryLayout<T>.stride + 63) / 64 * 64
        return piece
    }
}
