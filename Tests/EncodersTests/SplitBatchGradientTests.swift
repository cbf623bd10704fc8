import Adapters
import Encoders
import Foundation
import Kernels
import TestSupport
import Testing

/// Data-parallel training's foundation: a batch split into parts — over processes or micro-batches —
/// whose sequences keep their places in the whole batch as dropout keys and whose gradients are scaled
/// by their share gives the whole batch's gradients, dropout on.
@Suite("Split batches: keyed dropout and scaled gradients")
struct SplitBatchGradientTests {
    static let cases: [(String, String)] = [
        ("tiny-roberta-cls", "seq_bn"), ("tiny-roberta-cls", "double_seq_bn"), ("tiny-bert-cls", "lora"),
        ("tiny-roberta-cls", "full"), ("tiny-bert-cls", "head"),
    ]

    static func mode(_ method: String) -> TrainingMode {
        switch method {
        case "full": .full
        case "head": .headOnly
        default: .adapter(name: "task", config: AdapterConfig.defaults(for: AdapterMethod(rawValue: method)!))
        }
    }

    static func gradients(_ model: AdapterModel) -> [String: [Float]] {
        Dictionary(
            uniqueKeysWithValues: model.parameters.entries.map {
                ($0.name, Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)))
            })
    }

    /// The largest per-tensor `‖a − b‖ / ‖a‖`. A tensor whose true gradient is zero (a key bias: softmax
    /// ignores it) holds only rounding noise, so norms are floored at 1e-3 of the largest tensor's.
    static func relativeDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let floor = 1e-3 * (a.values.map(norm).max() ?? 0)
        var worst: Float = 0
        for (name, x) in a {
            let y = b[name] ?? []
            guard y.count == x.count else { return .infinity }
            let diff = norm(zip(x, y).map { $0 - $1 })
            worst = max(worst, diff / max(norm(x), floor, .leastNormalMagnitude))
        }
        return worst
    }

    static func sub(_ batch: TokenBatch, _ range: Range<Int>) throws -> TokenBatch {
        let t = batch.sequenceLength
        return try TokenBatch(
            batchSize: range.count, sequenceLength: t,
            inputIds: Array(batch.inputIds[(range.lowerBound * t)..<(range.upperBound * t)]),
            attentionMask: Array(batch.attentionMask[(range.lowerBound * t)..<(range.upperBound * t)]),
            tokenTypeIds: nil)
    }

    @Test(arguments: cases)
    func partsGiveTheWholeBatchsGradients(testCase: (String, String)) throws {
        let (fixture, method) = testCase
        let model = try AdapterGradientTests.model(fixture, mode: Self.mode(method), dropout: 0.2)
        let (batch, labels) = try AdapterGradientTests.batch(roberta: fixture.contains("roberta"))
        model.parameters.zeroGradients()
        let whole = try model.step(batch, labels: labels, seed: 5)
        let reference = Self.gradients(model)

        // Parts [0], [1, 2] with their places as keys and their shares as scales, accumulated.
        func split(keys: (Range<Int>) -> [UInt64]) throws -> (loss: Float, grads: [String: [Float]]) {
            model.parameters.zeroGradients()
            var loss: Float = 0
            for part in [0..<1, 1..<3] {
                let r = try model.step(
                    try Self.sub(batch, part), labels: Array(labels[part]), seed: 5, dropoutKeys: keys(part),
                    gradientScale: Float(part.count) / 3)
                loss += r.loss * Float(part.count) / 3
            }
            return (loss, Self.gradients(model))
        }
        let parts = try split { $0.map { UInt64($0) } }
        #expect(abs(parts.loss - whole.loss) <= 1e-6 * max(1, abs(whole.loss)))
        #expect(Self.relativeDifference(reference, parts.grads) <= 1e-5)

        // The check can fail: keying each part from 0 (its position in the part) changes the masks.
        let unkeyed = try split { part in (0..<part.count).map { UInt64($0) } }
        #expect(Self.relativeDifference(reference, unkeyed.grads) > 1e-3)
    }

    /// The gradient groups cover every trainable gradient exactly once, and the backward pass reports
    /// them in their order (head first, then layers from the top).
    @Test(arguments: cases)
    func gradientGroupsCoverEveryGradientOnce(testCase: (String, String)) throws {
        let (fixture, method) = testCase
        let model = try AdapterGradientTests.model(fixture, mode: Self.mode(method), dropout: 0)
        guard let base = model.parameters.grads.base else {
            Issue.record("no gradient arena")
            return
        }
        var covered = [Int](repeating: 0, count: model.parameters.grads.capacity)
        for (_, ranges) in model.gradientGroups {
            for r in ranges { for i in r { covered[i] += 1 } }
        }
        for e in model.parameters.entries {
            let start = e.grad - base
            // Fused QKV views share a block: every element of each view must be covered once.
            #expect((start..<(start + e.count)).allSatisfy { covered[$0] == 1 }, "\(e.name)")
        }
        #expect(covered.allSatisfy { $0 <= 1 })
        var reported: [GradientGroup] = []
        let (batch, labels) = try AdapterGradientTests.batch(roberta: fixture.contains("roberta"))
        model.parameters.zeroGradients()
        _ = try model.step(batch, labels: labels, seed: 1, gradientsReady: { reported.append($0) })
        let order = model.gradientGroups.map(\.group)
        #expect(reported.first == .head)
        // Reported groups come in the groups' order.
        let positions = reported.compactMap { g in order.firstIndex(of: g) }
        #expect(positions == positions.sorted())
    }
}
