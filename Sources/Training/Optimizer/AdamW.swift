import Foundation
import Kernels

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, the HF Trainer's default): decoupled
/// weight decay applied first (`p ← p·(1 − lr·λ)`), bias-corrected moments, and `ε` added after
/// dividing `√v` by `√(1 − β₂ᵗ)`. Tensors flagged `decay: false` (biases, LayerNorm weights) skip
/// the decay, as the Trainer's parameter groups do.
public struct AdamW: Codable, Sendable, Equatable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    /// Updates done so far (PyTorch's `state["step"]`).
    public var step = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// One update of every tensor in `parameters` with learning rate `lr`.
    public mutating func update(_ parameters: ParameterSet, learningRate lr: Float) {
        update([parameters], learningRate: lr)
    }

    /// One update of every tensor in several sets — models trained together (a Parallel's branches) — as
    /// one optimizer over all of them: one step count, so one bias correction.
    public mutating func update(_ sets: [ParameterSet], learningRate lr: Float) {
        step += 1
        let t = Double(step)
        let bc1 = Float(1 - pow(Double(beta1), t))
        let bc2Sqrt = Float((1 - pow(Double(beta2), t)).squareRoot())
        let stepSize = lr / bc1
        let (b1, b2, eps, wd) = (beta1, beta2, epsilon, weightDecay)
        for e in sets.flatMap(\.entries) {
            let p = e.value
            let g = e.grad
            let m = e.firstMoment
            let v = e.secondMoment
            let decay: Float = e.decay ? 1 - lr * wd : 1
            Threading.parallelRanges(e.count, minChunk: 1 << 15) { range in
                for i in range {
                    p[i] *= decay
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    p[i] -= stepSize * m[i] / (v[i].squareRoot() / bc2Sqrt + eps)
                }
            }
        }
    }
}

/// Gradient clipping by global norm (`torch.nn.utils.clip_grad_norm_`, HF default max 1.0).
public enum GradientClipping {
    /// Scales all gradients by `maxNorm / (norm + 1e-6)` when that is below 1; returns the norm
    /// before clipping (what the Trainer logs as `grad_norm`).
    @discardableResult
    public static func clip(_ parameters: ParameterSet, maxNorm: Float) -> Float {
        clip([parameters], maxNorm: maxNorm)
    }

    /// Clips several sets by their joint norm, as `clip_grad_norm_` over every trainable tensor of models
    /// trained together (a Parallel's branches: one norm, one coefficient for all).
    @discardableResult
    public static func clip(_ sets: [ParameterSet], maxNorm: Float) -> Float {
        let entries = sets.flatMap(\.entries)
        var total = 0.0
        for e in entries {
            var s = 0.0
            for i in 0..<e.count { s += Double(e.grad[i]) * Double(e.grad[i]) }
            total += s
        }
        let norm = Float(total.squareRoot())
        guard maxNorm > 0 else { return norm }
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for e in entries {
                for i in 0..<e.count { e.grad[i] *= coefficient }
            }
        }
        return norm
    }
}
