import CVectorKernels
import Foundation
import Testing

/// The polynomial exp/erf/tanh of CVectorKernels against libm over [-30, 30].
@Suite("Vector math")
struct VectorMathTests {
    @Test func expErfTanhMatchLibm() {
        let xs = stride(from: Float(-30), to: 30, by: 0.0137).map { $0 }
        var e = [Float](repeating: 0, count: xs.count)
        var r = e
        var t = e
        sa_exp(&e, xs, xs.count)
        sa_erf(&r, xs, xs.count)
        sa_tanh_forward(&t, xs, xs.count)
        var maxExpRel = 0.0, maxErf = 0.0, maxTanh = 0.0
        for (i, x) in xs.enumerated() {
            let v = Double(x)
            maxExpRel = max(maxExpRel, abs(Double(e[i]) - Foundation.exp(v)) / Foundation.exp(v))
            maxErf = max(maxErf, abs(Double(r[i]) - Foundation.erf(v)))
            maxTanh = max(maxTanh, abs(Double(t[i]) - Foundation.tanh(v)))
        }
        #expect(maxExpRel < 5e-7)
        #expect(maxErf < 5e-7)
        #expect(maxTanh < 5e-7)
        var edge = [Float](repeating: 1, count: 2)
        sa_exp(&edge, [-200, 100], 2)
        #expect(edge[0] == 0)
        #expect(edge[1].isFinite)
    }
}
