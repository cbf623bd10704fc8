import Kernels
import TestSupport

/// Central finite differences of the scalar `Σ wᵢ·outᵢ` (fixed random weights `w`), computed in
/// float with step `h`; compared with analytic gradients at `atol + rtol·|g|`.
struct GradientCheck {
    let h: Float = 1e-2
    let atol: Float = 2e-3
    let rtol: Float = 2e-2

    /// Numerical gradient of `loss(input)` with respect to every element of `input`.
    func numerical(_ input: inout [Float], _ loss: ([Float]) -> Double) -> [Float] {
        var grad = [Float](repeating: 0, count: input.count)
        for i in input.indices {
            let saved = input[i]
            input[i] = saved + h
            let plus = loss(input)
            input[i] = saved - h
            let minus = loss(input)
            input[i] = saved
            grad[i] = Float((plus - minus) / Double(2 * h))
        }
        return grad
    }

    /// Index of the first element out of tolerance, or nil.
    func firstMismatch(_ analytic: [Float], _ numeric: [Float]) -> (index: Int, analytic: Float, numeric: Float)? {
        guard analytic.count == numeric.count else { return (-1, .nan, .nan) }
        for i in analytic.indices where !(abs(analytic[i] - numeric[i]) <= atol + rtol * abs(numeric[i])) {
            return (i, analytic[i], numeric[i])
        }
        return nil
    }
}

func weightedSum(_ out: [Float], _ w: [Float]) -> Double {
    var s = 0.0
    for i in out.indices { s += Double(out[i]) * Double(w[i]) }
    return s
}

extension Array where Element == Float {
    /// Runs `body` with a mutable base pointer (arrays here are never empty).
    mutating func withPointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
