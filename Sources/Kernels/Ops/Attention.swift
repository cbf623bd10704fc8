import CVectorKernels

/// Multi-head scaled-dot-product attention over packed variable-length sequences.
///
/// Sequences are packed: only tokens whose attention-mask entry is 1 are stored, sequence `b`
/// occupying rows `offsets[b] ..< offsets[b+1]`. That is the key-padding mask made structural:
/// a masked key gets exactly zero weight in HF (its score is `finfo.min`, whose exponential
/// underflows to 0), and here it is simply absent, so the real tokens' outputs are identical while
/// no FLOP is spent on padding in any layer.
///
/// Q, K and V come fused per token as `[M, 3C]` (query | key | value, head `h` at columns
/// `h·D ..< (h+1)·D` of each part), so every head is a strided view and nothing is permuted.
///
/// With a prefix (prefix tuning), every query also attends to `prefixLength` trained key/value rows placed
/// before its sequence's own keys: a query's probabilities span `prefixLength + T_b` keys, prefix first.
public struct AttentionShape: Sendable {
    /// `[B + 1]` row offsets of the sequences in the packed token rows.
    public let offsets: [Int]
    public let heads: Int
    public let headDim: Int
    /// Trained key/value rows every query attends to before its sequence's keys (0 without a prefix).
    public let prefixLength: Int
    /// `probOffsets[b]` = Σ_{b' < b} heads · T_b' · (P + T_b'): where sequence b's probabilities start.
    public let probOffsets: [Int]
    /// `firstQueryProbOffsets[b]` = Σ_{b' < b} heads · (P + T_b'): the same for the first query's row only.
    public let firstQueryProbOffsets: [Int]
    /// Each sequence's dropout key: sequence `b`'s attention-dropout mask is the stream
    /// `hash(seed, keys[b])` at index `h·T_b² + i·T_b + j`, whatever else shares its batch. Data-parallel
    /// training keys a sequence by its place in the global batch, so its mask does not depend on which
    /// process or micro-batch runs it. Defaults to the position in this batch.
    public let dropoutKeys: [UInt64]

    public init(offsets: [Int], heads: Int, headDim: Int, dropoutKeys: [UInt64]? = nil, prefixLength: Int = 0) {
        self.offsets = offsets
        self.heads = heads
        self.headDim = headDim
        self.prefixLength = max(prefixLength, 0)
        self.dropoutKeys = dropoutKeys ?? (0..<UInt64(max(offsets.count - 1, 0))).map { $0 }
        precondition(self.dropoutKeys.count == max(offsets.count - 1, 0), "one dropout key per sequence")
        var p = [0]
        var f = [0]
        for b in 0..<max(offsets.count - 1, 0) {
            let t = offsets[b + 1] - offsets[b]
            p.append(p[b] + heads * t * (t + self.prefixLength))
            f.append(f[b] + heads * (t + self.prefixLength))
        }
        probOffsets = p
        firstQueryProbOffsets = f
    }

    public var batch: Int { offsets.count - 1 }
    public var tokens: Int { offsets.last ?? 0 }
    public var channels: Int { heads * headDim }
    /// Floats needed to keep every head's attention probabilities for the backward pass.
    public var probabilityCount: Int { probOffsets.last ?? 0 }
    /// The same for `Attention.forwardFirstQueries`: one row of probabilities per sequence and head.
    public var firstQueryProbabilityCount: Int { firstQueryProbOffsets.last ?? 0 }
    public var maxLength: Int {
        var m = 0
        for b in 0..<batch { m = max(m, offsets[b + 1] - offsets[b]) }
        return m
    }
}

/// Prefix tuning's trained keys and values for one layer, shared by every sequence: row `p` holds key `p`
/// at columns `0..<C` and value `p` at `C..<2C` (head `h` at `h·D` of each), rows `rowStride` floats apart.
///
/// With gating (UniPELT), sequence b sees its keys multiplied by `keyScales[b]` and its values by
/// `valueScales[b]`; `Attention.backward`'s `dprefix` is then the gradient of those scaled keys and values.
public struct AttentionPrefix {
    public let rows: UnsafePointer<Float>
    public let length: Int
    public let rowStride: Int
    public let keyScales: UnsafePointer<Float>?
    public let valueScales: UnsafePointer<Float>?

    public init(
        rows: UnsafePointer<Float>, length: Int, rowStride: Int, keyScales: UnsafePointer<Float>? = nil,
        valueScales: UnsafePointer<Float>? = nil
    ) {
        self.rows = rows
        self.length = length
        self.rowStride = rowStride
        self.keyScales = keyScales
        self.valueScales = valueScales
    }

    func keyScale(_ b: Int) -> Float { keyScales?[b] ?? 1 }
    func valueScale(_ b: Int) -> Float { valueScales?[b] ?? 1 }
}

public enum Attention {
    /// One (sequence, head) pair of a parallel attention loop: its sequence `b` and head `h`, the
    /// sequence's length `t`, and where head `h`'s columns of the sequence's first packed row
    /// start in the `[M, 3C]` and `[M, C]` buffers.
    struct HeadTask {
        let b: Int
        let h: Int
        let t: Int
        let qkvOffset: Int
        let outOffset: Int
    }

    /// Runs `body` for every (sequence, head) pair, spread over the workers; each chunk of pairs gets
    /// its own `scratchCount` floats of scratch.
    static func forEachHead(
        _ shape: AttentionShape, scratchCount: Int, _ body: (HeadTask, UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = shape.channels
        let d = shape.headDim
        let heads = shape.heads
        let offsets = shape.offsets
        let total = shape.batch * heads
        // A head's cost grows with the square of its sequence's length, so one half of a batch can cost
        // far more than the other: a few chunks per worker, taken as workers come free, even it out.
        let chunks = min(total, 4 * Threading.workerCount)
        let step = max(1, (total + chunks - 1) / max(chunks, 1))
        Threading.parallelFor((total + step - 1) / step) { chunk in
            let tasks = (chunk * step)..<min(total, (chunk + 1) * step)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
            defer { scratch.deallocate() }
            for task in tasks {
                let b = task / heads
                let h = task % heads
                let t0 = offsets[b]
                body(
                    HeadTask(
                        b: b, h: h, t: offsets[b + 1] - t0, qkvOffset: t0 * 3 * c + h * d,
                        outOffset: t0 * c + h * d),
                    scratch)
            }
        }
    }

    /// - Parameters:
    ///   - out: `[M, C]` context vectors (before the output projection).
    ///   - qkv: `[M, 3C]`.
    ///   - probs: optional `[shape.probabilityCount]`; receives the softmax probabilities (before
    ///     dropout) for the backward pass.
    ///   - dropout: attention-probability dropout rate (training), with its stream `seed`.
    ///   - droppedProbs: optional `[shape.probabilityCount]`; receives the probabilities after
    ///     dropout, which spares the backward pass regenerating the mask.
    ///   - prefix: the layer's prefix keys and values (`shape.prefixLength` rows), nil without one.
    ///   - droppedProbsBF16: instead of `droppedProbs`, keeps them rounded to bf16 in half the memory (bf16
    ///     training: PyTorch's autocast saves this input of the P·V product in bf16 too). The forward pass
    ///     itself uses the fp32 values.
    public static func forward(
        out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, shape: AttentionShape,
        probs: UnsafeMutablePointer<Float>? = nil, dropout: Float = 0, seed: UInt64 = 0,
        droppedProbs: UnsafeMutablePointer<Float>? = nil, prefix: AttentionPrefix? = nil,
        droppedProbsBF16: UnsafeMutablePointer<UInt16>? = nil
    ) {
        forwardHeads(
            out: out, qkv: qkv, shape: shape, probs: probs, dropout: dropout, seed: seed, droppedProbs: droppedProbs,
            droppedBF16: droppedProbsBF16, prefix: prefix, firstQueries: false)
    }

    /// Attention for the first query of each sequence only: what a head that reads the first
    /// token (`[CLS]` / `<s>`) needs from the last layer. Keys and values are every token's; without
    /// dropout the result equals row `offsets[b]` of `forward`'s output.
    /// - Parameters:
    ///   - out: `[B, C]` context vectors, one row per sequence (a sequence with no token gets zeros).
    ///   - qkv: `[M, 3C]` packed rows, as for `forward`.
    ///   - probs, droppedProbs: optional `[shape.firstQueryProbabilityCount]`, as for `forward`.
    public static func forwardFirstQueries(
        out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, shape: AttentionShape,
        probs: UnsafeMutablePointer<Float>? = nil, dropout: Float = 0, seed: UInt64 = 0,
        droppedProbs: UnsafeMutablePointer<Float>? = nil, prefix: AttentionPrefix? = nil,
        droppedProbsBF16: UnsafeMutablePointer<UInt16>? = nil
    ) {
        forwardHeads(
            out: out, qkv: qkv, shape: shape, probs: probs, dropout: dropout, seed: seed, droppedProbs: droppedProbs,
            droppedBF16: droppedProbsBF16, prefix: prefix, firstQueries: true)
    }

    /// Backward of `forward`: accumulates into `dqkv` (`[M, 3C]`, zero it first).
    /// `probs` are the probabilities saved by the forward; dropout must match the forward's. With
    /// `droppedProbs` (saved by the forward) the mask is read from them instead of regenerated:
    /// an element was kept iff its dropped probability is non-zero, or its probability is 0, in
    /// which case its gradient is multiplied by 0 anyway.
    /// With a `prefix`, `dprefix` (`[B, P, 2C]`, overwritten) receives each sequence's gradient of the
    /// prefix keys (columns `0..<C`) and values (`C..<2C`): sequences share the prefix, so the caller sums
    /// them (kept apart here so that heads of different sequences run in parallel without sharing a sum).
    public static func backward(
        dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        probs: UnsafePointer<Float>, shape: AttentionShape, dropout: Float = 0, seed: UInt64 = 0,
        droppedProbs: UnsafePointer<Float>? = nil, prefix: AttentionPrefix? = nil,
        dprefix: UnsafeMutablePointer<Float>? = nil, droppedProbsBF16: UnsafePointer<UInt16>? = nil
    ) {
        backwardHeads(
            dqkv: dqkv, dout: dout, qkv: qkv, probs: probs, shape: shape, dropout: dropout, seed: seed,
            droppedProbs: droppedProbs, droppedBF16: droppedProbsBF16, prefix: prefix, dprefix: dprefix,
            firstQueries: false)
    }

    /// Backward of `forwardFirstQueries`: accumulates into `dqkv` (`[M, 3C]`, zero it first) from
    /// `dout` `[B, C]`: the first rows' queries and every row's keys and values receive gradient.
    /// `probs` (and `droppedProbs`, when the forward kept them) as saved by the forward; `dprefix` as for
    /// `backward`.
    public static func backwardFirstQueries(
        dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        probs: UnsafePointer<Float>, shape: AttentionShape, dropout: Float = 0, seed: UInt64 = 0,
        droppedProbs: UnsafePointer<Float>? = nil, prefix: AttentionPrefix? = nil,
        dprefix: UnsafeMutablePointer<Float>? = nil, droppedProbsBF16: UnsafePointer<UInt16>? = nil
    ) {
        backwardHeads(
            dqkv: dqkv, dout: dout, qkv: qkv, probs: probs, shape: shape, dropout: dropout, seed: seed,
            droppedProbs: droppedProbs, droppedBF16: droppedProbsBF16, prefix: prefix, dprefix: dprefix,
            firstQueries: true)
    }

    /// The dropout stream of a task's sequence and where its head's first query row starts in it
    /// (row 0 of the head's `[T, P + T]` block, also when only the first query runs).
    static func dropoutStream(_ task: HeadTask, _ shape: AttentionShape, seed: UInt64) -> (UInt64, UInt64) {
        (
            CounterRNG.hash(seed: seed, index: shape.dropoutKeys[task.b]),
            UInt64(task.h * task.t * (task.t + shape.prefixLength))
        )
    }

    /// Where a head's queries, probabilities and outputs live: every token's query (`T` rows of `P + T`
    /// probabilities, outputs in the token rows), or the first token's only (one row of `P + T`
    /// probabilities, the output in row b of a `[B, C]` buffer).
    static func layout(_ task: HeadTask, _ shape: AttentionShape, firstQueries: Bool) -> (
        queries: Int, probOffset: Int, outOffset: Int
    ) {
        let keys = task.t + shape.prefixLength
        if firstQueries {
            return (
                1, shape.firstQueryProbOffsets[task.b] + task.h * keys,
                task.b * shape.channels + task.h * shape.headDim
            )
        }
        return (task.t, shape.probOffsets[task.b] + task.h * task.t * keys, task.outOffset)
    }

    private static func forwardHeads(
        out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, shape: AttentionShape,
        probs: UnsafeMutablePointer<Float>?, dropout: Float, seed: UInt64, droppedProbs: UnsafeMutablePointer<Float>?,
        droppedBF16: UnsafeMutablePointer<UInt16>?, prefix: AttentionPrefix?, firstQueries: Bool
    ) {
        let c = shape.channels
        let d = shape.headDim
        let scale = 1 / Float(d).squareRoot()
        let np = shape.prefixLength
        precondition((prefix?.length ?? 0) == np, "the prefix must have shape.prefixLength rows")
        let maxKeys = shape.maxLength + np
        let perHead = (firstQueries ? 1 : shape.maxLength) * maxKeys
        // The probabilities (without `probs`) and the dropped ones (without `droppedProbs`) each get a half.
        forEachHead(shape, scratchCount: 2 * perHead) { task, scratch in
            let t = task.t
            let (nq, probOffset, outOffset) = layout(task, shape, firstQueries: firstQueries)
            if t == 0 {
                if firstQueries { (out + outOffset).update(repeating: 0, count: d) }
                return
            }
            let kt = np + t
            let p = probs.map { $0 + probOffset } ?? scratch
            let q = qkv + task.qkvOffset
            // S = Q·[K_prefix; K]ᵀ `[nq, P + T]` (scaled inside the softmax)
            if let prefix {
                GEMM.serial(
                    .none, .transpose, m: nq, n: np, k: d, alpha: prefix.keyScale(task.b), a: q, lda: 3 * c,
                    b: prefix.rows + task.h * d, ldb: prefix.rowStride, c: p, ldc: kt)
            }
            GEMM.serial(.none, .transpose, m: nq, n: t, k: d, a: q, lda: 3 * c, b: q + c, ldb: 3 * c, c: p + np, ldc: kt)
            for i in 0..<nq { Softmax.row(out: p + i * kt, x: p + i * kt, cols: kt, scale: scale) }
            var weights = UnsafePointer(p)
            if dropout > 0 {
                let target = droppedProbs.map { $0 + probOffset } ?? scratch + perHead
                let (stream, start) = dropoutStream(task, shape, seed: seed)
                Dropout.serial(out: target, x: p, count: nq * kt, p: dropout, seed: stream, offset: start)
                weights = UnsafePointer(target)
                if let droppedBF16 { sa_f32_to_bf16(target, droppedBF16 + probOffset, nq * kt) }
            }
            // O_h = P_prefix·V_prefix + P·V_h
            if let prefix {
                GEMM.serial(
                    .none, .none, m: nq, n: d, k: np, alpha: prefix.valueScale(task.b), a: weights, lda: kt,
                    b: prefix.rows + c + task.h * d, ldb: prefix.rowStride, c: out + outOffset, ldc: c)
            }
            GEMM.serial(
                .none, .none, m: nq, n: d, k: t, a: weights + np, lda: kt, b: q + 2 * c, ldb: 3 * c,
                beta: prefix == nil ? 0 : 1, c: out + outOffset, ldc: c)
        }
    }

    private static func backwardHeads(
        dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        probs: UnsafePointer<Float>, shape: AttentionShape, dropout: Float, seed: UInt64,
        droppedProbs: UnsafePointer<Float>?, droppedBF16: UnsafePointer<UInt16>?, prefix: AttentionPrefix?,
        dprefix: UnsafeMutablePointer<Float>?, firstQueries: Bool
    ) {
        let c = shape.channels
        let d = shape.headDim
        let scale = 1 / Float(d).squareRoot()
        let np = shape.prefixLength
        precondition((prefix?.length ?? 0) == np, "the prefix must have shape.prefixLength rows")
        let maxKeys = shape.maxLength + np
        let perHead = (firstQueries ? 1 : shape.maxLength) * maxKeys
        forEachHead(shape, scratchCount: 2 * perHead) { task, scratch in
            let t = task.t
            // This sequence's prefix gradient, head h's columns: keys at h·D, values at C + h·D.
            let dPrefix = dprefix.map { $0 + task.b * np * 2 * c + task.h * d }
            if t == 0 {
                if let dPrefix {
                    for r in 0..<np {
                        (dPrefix + r * 2 * c).update(repeating: 0, count: d)
                        (dPrefix + r * 2 * c + c).update(repeating: 0, count: d)
                    }
                }
                return
            }
            let kt = np + t
            let (nq, probOffset, outOffset) = layout(task, shape, firstQueries: firstQueries)
            let dp = scratch
            let dropped = scratch + perHead
            let p = probs + probOffset
            let q = qkv + task.qkvOffset
            let dq = dqkv + task.qkvOffset
            let dO = dout + outOffset
            var weights = p
            let savedMask = droppedProbs != nil || droppedBF16 != nil
            if dropout > 0 {
                if let saved = droppedProbs {
                    weights = saved + probOffset
                } else if let saved = droppedBF16 {
                    sa_bf16_to_f32(saved + probOffset, dropped, nq * kt)
                    weights = UnsafePointer(dropped)
                } else {
                    let (stream, start) = dropoutStream(task, shape, seed: seed)
                    Dropout.serial(out: dropped, x: p, count: nq * kt, p: dropout, seed: stream, offset: start)
                    weights = UnsafePointer(dropped)
                }
            }
            // dV_h += P'ᵀ·dO_h (the prefix's part into its own rows)
            GEMM.serial(
                .transpose, .none, m: t, n: d, k: nq, a: weights + np, lda: kt, b: dO, ldb: c, beta: 1, c: dq + 2 * c,
                ldc: 3 * c)
            if let dPrefix {
                GEMM.serial(
                    .transpose, .none, m: np, n: d, k: nq, a: weights, lda: kt, b: dO, ldb: c, c: dPrefix + c,
                    ldc: 2 * c)
            }
            // dP' = dO_h·[V_prefix; V_h]ᵀ
            if let prefix {
                GEMM.serial(
                    .none, .transpose, m: nq, n: np, k: d, alpha: prefix.valueScale(task.b), a: dO, lda: c,
                    b: prefix.rows + c + task.h * d, ldb: prefix.rowStride, c: dp, ldc: kt)
            }
            GEMM.serial(
                .none, .transpose, m: nq, n: t, k: d, a: dO, lda: c, b: q + 2 * c, ldb: 3 * c, c: dp + np, ldc: kt)
            if dropout > 0 {
                if savedMask {
                    // A kept probability stays non-zero in bf16 too (same exponent range; a subnormal one,
                    // read as 0, carries no gradient worth the name).
                    let keep = 1 / (1 - dropout)
                    for i in 0..<(nq * kt) { dp[i] = weights[i] != 0 || p[i] == 0 ? dp[i] * keep : 0 }
                } else {
                    let (stream, start) = dropoutStream(task, shape, seed: seed)
                    Dropout.serial(out: dp, x: dp, count: nq * kt, p: dropout, seed: stream, offset: start)
                }
            }
            // dS = softmax'(dP) · scale
            for i in 0..<nq {
                Softmax.rowBackward(dx: dp + i * kt, dout: dp + i * kt, probs: p + i * kt, cols: kt, scale: scale)
            }
            // dQ_h += dS·[K_prefix; K_h] ; dK_h += dSᵀ·Q_h (the prefix's part into its own rows)
            if let prefix {
                GEMM.serial(
                    .none, .none, m: nq, n: d, k: np, alpha: prefix.keyScale(task.b), a: dp, lda: kt,
                    b: prefix.rows + task.h * d, ldb: prefix.rowStride, beta: 1, c: dq, ldc: 3 * c)
            }
            GEMM.serial(
                .none, .none, m: nq, n: d, k: t, a: dp + np, lda: kt, b: q + c, ldb: 3 * c, beta: 1, c: dq, ldc: 3 * c)
            GEMM.serial(
                .transpose, .none, m: t, n: d, k: nq, a: dp + np, lda: kt, b: q, ldb: 3 * c, beta: 1, c: dq + c,
                ldc: 3 * c)
            if let dPrefix {
                GEMM.serial(
                    .transpose, .none, m: np, n: d, k: nq, a: dp, lda: kt, b: q, ldb: 3 * c, c: dPrefix, ldc: 2 * c)
            }
        }
    }
}
