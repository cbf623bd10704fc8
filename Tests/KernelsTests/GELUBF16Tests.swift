import Kernels
import TestSupport
import Testing

/// GELU's bf16 variants (bf16 training keeps the FFN pre-activation in bf16): the same results as the fp32
/// kernels on the exactly widened values, over counts that split into several workers' ranges and blocks.
@Suite("GELU with a bf16 input")
struct GELUBF16Tests {
    @Test(arguments: [(GELUForm.erf, 1), (.erf, 4097), (.tanh, 70_001)])
    func matchesTheFP32KernelsOnTheRoundedValues(form: GELUForm, count: Int) {
        let x = randomFloats(count, seed: 31, scale: 4)
        let dout = randomFloats(count, seed: 32)
        var rounded = [UInt16](repeating: 0, count: count)
        x.withUnsafeBufferPointer { BF16.convert($0.baseAddress!, to: &rounded, count: count) }
        var widened = [Float](repeating: 0, count: count)
        rounded.withUnsafeBufferPointer { BF16.widen($0.baseAddress!, to: &widened, count: count) }

        // Forward keeping its input: the fp32 forward's output, and the input rounded as BF16.convert rounds.
        var out = [Float](repeating: 0, count: count)
        var kept = [UInt16](repeating: 0, count: count)
        var expected = [Float](repeating: 0, count: count)
        GELU.forward(form, out: &out, x: x, count: count, keepingInput: &kept)
        GELU.forward(form, out: &expected, x: x, count: count)
        #expect(out == expected)
        #expect(kept == rounded)

        // Output in bf16: the fp32 output rounded, with or without the input kept.
        var rounded32 = [UInt16](repeating: 0, count: count)
        out.withUnsafeBufferPointer { BF16.convert($0.baseAddress!, to: &rounded32, count: count) }
        var half = [UInt16](repeating: 0, count: count)
        var keptToo = [UInt16](repeating: 0, count: count)
        GELU.forward(form, outBF16: &half, x: x, count: count, keepingInput: nil)
        #expect(half == rounded32)
        half = [UInt16](repeating: 0, count: count)
        keptToo.withUnsafeMutableBufferPointer { k in
            GELU.forward(form, outBF16: &half, x: x, count: count, keepingInput: k.baseAddress)
        }
        #expect(half == rounded32)
        #expect(keptToo == rounded)

        // Forward and backward from bf16: the fp32 kernels on the widened values.
        var fromBF16 = [Float](repeating: 0, count: count)
        GELU.forward(form, out: &fromBF16, xBF16: rounded, count: count)
        GELU.forward(form, out: &expected, x: widened, count: count)
        #expect(fromBF16 == expected)
        for accumulate in [false, true] {
            var dx = randomFloats(count, seed: 33)
            var want = dx
            GELU.backward(form, dx: &dx, dout: dout, xBF16: rounded, count: count, accumulate: accumulate)
            GELU.backward(form, dx: &want, dout: dout, x: widened, count: count, accumulate: accumulate)
            #expect(dx == want, "accumulate \(accumulate)")
        }
        #expect(widened != x || count == 1, "the rounding happened")
    }
}
