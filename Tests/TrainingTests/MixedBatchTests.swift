import Adapters
import Encoders
import Foundation
import Kernels
import TestSupport
import Testing
@testable import Training

/// Mixed-adapter batches (what the server runs): sequences of one batch through different adapters, the
/// base computed once over all rows, give each sequence the logits of its adapter run alone.
@Suite("Mixed-adapter batches")
struct MixedBatchTests {
    static func models() throws -> (EncoderModel, [AdapterModel]) {
        let base = try AdapterInteropTests.base()
        var models = try ["seq_bn", "double_seq_bn", "lora"].map {
            try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\($0)"), base: base)
        }
        let stack = Fixtures.url("lifecycle/stack_mixed")
        let lifecycle = ModelWithAdapters(base: base)
        let lang = try lifecycle.loadAdapter(from: stack.appendingPathComponent("lang"))
        let task = try lifecycle.loadAdapter(from: stack.appendingPathComponent("task"))
        try lifecycle.setActiveAdapters(AdapterSetup([lang, task]))
        models.append(try lifecycle.inferenceEngine())
        let head = try AdapterModel(base: base, mode: .headOnly, head: HeadSpec(name: "h", labels: ["x", "y", "z"], dropout: 0))
        for (i, name) in head.trainableNames.enumerated() {
            try head.setTensor(name, randomFloats(head.tensor(name)?.count ?? 0, seed: UInt64(90 + i), scale: 0.4))
        }
        models.append(head)
        // Per-sequence gates (UniPELT's bottleneck and LoRA gates) on their part's rows only, and a model with a
        // prefix (UniPELT), whose part runs on its own.
        let gated = try AdapterModel(
            base: base,
            mode: .adapter(
                name: "g", config: try AdapterConfig.parse("seq_bn[use_gating=True]|lora[use_gating=True,intermediate_lora=True]", source: "test")),
            head: HeadSpec(name: "g", labels: ["x", "y"], dropout: 0))
        for (i, name) in gated.trainableNames.enumerated() {
            try gated.setTensor(name, randomFloats(gated.tensor(name)?.count ?? 0, seed: UInt64(70 + i), scale: 0.4))
        }
        models.append(gated)
        models.append(try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/unipelt"), base: base))
        return (base, models)
    }

    /// Random sequences (lengths 2…12, RoBERTa's <s> … </s>).
    static func sequences(_ count: Int, seed: UInt64) -> [[Int32]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let n = 2 + Int(rng.next() % 11)
            return [0] + (0..<(n - 2)).map { _ in Int32(3 + rng.next() % 100) } + [2]
        }
    }

    @Test(arguments: [1, 2, 3])
    func eachPartGetsItsAdaptersLogits(seed: UInt64) throws {
        let (base, models) = try Self.models()
        var rng = SeededGenerator(seed: seed)
        let seqs = Self.sequences(24, seed: seed)
        // Random part sizes (some models twice, one maybe absent), in random order.
        var parts: [(model: AdapterModel, sequences: Range<Int>)] = []
        var start = 0
        while start < seqs.count {
            let n = min(seqs.count - start, 1 + Int(rng.next() % 6))
            parts.append((models[Int(rng.next() % UInt64(models.count))], start..<(start + n)))
            start += n
        }
        // A trainable runner keeps every layer's activations; an inference-only one (the server's) reuses
        // one layer's buffers for all.
        for trainable in [true, false] {
            let runner = try AdapterModel(
                base: base, mode: .headOnly, head: HeadSpec(name: "r", labels: ["a", "b"], dropout: 0), trainable: trainable)
            let mixed = try runner.mixedLogits(try TokenBatch(sequences: seqs, padId: 1), parts: parts)
            #expect(mixed.count == parts.count)
            for (part, logits) in zip(parts, mixed) {
                let alone = try part.model.logits(try TokenBatch(sequences: Array(seqs[part.sequences]), padId: 1))
                #expect(logits.count == part.sequences.count * part.model.head.numLabels)
                #expect(
                    maxAbsDifference(logits, alone) <= 1e-5,
                    "runner trainable \(trainable): \(part.model.adapterStack.map(\.name)) \(part.sequences)")
            }
        }
    }

    @Test func badPartsAreRefused() throws {
        let (base, models) = try Self.models()
        let batch = try TokenBatch(sequences: Self.sequences(4, seed: 9), padId: 1)
        #expect(throws: EncoderError.invalidInput("the parts cover 3 of the batch's 4 sequences")) {
            try models[0].mixedLogits(batch, parts: [(models[0], 0..<3)])
        }
        #expect(throws: EncoderError.invalidInput("a mixed batch's parts must cover its sequences in order, without gaps")) {
            try models[0].mixedLogits(batch, parts: [(models[0], 0..<2), (models[1], 3..<4)])
        }
        let other = try AdapterInteropTests.base()
        let foreign = try AdapterModel(base: other, mode: .headOnly, head: HeadSpec(name: "h", labels: ["a", "b"], dropout: 0))
        #expect(throws: EncoderError.invalidInput("a mixed batch's models must share one base model")) {
            try models[0].mixedLogits(batch, parts: [(foreign, 0..<4)])
        }
        _ = base
    }
}

/// A model built to run only keeps no gradient or optimizer memory and refuses to train.
@Suite("Inference-only models")
struct InferenceOnlyModelTests {
    @Test func itRunsLikeATrainableOneAndTakesAQuarterOfTheMemory() throws {
        let base = try AdapterInteropTests.base()
        let trainable = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/lora"), base: base)
        let frozen = try AdapterModel(base: base, mode: trainable.mode, head: trainable.head, trainable: false)
        for name in trainable.trainableNames { try frozen.setTensor(name, trainable.tensor(name) ?? []) }
        let (batch, _) = try AdapterInteropTests.expected("lora")
        #expect(try frozen.logits(batch) == (try trainable.logits(batch)))
        #expect(frozen.parameters.grads.capacity <= 16 && frozen.parameters.firstMoments.capacity <= 16)
        #expect(trainable.parameters.grads.capacity >= trainable.parameters.parameterCount)
        #expect(frozen.trainableNames == trainable.trainableNames)
        #expect(throws: EncoderError.invalidInput("this model was built to run only (trainable: false): it cannot be trained")) {
            try frozen.step(batch, labels: [0, 1], seed: 0)
        }
    }

    /// What the server keeps per adapter: a copy of the lifecycle's active setup that only runs, built
    /// without the trainable engine (whose gradient and moment memory would stay behind).
    @Test func theLifecyclesInferenceModelIsACopyThatOnlyRuns() throws {
        let base = try AdapterInteropTests.base()
        let lifecycle = ModelWithAdapters(base: base)
        _ = try lifecycle.loadAdapter(from: Fixtures.url("adapterhub/seq_bn"), setActive: true)
        let (batch, expected) = try AdapterInteropTests.expected("seq_bn")
        let served = try lifecycle.inferenceModel()
        #expect(lifecycle.engine == nil)
        #expect(served.parameters.grads.capacity <= 16 && served.parameters.secondMoments.capacity <= 16)
        let logits = try served.logits(batch)
        #expect(logits == (try lifecycle.logits(batch)))
        #expect(maxAbsDifference(logits, expected) <= 1e-4)
    }
}
