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
        precondition(m <= maxRows, "SkinnyGEMM takes at most \(maxRows) rows")
        // Cache-line aligned: every FMA step loads one 64-byte column of it, and a misaligned
        // buffer would split each of those loads over two lines.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: k * 16 * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let xt = raw.bindMemory(to: Float.self, capacity: k * 16)
        sa_pack_transposed16(m, k, x, ldx, xt)
        // Chunks of at most ~200 KB of weights (80 rows at k = 768), taken by whichever worker is
        // free: equal halves left one core idle whenever the other ran slower (measured 5 % of the
        // time spent waiting in the pool). Their number is a multiple of the worker count, so a
        // small matrix (MiniLM's 384 × 384) is not cut into 3 chunks for 2 workers.
        let chunkRowCap = max(8, (65_536 / max(k, 1)) / 8 * 8)
        let workers = Threading.workerCount
        let wanted = ((n + chunkRowCap - 1) / chunkRowCap + workers - 1) / workers * workers
        let rowsPerChunk = max(8, ((n + wanted - 1) / wanted + 7) / 8 * 8)
        let chunks = (n + rowsPerChunk - 1) / rowsPerChunk
        Threading.parallelFor(chunks) { chunk in
            let lo = chunk * rowsPerChunk
            let hi = min(n, lo + rowsPerChunk)
            sa_skinny_gemm(m, lo, hi, k, xt, w, ldw, bias, c, ldc, accumulate ? 1 : 0)
            if let activation {
                for i in 0..<m { sa_gelu_forward(activation.rawValue, c + i * ldc + lo, c + i * ldc + lo, hi - lo) }
            }
        }
    }
}
