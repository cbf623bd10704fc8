import CVectorKernels

/// `C = X·Wᵀ (+ C)` for few rows of `X`: the batch-1 inference case.
///
/// With 16 tokens a GEMM is bound by reading the weights, and OpenBLAS copies ("packs") every
/// weight panel before using it. Here `X` (a few KB) is packed instead, transposed into 16 lanes
/// once per call, and `sa_skinny_gemm` streams each weight straight from its row-major row into
/// broadcast FMAs that advance all rows of `X` at once, so the weights cross the memory bus once
/// and are never copied. Columns of `C` are split over the workers in chunks of weight rows, each
/// read as 8 long streams (see `sa_skinny_gemm`).
enum SkinnyGEMM {
    /// Rows of `X` up to which this kernel is used: one 16-lane vector holds a column of `X`.
    static let maxRows = 16

    /// Whether bf16 weights go through `vdpbf16ps` (AVX512-BF16) rather than being widened to fp32.
    /// Tests switch it off to check the widening kernel on the same machine.
    nonisolated(unsafe) static var bf16Dot = sa_skinny_bf16_dot_available() != 0

    /// Whether `C = X·Wᵀ` with `m` rows and inner size `k` takes this kernel: below 64 the packing
    /// costs more than the weights it saves reading.
    static func applies(m: Int, k: Int) -> Bool { m <= maxRows && k >= 64 }

    /// `C = act((C) + bias + X·Wᵀ)`, the bias and the GELU (both optional) applied chunk by chunk.
    /// - Parameters: c `[m, n]` (ldc), x `[m, k]` (ldx), w `[n, k]` (ldw), bias `[n]`; m ≤ `maxRows`.
    static func multiply(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<Float>, ldw: Int,
        bias: UnsafePointer<Float>? = nil, accumulate: Bool, activation: GELUForm? = nil,
        c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) {
        multiply(m: m, n: n, k: k, x: x, ldx: ldx, w: .fp32(w), ldw: ldw, bias: bias, accumulate: accumulate, activation: activation, c: c, ldc: ldc)
    }

    /// The same with the weights in fp32 or bf16 (bf16: half the bytes streamed, widened in L1).
    static func multiply(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: WeightMatrix, ldw: Int,
        bias: UnsafePointer<Float>? = nil, accumulate: Bool, activation: GELUForm? = nil,
        c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) {
        precondition(m <= maxRows, "SkinnyGEMM takes at most \(maxRows) rows")
        // Cache-line aligned: every FMA step loads one 64-byte column of it, and a misaligned
        // buffer would split each of those loads over two lines.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (k + (k + 1) / 2) * 16 * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let xt = raw.bindMemory(to: Float.self, capacity: k * 16)
        sa_pack_transposed16(m, k, x, ldx, xt)
        // bf16 weights on a CPU with AVX512-BF16: X as bf16 pairs for `vdpbf16ps`.
        var pairs: UnsafeMutablePointer<UInt32>? = nil
        if case .bf16 = w, Self.bf16Dot {
            pairs = (raw + k * 16 * MemoryLayout<Float>.stride).bindMemory(to: UInt32.self, capacity: (k + 1) / 2 * 16)
            sa_pack_pairs_bf16(k, xt, pairs)
        }
        // fp32: chunks of at most ~200 KB of weights (80 rows at k = 768), taken by whichever worker is
        // free: equal halves left one core idle whenever the other ran slower (measured 5 % of the
        // time spent waiting in the pool). Their number is a multiple of the worker count, so a
        // small matrix (MiniLM's 384 × 384) is not cut into 3 chunks for 2 workers.
        // bf16 (`vdpbf16ps`): one contiguous range per worker. With the fp32 chunks, whose ranges the two
        // workers interleave, roberta-base's bf16 pass ran at 8.9 or 11.5 ms depending on the process;
        // with one range each, 7.8–9.2 ms in every run (BENCHMARKS.md).
        let workers = Threading.workerCount
        let chunkRowCap = max(8, (65_536 / max(k, 1)) / 8 * 8)
        let wanted = pairs != nil ? workers : ((n + chunkRowCap - 1) / chunkRowCap + workers - 1) / workers * workers
        let rowsPerChunk = max(8, ((n + wanted - 1) / wanted + 7) / 8 * 8)
        let chunks = (n + rowsPerChunk - 1) / rowsPerChunk
        Threading.parallelFor(chunks) { chunk in
            let lo = chunk * rowsPerChunk
            let hi = min(n, lo + rowsPerChunk)
            switch w {
            case .fp32(let w): sa_skinny_gemm(m, lo, hi, k, xt, w, ldw, bias, c, ldc, accumulate ? 1 : 0)
            case .bf16(let w):
                if let pairs {
                    sa_skinny_gemm_bf16_dot(m, lo, hi, k, pairs, w, ldw, bias, c, ldc, accumulate ? 1 : 0)
                } else {
                    sa_skinny_gemm_bf16(m, lo, hi, k, xt, w, ldw, bias, c, ldc, accumulate ? 1 : 0)
                }
            }
            if let activation {
                for i in 0..<m { sa_gelu_forward(activation.rawValue, c + i * ldc + lo, c + i * ldc + lo, hi - lo) }
            }
        }
    }
}

/// Test hook: which batch-1 kernel bf16 weights take (`vdpbf16ps` or widening), on CPUs that have both.
public enum SkinnyGEMMSwitch {
    public static var bf16Dot: Bool {
        get { SkinnyGEMM.bf16Dot }
        set { SkinnyGEMM.bf16Dot = newValue && sa_skinny_bf16_dot_available() != 0 }
    }
}
