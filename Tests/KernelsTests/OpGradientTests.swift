import Foundation
import Kernels
import TestSupport
import Testing

/// Every backward kernel against finite differences of its forward.
@Suite("Backward kernels vs finite differences")
struct OpGradientTests {
    let check = GradientCheck()

    @Test(arguments: [(1, 3, 2), (5, 7, 4), (9, 20, 17)])
    func linear(shape: (Int, Int, Int)) {
        let (rows, inF, outF) = shape
        var x = randomFloats(rows * inF, seed: 1)
        var w = randomFloats(outF * inF, seed: 2)
        var b = randomFloats(outF, seed: 3)
        let gw = randomFloats(rows * outF, seed: 4)
        func run(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: rows * outF)
            out.withPointer { o in
                Linear.forward(out: o, x: x, weight: w, bias: b, rows: rows, inFeatures: inF, outFeatures: outF)
            }
            return out
        }
        var dx = [Float](repeating: 0, count: x.count)
        var dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: b.count)
        dx.withPointer { dxp in
            dw.withPointer { dwp in
                db.withPointer { dbp in
                    Linear.backward(dx: dxp, dweight: dwp, dbias: dbp, dout: gw, x: x, weight: w, rows: rows, inFeatures: inF, outFeatures: outF)
                }
            }
        }
        #expect(check.firstMismatch(dx, check.numerical(&x) { weightedSum(run($0, w, b), gw) }) == nil)
        #expect(check.firstMismatch(dw, check.numerical(&w) { weightedSum(run(x, $0, b), gw) }) == nil)
        #expect(check.firstMismatch(db, check.numerical(&b) { weightedSum(run(x, w, $0), gw) }) == nil)
    }

    @Test(arguments: [(1, 5), (4, 16), (3, 37)])
    func layerNormWithResidual(shape: (Int, Int)) {
        let (rows, c) = shape
        var x = randomFloats(rows * c, seed: 5, scale: 2)
        let res = randomFloats(rows * c, seed: 6)
        var g = randomFloats(c, seed: 7).map { $0 + 1 }
        var bta = randomFloats(c, seed: 8)
        let gw = randomFloats(rows * c, seed: 9)
        func run(_ x: [Float], _ g: [Float], _ bt: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: rows * c)
            out.withPointer { o in
                LayerNorm.forward(out: o, x: x, residual: res, gamma: g, beta: bt, rows: rows, channels: c, eps: 1e-5)
            }
            return out
        }
        var sum = [Float](repeating: 0, count: rows * c)
        var mean = [Float](repeating: 0, count: rows)
        var rstd = [Float](repeating: 0, count: rows)
        var out = [Float](repeating: 0, count: rows * c)
        out.withPointer { o in
            sum.withPointer { s in
                mean.withPointer { m in
                    rstd.withPointer { r in
                        LayerNorm.forward(out: o, x: x, residual: res, sum: s, gamma: g, beta: bta, mean: m, rstd: r, rows: rows, channels: c, eps: 1e-5)
                    }
                }
            }
        }
        #expect(maxAbsDifference(out, run(x, g, bta)) == 0)
        var dx = [Float](repeating: 0, count: x.count)
        var dg = [Float](repeating: 0, count: c)
        var db = [Float](repeating: 0, count: c)
        dx.withPointer { dxp in
            dg.withPointer { dgp in
                db.withPointer { dbp in
                    LayerNorm.backward(dx: dxp, dgamma: dgp, dbeta: dbp, dout: gw, x: sum, gamma: g, mean: mean, rstd: rstd, rows: rows, channels: c)
                }
            }
        }
        #expect(check.firstMismatch(dx, check.numerical(&x) { weightedSum(run($0, g, bta), gw) }) == nil)
        #expect(check.firstMismatch(dg, check.numerical(&g) { weightedSum(run(x, $0, bta), gw) }) == nil)
        #expect(check.firstMismatch(db, check.numerical(&bta) { weightedSum(run(x, g, $0), gw) }) == nil)
    }

    @Test(arguments: [GELUForm.erf, .tanh])
    func gelu(form: GELUForm) {
        var x = randomFloats(53, seed: 10, scale: 4)
        let gw = randomFloats(53, seed: 11)
        func run(_ x: [Float]) -> [Float] {
            var out = x
            out.withPointer { o in GELU.forward(form, out: o, x: x, count: x.count) }
            return out
        }
        var dx = [Float](repeating: 0, count: x.count)
        dx.withPointer { GELU.backward(form, dx: $0, dout: gw, x: x, count: x.count) }
        #expect(check.firstMismatch(dx, check.numerical(&x) { weightedSum(run($0), gw) }) == nil)
        // Forward against the scalar definition.
        let y = run(x)
        for i in x.indices {
            let v = Double(x[i])
            let ref: Double
            switch form {
            case .erf: ref = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            case .tanh:
                let u = (2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)
                ref = 0.5 * v * (1 + tanh(u))
            }
            #expect(abs(Double(y[i]) - ref) < 1e-6)
        }
        // Derivative against its closed form (finite differences in Float resolve only ~1e-2 of it).
        let ones = [Float](repeating: 1, count: x.count)
        var slope = [Float](repeating: 0, count: x.count)
        slope.withPointer { GELU.backward(form, dx: $0, dout: ones, x: x, count: x.count) }
        for i in x.indices {
            let v = Double(x[i])
            let ref: Double
            switch form {
            case .erf:
                ref = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            case .tanh:
                let k = (2 / Double.pi).squareRoot()
                let t = tanh(k * (v + 0.044715 * v * v * v))
                ref = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v)
            }
            #expect(abs(Double(slope[i]) - ref) < 2e-6, "GELU'(\(x[i])) = \(slope[i]), expected \(ref)")
        }
    }

    @Test func tanhAndSoftmax() {
        var x = randomFloats(3 * 21, seed: 12, scale: 3)
        let gw = randomFloats(3 * 21, seed: 13)
        func sm(_ x: [Float]) -> [Float] {
            var out = x
            out.withPointer { o in Softmax.forward(out: o, x: x, rows: 3, cols: 21, scale: 0.7) }
            return out
        }
        let p = sm(x)
        var dx = [Float](repeating: 0, count: x.count)
        dx.withPointer { Softmax.backward(dx: $0, dout: gw, probs: p, rows: 3, cols: 21, scale: 0.7) }
        #expect(check.firstMismatch(dx, check.numerical(&x) { weightedSum(sm($0), gw) }) == nil)
        for r in 0..<3 { #expect(abs(p[r * 21..<(r + 1) * 21].reduce(0, +) - 1) < 1e-6) }

        func th(_ x: [Float]) -> [Float] {
            var out = x
            out.withPointer { o in Tanh.forward(out: o, x: x, count: x.count) }
            return out
        }
        let y = th(x)
        var dt = [Float](repeating: 0, count: x.count)
        dt.withPointer { Tanh.backward(dx: $0, dout: gw, y: y, count: x.count) }
        #expect(check.firstMismatch(dt, check.numerical(&x) { weightedSum(th($0), gw) }) == nil)
    }

    @Test(arguments: [Float(0), 0.3])
    func attention(dropout: Float) {
        let heads = 2
        let d = 4
        let c = heads * d
        let shape = AttentionShape(offsets: [0, 3, 8, 9], heads: heads, headDim: d)
        let m = shape.tokens
        var qkv = randomFloats(m * 3 * c, seed: 14, scale: 1.5)
        let gw = randomFloats(m * c, seed: 15)
        func run(_ qkv: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: m * c)
            var probs = [Float](repeating: 0, count: max(shape.probabilityCount, 1))
            out.withPointer { o in
                probs.withPointer { p in
                    Attention.forward(out: o, qkv: qkv, shape: shape, probs: p, dropout: dropout, seed: 77)
                }
            }
            return out
        }
        var probs = [Float](repeating: 0, count: shape.probabilityCount)
        var out = [Float](repeating: 0, count: m * c)
        out.withPointer { o in
            probs.withPointer { p in Attention.forward(out: o, qkv: qkv, shape: shape, probs: p, dropout: dropout, seed: 77) }
        }
        var dqkv = [Float](repeating: 0, count: qkv.count)
        dqkv.withPointer { Attention.backward(dqkv: $0, dout: gw, qkv: qkv, probs: probs, shape: shape, dropout: dropout, seed: 77) }
        #expect(check.firstMismatch(dqkv, check.numerical(&qkv) { weightedSum(run($0), gw) }) == nil)
        // Tokens of one sequence never see another's: changing sequence 2 leaves sequence 0 alone.
        var other = qkv
        for i in (8 * 3 * c)..<(9 * 3 * c) { other[i] += 1 }
        let a = run(qkv)
        let b = run(other)
        #expect(Array(a[0..<(3 * c)]) == Array(b[0..<(3 * c)]))
    }

    @Test func dropoutMaskIsSeededAndScaled() {
        let n = 20_000
        var x = [Float](repeating: 1, count: n)
        var out = [Float](repeating: 0, count: n)
        out.withPointer { Dropout.forward(out: $0, x: x, count: n, p: 0.25, seed: 9) }
        let kept = out.filter { $0 != 0 }
        // The C kernel draws exactly CounterRNG's stream.
        for i in 0..<n { #expect((out[i] != 0) == Dropout.keeps(seed: 9, index: UInt64(i), p: 0.25)) }
        #expect(abs(Double(kept.count) / Double(n) - 0.75) < 0.02)
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        var again = [Float](repeating: 0, count: n)
        again.withPointer { Dropout.forward(out: $0, x: x, count: n, p: 0.25, seed: 9) }
        #expect(again == out)
        var other = [Float](repeating: 0, count: n)
        other.withPointer { Dropout.forward(out: $0, x: x, count: n, p: 0.25, seed: 10) }
        #expect(other != out)
        // Backward passes gradient exactly where the forward kept.
        let g = randomFloats(n, seed: 3)
        var dx = [Float](repeating: 0, count: n)
        dx.withPointer { Dropout.backward(dx: $0, dout: g, count: n, p: 0.25, seed: 9) }
        for i in 0..<n { #expect((dx[i] == 0) == (out[i] == 0) || g[i] == 0) }
        x[0] = 2
    }

    @Test func crossEntropy() {
        var logits = randomFloats(4 * 3, seed: 16, scale: 2)
        let labels: [Int32] = [0, 2, 1, 2]
        var grad = [Float](repeating: 0, count: logits.count)
        let loss = grad.withPointer { CrossEntropy.forwardBackward(logits: logits, labels: labels, batch: 4, classes: 3, dlogits: $0) }
        func lossOf(_ l: [Float]) -> Double {
            Double(CrossEntropy.forwardBackward(logits: l, labels: labels, batch: 4, classes: 3, dlogits: nil))
        }
        #expect(abs(Double(loss) - lossOf(logits)) < 1e-7)
        #expect(check.firstMismatch(grad, check.numerical(&logits, lossOf)) == nil)
        // Known value: uniform logits give log(classes).
        let uniform = [Float](repeating: 0.5, count: 3)
        let l = CrossEntropy.forwardBackward(logits: uniform, labels: [1], batch: 1, classes: 3, dlogits: nil)
        #expect(abs(l - Float(log(3.0))) < 1e-6)
    }

    @Test func embeddingScatterAdd() {
        let c = 5
        var table = randomFloats(6 * c, seed: 17)
        let pos = randomFloats(4 * c, seed: 18)
        let ids: [Int32] = [3, 1, 3, 5]
        let posIds: [Int32] = [0, 1, 2, 3]
        let gw = randomFloats(4 * c, seed: 19)
        func run(_ t: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: 4 * c)
            t.withUnsafeBufferPointer { tp in
                pos.withUnsafeBufferPointer { pp in
                    ids.withUnsafeBufferPointer { ip in
                        posIds.withUnsafeBufferPointer { qp in
                            out.withPointer { o in
                                Embedding.forward(
                                    out: o,
                                    lookups: [.init(table: tp.baseAddress!, ids: ip.baseAddress!), .init(table: pp.baseAddress!, ids: qp.baseAddress!)],
                                    tokens: 4, channels: c)
                            }
                        }
                    }
                }
            }
            return out
        }
        var dt = [Float](repeating: 0, count: table.count)
        dt.withPointer { Embedding.backward(dtable: $0, ids: ids, dout: gw, tokens: 4, channels: c) }
        #expect(check.firstMismatch(dt, check.numerical(&table) { weightedSum(run($0), gw) }) == nil)
    }
}
