import CVectorKernels
import Kernels
import TestSupport
import Testing

/// bf16 rounding of a float as the IEEE rule and PyTorch's `.to(torch.bfloat16)` do it: to nearest,
/// ties to even, written independently of the kernel (on the integer bits).
private func referenceBF16(_ x: Float) -> Float {
    if x.isNaN { return x }
    let bits = x.bitPattern
    let lower = bits & 0xffff
    var upper = bits >> 16
    if lower > 0x8000 || (lower == 0x8000 && upper & 1 == 1) { upper += 1 }
    return Float(bitPattern: upper << 16)
}

private func rounded(_ xs: [Float]) -> [Float] { xs.map(referenceBF16) }

private func bf16Bits(_ xs: [Float]) -> [UInt16] {
    var out = [UInt16](repeating: 0, count: xs.count)
    xs.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { sa_f32_to_bf16(x.baseAddress!, $0.baseAddress!, xs.count) }
    }
    return out
}

/// Row-major `op(A)·op(B)` in Double.
private func product(
    _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, a: [Float], b: [Float]
) -> (values: [Double], magnitudes: [Double]) {
    var out = [Double](repeating: 0, count: m * n)
    var mag = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            var t = 0.0
            for p in 0..<k {
                let av = Double(ta == .none ? a[i * k + p] : a[p * m + i])
                let bv = Double(tb == .none ? b[p * n + j] : b[j * k + p])
                s += av * bv
                t += abs(av * bv)
            }
            out[i * n + j] = s
            mag[i * n + j] = t
        }
    }
    return (out, mag)
}

@Suite("bf16", .serialized)  // skinnyKernelsWithBF16Weights switches a process-wide kernel choice
struct BF16Tests {
    static let oneDNN = BF16Support.oneDNNLinked
    static let skipReason: Comment =
        "oneDNN is not linked into this build (install libdnnl-dev, as scripts/setup.sh does): bf16 GEMMs skipped"

    @Test func roundingIsToNearestEvenAndKeepsSpecials() {
        // 1 + 2⁻⁸ lies exactly between two bf16 values: ties go to the even one (1.0); a hair above rounds up.
        #expect(BF16.round(1 + 0x1p-8) == 1)
        #expect(BF16.round(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(BF16.round(1 + 3 * 0x1p-8) == 1 + 0x1p-6)  // tie, odd below: up to even
        #expect(BF16.round(.infinity) == .infinity)
        #expect(BF16.round(-.infinity) == -.infinity)
        #expect(BF16.round(.nan).isNaN)
        // A NaN whose payload sits only in the dropped half must not become an infinity.
        #expect(BF16.round(Float(bitPattern: 0x7f80_0001)).isNaN)
        #expect(BF16.round(Float.greatestFiniteMagnitude) == .infinity)  // rounds past the largest bf16
        let xs = randomFloats(4099, seed: 9, scale: 300) + [0, -0.0, 1e-40, -3e-39]
        let bits = bf16Bits(xs)
        var widened = [Float](repeating: 0, count: xs.count)
        bits.withUnsafeBufferPointer { b in
            widened.withUnsafeMutableBufferPointer { sa_bf16_to_f32(b.baseAddress!, $0.baseAddress!, xs.count) }
        }
        #expect(widened.map(\.bitPattern) == rounded(xs).map(\.bitPattern))
        // Relative error of a normal value at most 2⁻⁸ (half a unit in the last of 7 fraction bits).
        for x in xs where x.isNormal { #expect(abs(referenceBF16(x) - x) <= abs(x) * 0x1p-8) }
    }

    /// oneDNN's bf16 GEMM multiplies the bf16 operands exactly and accumulates in fp32: against a
    /// Double product of the same rounded operands the error is fp32 accumulation's, ≤ k·2⁻²³·Σ|a·b|.
    @Test(
        .enabled(if: BF16Tests.oneDNN, BF16Tests.skipReason),
        arguments: [(1, 1, 1), (5, 7, 3), (70, 33, 129), (300, 130, 70), (8, 700, 600), (513, 96, 64)])
    func gemmMatchesTheRoundedProduct(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for ta in [Transpose.none, .transpose] {
            for tb in [Transpose.none, .transpose] {
                for accumulate in [false, true] {
                    let a = randomFloats(m * k, seed: 1)
                    let b = randomFloats(k * n, seed: 2)
                    let c0 = randomFloats(m * n, seed: 3)
                    let (exact, mag) = product(ta, tb, m: m, n: n, k: k, a: rounded(a), b: rounded(b))
                    let ah = bf16Bits(a)
                    let bh = bf16Bits(b)
                    var c = c0
                    ah.withUnsafeBufferPointer { ap in
                        bh.withUnsafeBufferPointer { bp in
                            c.withUnsafeMutableBufferPointer { cp in
                                BF16GEMM.multiply(
                                    ta, tb, m: m, n: n, k: k, a: ap.baseAddress!, lda: ta == .none ? k : m,
                                    b: bp.baseAddress!,
                                    ldb: tb == .none ? n : k, accumulate: accumulate, c: cp.baseAddress!, ldc: n)
                            }
                        }
                    }
                    var worst = 0.0
                    for i in 0..<(m * n) {
                        let want = exact[i] + (accumulate ? Double(c0[i]) : 0)
                        let bound = Double(k + 2) * 0x1p-23 * (mag[i] + abs(Double(c0[i]))) + 1e-30
                        worst = max(worst, abs(Double(c[i]) - want) / bound)
                    }
                    #expect(
                        worst <= 1,
                        "ta=\(ta) tb=\(tb) accumulate=\(accumulate): error \(worst)× the fp32 accumulation bound")
                }
            }
        }
    }

    /// The batch-1 kernels with bf16 weights: the widening one multiplies fp32 X by the exact bf16
    /// weights; the `vdpbf16ps` one (AVX512-BF16 CPUs) rounds X to bf16 as well.
    @Test(arguments: [(1, 64, 64), (3, 37, 65), (16, 200, 384), (9, 19, 1537)])
    func skinnyKernelsWithBF16Weights(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let x = randomFloats(m * k, seed: 4)
        let w = randomFloats(n * k, seed: 5)
        let bias = randomFloats(n, seed: 6)
        let wh = bf16Bits(w)
        let saved = SkinnyGEMMSwitch.bf16Dot
        defer { SkinnyGEMMSwitch.bf16Dot = saved }
        let variants = [false] + (sa_skinny_bf16_dot_available() != 0 ? [true] : [])
        for dot in variants {
            SkinnyGEMMSwitch.bf16Dot = dot
            let (exact, mag) = product(.none, .transpose, m: m, n: n, k: k, a: dot ? rounded(x) : x, b: rounded(w))
            var out = [Float](repeating: 0, count: m * n)
            x.withUnsafeBufferPointer { xp in
                wh.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in
                        out.withUnsafeMutableBufferPointer { op in
                            Linear.forward(
                                out: op.baseAddress!, x: xp.baseAddress!, weight: .bf16(wp.baseAddress!),
                                bias: bp.baseAddress!,
                                rows: m, inFeatures: k, outFeatures: n)
                        }
                    }
                }
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    let want = exact[i * n + j] + Double(bias[j])
                    let bound = Double(k + 2) * 0x1p-23 * (mag[i * n + j] + abs(Double(bias[j]))) + 1e-30
                    worst = max(worst, abs(Double(out[i * n + j]) - want) / bound)
                }
            }
            #expect(worst <= 1, "dot=\(dot): error \(worst)× the bound")
        }
    }

    /// `Linear` in bf16 against `Linear` in fp32 on the same values: forward (also added to C), dx and dW. The documented
    /// tolerance per element is 2⁻⁶·Σ|u·v| (+ fp32 accumulation): each of the two operands of a product
    /// is rounded by at most 2⁻⁸ relative (≤ 2⁻⁷ for the product, doubled for headroom), whatever the data.
    @Test(
        .enabled(if: BF16Tests.oneDNN, BF16Tests.skipReason), arguments: [(1, 64, 48), (20, 96, 160), (300, 384, 128)])
    func linearForwardAndBackwardAgainstFP32(shape: (Int, Int, Int)) {
        let (rows, inF, outF) = shape
        let x = randomFloats(rows * inF, seed: 7)
        let w = randomFloats(outF * inF, seed: 8, scale: 0.1)
        let bias = randomFloats(outF, seed: 9)
        let dy = randomFloats(rows * outF, seed: 10)
        let wh = bf16Bits(w)
        let prior = randomFloats(rows * outF, seed: 11)
        func run(_ bf16: Bool) -> (y: [Float], added: [Float], dx: [Float], dw: [Float], db: [Float]) {
            var y = [Float](repeating: 0, count: rows * outF)
            var added = prior
            var dx = [Float](repeating: 0, count: rows * inF)
            var dw = [Float](repeating: 0, count: outF * inF)
            var db = [Float](repeating: 0, count: outF)
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    wh.withUnsafeBufferPointer { whp in
                        let weight: WeightMatrix = bf16 ? .bf16(whp.baseAddress!) : .fp32(wp.baseAddress!)
                        Linear.forward(
                            out: &y, x: xp.baseAddress!, weight: weight, bias: bias, rows: rows, inFeatures: inF,
                            outFeatures: outF)
                        Linear.forward(
                            out: &added, x: xp.baseAddress!, weight: weight, bias: bias, rows: rows, inFeatures: inF,
                            outFeatures: outF, accumulate: true)
                        Linear.backward(
                            dx: &dx, dweight: &dw, dbias: &db, dout: dy, x: xp.baseAddress!, weight: weight, rows: rows,
                            inFeatures: inF, outFeatures: outF)
                    }
                }
            }
            return (y, added, dx, dw, db)
        }
        let f = run(false)
        let h = run(true)
        let fwd = product(.none, .transpose, m: rows, n: outF, k: inF, a: x, b: w).magnitudes
        let bwdX = product(.none, .none, m: rows, n: inF, k: outF, a: dy, b: w).magnitudes
        let bwdW = product(.transpose, .none, m: outF, n: inF, k: rows, a: dy, b: x).magnitudes
        func within(_ a: [Float], _ b: [Float], _ mag: [Double], _ k: Int) -> Double {
            zip(zip(a, b), mag).map { pair, m in
                abs(Double(pair.0 - pair.1)) / (0x1p-6 * m + Double(k) * 0x1p-22 * m + 1e-30)
            }.max() ?? 0
        }
        #expect(within(f.y, h.y, fwd, inF) <= 1, "forward")
        #expect(within(f.added, h.added, fwd, inF) <= 1, "forward added to C")
        #expect(maxAbsDifference(zip(h.added, prior).map { $0 - $1 }, h.y) <= 1e-5, "accumulate adds the same result")
        #expect(within(f.dx, h.dx, bwdX, outF) <= 1, "dx")
        #expect(within(f.dw, h.dw, bwdW, rows) <= 1, "dW")
        #expect(f.db == h.db, "the bias gradient is fp32 in both")
        // The same forward from x already rounded to bf16, where Linear takes it so.
        if Linear.takesBF16Input(rows: rows, inFeatures: inF) {
            let xh = bf16Bits(x)
            var y = [Float](repeating: 0, count: rows * outF)
            wh.withUnsafeBufferPointer { whp in
                Linear.forward(
                    out: &y, xBF16: xh, weight: whp.baseAddress!, bias: bias, rows: rows, inFeatures: inF,
                    outFeatures: outF)
            }
            #expect(y == h.y, "x rounded first gives the same product")
        }
        // And bf16 is not silently fp32: the forward differs somewhere.
        #expect(f.y != h.y)
    }
}
