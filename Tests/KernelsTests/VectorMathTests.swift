import Foundation
import Kernels
import Testing

@Suite("Vector math")
struct VectorMathTests {
    @Test func expErfTanhMatchLibm() {
        var maxExpRel: Float = 0
        var maxErf: Float = 0
        var maxTanh: Float = 0
        var x: Float = -30
        while x < 30 {
            var v = FloatVector(repeating: 0)
            for l in 0..<16 { v[l] = x + Float(l) * 0.0031 }
            let e = VectorMath.exp(v)
            let r = VectorMath.erf(v)
            let t = VectorMath.tanh(v)
            for l in 0..<16 {
                let xv = Double(v[l])
                maxExpRel = max(maxExpRel, Float(abs(Double(e[l]) - Foundation.exp(xv)) / Foundation.exp(xv)))
                maxErf = max(maxErf, Float(abs(Double(r[l]) - Foundation.erf(xv))))
                maxTanh = max(maxTanh, Float(abs(Double(t[l]) - Foundation.tanh(xv))))
            }
            x += 0.0517
        }
        #expect(maxExpRel < 5e-7)
        #expect(maxErf < 5e-7)
        #expect(maxTanh < 5e-7)
        var big = FloatVector(repeating: -200)
        big[1] = 100
        let e = VectorMath.exp(big)
        #expect(e[0] == 0)
        #expect(e[1].isFinite)
    }
}
