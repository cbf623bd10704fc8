import Kernels

/// Pointers to one NICE subnet `Linear(in, h) → act → Linear(h, out)` (AdapterHub's `F` or `G`:
/// `….invertible_adapters.NAME.F.0.weight` `[h, in]`, `F.0.bias`, `F.2.weight` `[out, h]`, `F.2.bias`).
public struct SubnetTensors {
    public var w0, b0, w2, b2: UnsafeMutablePointer<Float>

    public init(w0: UnsafeMutablePointer<Float>, b0: UnsafeMutablePointer<Float>, w2: UnsafeMutablePointer<Float>, b2: UnsafeMutablePointer<Float>) {
        self.w0 = w0
        self.b0 = b0
        self.w2 = w2
        self.b2 = b2
    }
}

/// The invertible adapter of MAD-X language adapters (`inv_adapter="nice"`, AdapterHub's
/// `NICECouplingBlock`), applied to the embedding output `x` `[M, C]` split into `x1` (the first ⌊C/2⌋
/// channels) and `x2` (the rest):
///
///     y1 = x1 + F(x2),   y2 = x2 + G(y1),   y = [y1, y2]
///
/// F: `Linear(C − ⌊C/2⌋ → h_F)`, act, `Linear(h_F → ⌊C/2⌋)`; G: `Linear(⌊C/2⌋ → h_G)`, act, `Linear(h_G → C − ⌊C/2⌋)`,
/// `h = ⌊in / inv_adapter_reduction_factor⌋`. A classifier only runs it forwards (the inverse feeds an LM head).
public enum NICECoupling {
    public struct Shape {
        public let channels, split1, split2, hiddenF, hiddenG: Int

        public init(channels c: Int, reductionFactor: Double) {
            channels = c
            split1 = c / 2
            split2 = c - c / 2
            hiddenF = max(1, Int((Double(split2) / reductionFactor).rounded(.down)))
            hiddenG = max(1, Int((Double(split1) / reductionFactor).rounded(.down)))
        }
    }

    /// What the forward pass keeps for the backward pass (caller-owned buffers): `x2` `[M, split2]`,
    /// `y1` `[M, split1]`, F's and G's pre-activations and activations `[M, h]`.
    public struct Saved {
        public var x2, y1, preF, actF, preG, actG: UnsafeMutablePointer<Float>

        public init(
            x2: UnsafeMutablePointer<Float>, y1: UnsafeMutablePointer<Float>, preF: UnsafeMutablePointer<Float>,
            actF: UnsafeMutablePointer<Float>, preG: UnsafeMutablePointer<Float>, actG: UnsafeMutablePointer<Float>
        ) {
            self.x2 = x2
            self.y1 = y1
            self.preF = preF
            self.actF = actF
            self.preG = preG
            self.actG = actG
        }
    }

    /// `x` `[M, C]` ← the coupling of `x`, in place. `scratch` needs `M·max(split1, split2)` floats.
    public static func forward(
        x: UnsafeMutablePointer<Float>, rows m: Int, shape s: Shape, f: SubnetTensors, g: SubnetTensors,
        activation: AdapterActivation, saved: Saved, scratch: UnsafeMutablePointer<Float>
    ) {
        let c = s.channels
        for r in 0..<m {
            (saved.x2 + r * s.split2).update(from: x + r * c + s.split1, count: s.split2)
            (saved.y1 + r * s.split1).update(from: x + r * c, count: s.split1)
        }
        // y1 = x1 + F(x2)
        subnet(out: scratch, x: saved.x2, t: f, pre: saved.preF, act: saved.actF, rows: m, inFeatures: s.split2, hidden: s.hiddenF, outFeatures: s.split1, activation: activation)
        Residual.accumulate(into: saved.y1, scratch, count: m * s.split1)
        // y2 = x2 + G(y1)
        subnet(out: scratch, x: saved.y1, t: g, pre: saved.preG, act: saved.actG, rows: m, inFeatures: s.split1, hidden: s.hiddenG, outFeatures: s.split2, activation: activation)
        for r in 0..<m {
            let row = x + r * c
            row.update(from: saved.y1 + r * s.split1, count: s.split1)
            let g2 = scratch + r * s.split2
            let y2 = row + s.split1
            for j in 0..<s.split2 { y2[j] += g2[j] }
        }
    }

    /// Accumulates F's and G's gradients from `dy` `[M, C]` (∂L/∂y; the embeddings below are frozen, so no
    /// ∂L/∂x is formed). `scratch` needs `M·(split1 + split2 + max(h_F, h_G))` floats.
    public static func backward(
        dy: UnsafePointer<Float>, rows m: Int, shape s: Shape, f: SubnetTensors, g: SubnetTensors, df: SubnetTensors,
        dg: SubnetTensors, activation: AdapterActivation, saved: Saved, scratch: UnsafeMutablePointer<Float>
    ) {
        let c = s.channels
        let dy1 = scratch
        let dy2 = scratch + m * s.split1
        let dh = dy2 + m * s.split2
        for r in 0..<m {
            (dy1 + r * s.split1).update(from: dy + r * c, count: s.split1)
            (dy2 + r * s.split2).update(from: dy + r * c + s.split1, count: s.split2)
        }
        // y2 = x2 + G(y1): G's gradients, and ∂L/∂y1 += G'ᵀ·dy2.
        Linear.backward(
            dx: dh, dweight: dg.w2, dbias: dg.b2, dout: dy2, x: saved.actG, weight: g.w2, rows: m, inFeatures: s.hiddenG,
            outFeatures: s.split2)
        ActivationKernel.backward(activation, dx: dh, dout: dh, x: saved.preG, count: m * s.hiddenG)
        Linear.backward(
            dx: dy1, dweight: dg.w0, dbias: dg.b0, dout: dh, x: saved.y1, weight: g.w0, rows: m, inFeatures: s.split1,
            outFeatures: s.hiddenG, accumulateInput: true)
        // y1 = x1 + F(x2): F's gradients from the whole ∂L/∂y1.
        Linear.backward(
            dx: dh, dweight: df.w2, dbias: df.b2, dout: dy1, x: saved.actF, weight: f.w2, rows: m, inFeatures: s.hiddenF,
            outFeatures: s.split1)
        ActivationKernel.backward(activation, dx: dh, dout: dh, x: saved.preF, count: m * s.hiddenF)
        Linear.backward(
            dx: nil, dweight: df.w0, dbias: df.b0, dout: dh, x: saved.x2, weight: f.w0, rows: m, inFeatures: s.split2,
            outFeatures: s.hiddenF)
    }

    static func subnet(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, t: SubnetTensors, pre: UnsafeMutablePointer<Float>,
        act: UnsafeMutablePointer<Float>, rows m: Int, inFeatures: Int, hidden: Int, outFeatures: Int,
        activation: AdapterActivation
    ) {
        Linear.forward(out: pre, x: x, weight: t.w0, bias: t.b0, rows: m, inFeatures: inFeatures, outFeatures: hidden)
        ActivationKernel.forward(activation, out: act, x: pre, count: m * hidden)
        Linear.forward(out: out, x: act, weight: t.w2, bias: t.b2, rows: m, inFeatures: hidden, outFeatures: outFeatures)
    }
}
