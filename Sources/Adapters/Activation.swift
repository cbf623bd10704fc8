import Foundation
import Kernels

/// Element-wise adapter activations and their derivatives, on the small `[rows, bottleneck]`
/// tensors of an adapter (3,200 × 48 at roberta-base batch 32), where scalar loops are plenty.
public enum ActivationKernel {
    /// `out = act(x)`; `out` may equal `x`.
    public static func forward(_ kind: AdapterActivation, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int) {
        switch kind {
        case .relu:
            for i in 0..<count { out[i] = max(x[i], 0) }
        case .swish, .silu:
            for i in 0..<count { out[i] = x[i] / (1 + Foundation.exp(-x[i])) }
        case .gelu:
            GELU.forward(.erf, out: out, x: x, count: count)
        case .geluNew:
            GELU.forward(.tanh, out: out, x: x, count: count)
        case .tanh:
            Tanh.forward(out: out, x: x, count: count)
        }
    }

    /// `dx = dout · act'(x)` from the pre-activation `x` (overwrites `dx`; `dx` may equal `dout`).
    public static func backward(
        _ kind: AdapterActivation, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int
    ) {
        switch kind {
        case .relu:
            // PyTorch's ReLU passes no gradient at exactly 0.
            for i in 0..<count { dx[i] = x[i] > 0 ? dout[i] : 0 }
        case .swish, .silu:
            for i in 0..<count {
                let s = 1 / (1 + Foundation.exp(-x[i]))
                dx[i] = dout[i] * s * (1 + x[i] * (1 - s))
            }
        case .gelu:
            GELU.backward(.erf, dx: dx, dout: dout, x: x, count: count)
        case .geluNew:
            GELU.backward(.tanh, dx: dx, dout: dout, x: x, count: count)
        case .tanh:
            for i in 0..<count {
                let t = Foundation.tanh(x[i])
                dx[i] = dout[i] * (1 - t * t)
            }
        }
    }
}
