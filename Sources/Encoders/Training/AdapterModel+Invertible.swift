import Adapters
import Kernels

/// MAD-X invertible adapters (`inv_adapter="nice"`): a NICE coupling on the embedding output, before the
/// first layer (AdapterHub's `post_embedding_forward`). In a Stack only the first adapter's applies, as in
/// AdapterHub (`invertible_adapters_forward` takes `adapter_setup.first()`).
extension AdapterModel {
    struct InvertibleSlots {
        let f0w, f0b, f2w, f2b, g0w, g0b, g2w, g2b: Arena.Slot
        let shape: NICECoupling.Shape
        let activation: AdapterActivation
    }

    /// Declares `…invertible_adapters.NAME.{F,G}.{0,2}.{weight,bias}` (weights decayed, biases not).
    static func declareInvertible(_ bn: BottleneckConfig, prefix p: String, hidden c: Int, into decl: inout SlotDeclarations)
        -> InvertibleSlots
    {
        let s = NICECoupling.Shape(channels: c, reductionFactor: bn.invAdapterReductionFactor ?? 2)
        func subnet(_ name: String, _ inFeatures: Int, _ hidden: Int, _ outFeatures: Int) -> [Arena.Slot] {
            [
                decl.train(p + name + ".0.weight", [hidden, inFeatures]), decl.train(p + name + ".0.bias", [hidden], decay: false),
                decl.train(p + name + ".2.weight", [outFeatures, hidden]),
                decl.train(p + name + ".2.bias", [outFeatures], decay: false),
            ]
        }
        let f = subnet("F", s.split2, s.hiddenF, s.split1)
        let g = subnet("G", s.split1, s.hiddenG, s.split2)
        return InvertibleSlots(
            f0w: f[0], f0b: f[1], f2w: f[2], f2b: f[3], g0w: g[0], g0b: g[1], g2w: g[2], g2b: g[3], shape: s,
            activation: bn.nonLinearity)
    }

    func subnetTensors(_ slots: [Arena.Slot]) -> SubnetTensors {
        SubnetTensors(
            w0: values.pointer(slots[0]), b0: values.pointer(slots[1]), w2: values.pointer(slots[2]),
            b2: values.pointer(slots[3]))
    }

    func subnetGradients(_ slots: [Arena.Slot]) -> SubnetTensors? {
        guard let w0 = gradientOf[slots[0].name], let b0 = gradientOf[slots[1].name], let w2 = gradientOf[slots[2].name],
            let b2 = gradientOf[slots[3].name]
        else { return nil }
        return SubnetTensors(w0: w0, b0: b0, w2: w2, b2: b2)
    }

    private func savedInvertible(rows m: Int, _ s: NICECoupling.Shape) -> NICECoupling.Saved {
        NICECoupling.Saved(
            x2: invertibleSaved[0].reserve(m * s.split2), y1: invertibleSaved[1].reserve(m * s.split1),
            preF: invertibleSaved[2].reserve(m * s.hiddenF), actF: invertibleSaved[3].reserve(m * s.hiddenF),
            preG: invertibleSaved[4].reserve(m * s.hiddenG), actG: invertibleSaved[5].reserve(m * s.hiddenG))
    }

    /// The coupling on the embedding output `x` `[rows, C]`, in place (nothing without an invertible adapter).
    func invertibleForward(_ x: UnsafeMutablePointer<Float>, rows m: Int) {
        guard let inv = invertible, m > 0 else { return }
        let s = inv.shape
        NICECoupling.forward(
            x: x, rows: m, shape: s, f: subnetTensors([inv.f0w, inv.f0b, inv.f2w, inv.f2b]),
            g: subnetTensors([inv.g0w, inv.g0b, inv.g2w, inv.g2b]), activation: inv.activation,
            saved: savedInvertible(rows: m, s), scratch: invertibleScratch.reserve(m * max(s.split1, s.split2)))
    }

    /// Backward from `dy` = ∂L/∂(embedding output after the coupling) `[rows, C]` into F's and G's gradients.
    func invertibleBackward(_ dy: UnsafePointer<Float>, rows m: Int) {
        guard let inv = invertible, m > 0,
            let df = subnetGradients([inv.f0w, inv.f0b, inv.f2w, inv.f2b]),
            let dg = subnetGradients([inv.g0w, inv.g0b, inv.g2w, inv.g2b])
        else { return }
        let s = inv.shape
        NICECoupling.backward(
            dy: dy, rows: m, shape: s, f: subnetTensors([inv.f0w, inv.f0b, inv.f2w, inv.f2b]),
            g: subnetTensors([inv.g0w, inv.g0b, inv.g2w, inv.g2b]), df: df, dg: dg, activation: inv.activation,
            saved: savedInvertible(rows: m, s),
            scratch: invertibleScratch.reserve(m * (s.split1 + s.split2 + max(s.hiddenF, s.hiddenG))))
    }
}
