import Adapters
import Encoders
import Foundation
import TestSupport
import Testing

@testable import Training

/// Composition blocks inside a Stack, and Stacks inside Parallel and BatchSplit, against adapters 1.3.0
/// (tools/make_nested_composition_fixtures.py over the folders of tools/make_composition_fixtures.py).
@Suite("Nested composition")
struct NestedCompositionTests {
    static func setup() throws -> (ModelWithAdapters, TokenBatch, [String: Any]) {
        let json = try Fixtures.json("composition/nested.json")
        let batch = try LifecycleTests.batch(json)
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        for name in ["a", "b", "c", "d"] {
            #expect(try model.loadAdapter(from: Fixtures.url("composition/\(name)")) == name)
        }
        try model.loadAdapter(from: Fixtures.url("composition/a2"), withHead: false)
        #expect(try model.loadAdapterFusion(from: Fixtures.url("composition/fuse_dynamic")) == "a,d")
        #expect(try model.loadAdapterFusion(from: Fixtures.url("composition/fuse_flags")) == "d,a")
        return (model, batch, json)
    }

    static func rows(_ value: Any?) -> [Float] { CompositionTests.rows(value) }

    /// Each setup as AdapterHub's, with the head `setActiveAdapters` picks: the fusion's for a setup ending in a Fuse,
    /// else the last adapter's.
    static let cases: [(key: String, setup: AdapterSetup, head: String)] = [
        ("stack_c_fuse_ad", .stack("c", .fuse("a", "d")), "a,d"),
        ("stack_b_fuse_ad", .stack("b", .fuse("a", "d")), "a,d"),
        ("stack_fuse_da_c", .stack(.fuse("d", "a"), "c"), "c"),
        ("stack_c_average_ad", .stack("c", (try? .average(["a", "d"], weights: [0.7, 0.3])) ?? "a"), "d"),
        ("stack_c_split_ad", .stack("c", (try? .split(["a", "d"], splits: [2, 4])) ?? "a"), "d"),
        ("stack_a_c_average_ad", .stack("a", "c", (try? .average(["a2", "d"])) ?? "a"), "d"),
    ]

    @Test(arguments: cases.indices)
    func blockInsideAStackMatchesPython(index: Int) throws {
        let (model, batch, json) = try Self.setup()
        let (key, setup, head) = Self.cases[index]
        #expect(setup.isNested)
        try model.setActiveAdapters(setup)
        #expect(model.activeHead == head, "\(setup)")
        let expected = Self.rows(json[key])
        #expect(!expected.isEmpty)
        #expect(maxAbsDifference(try model.logits(batch), expected) <= 1e-4, "\(setup)")
        // The Stack's other members matter: the block alone, with the same head, gives other logits.
        let block = setup.blocks.first { if case .adapter = $0 { false } else { true } }
        try model.setActiveAdapters(AdapterSetup(blocks: [try #require(block)]))
        try model.setActiveHead(head)
        #expect(maxAbsDifference(try model.logits(batch), expected) > 1e-2, "\(setup)")
    }

    /// Every branch as its setup alone (Python's own Stack logits). adapters 1.3.0's Parallel and BatchSplit differ from
    /// that for a Stack branch (a second `pre_forward`; see the fixture script), and agree for a single adapter.
    @Test func stacksRunInParallelAndBatchSplitBranches() throws {
        let (model, batch, json) = try Self.setup()
        let parallel = try model.parallelLogits([.stack("c", "a"), .stack("c", "d")], batch)
        #expect(parallel.map(\.head) == ["a", "d"])
        let pythonParallel = json["parallel_stacks"] as? [Any] ?? []
        for (k, key) in ["stack_c_a", "stack_c_d"].enumerated() {
            #expect(maxAbsDifference(parallel[k].logits, Self.rows(json[key])) <= 1e-4, "branch \(key)")
            #expect(maxAbsDifference(parallel[k].logits, Self.rows(pythonParallel[k])) > 1e-2, "branch \(key)")
        }
        // Stack("c", Parallel("a", "d")) as AdapterHub runs it: each branch is Stack("c", x) alone.
        guard case .parallel(let branches) = try AdapterComposition(parsing: "Stack(c, Parallel(a, d))") else {
            Issue.record("not a Parallel")
            return
        }
        let madx = try model.parallelLogits(branches, batch)
        let pythonMADX = json["stack_c_parallel_ad"] as? [Any] ?? []
        #expect(madx.map(\.head) == ["a", "d"])
        for k in 0..<2 { #expect(maxAbsDifference(madx[k].logits, Self.rows(pythonMADX[k])) <= 1e-4) }
        let split = try model.batchSplitLogits([.stack("c", "a"), "d"], sizes: [1, 2], batch)
        let pythonSplit = json["batch_split_stacks"] as? [Any] ?? []
        #expect(split.map(\.head) == ["a", "d"])
        #expect(maxAbsDifference(split[0].logits, Array(Self.rows(json["stack_c_a"])[0..<2])) <= 1e-4)
        #expect(maxAbsDifference(split[1].logits, Array(Self.rows(json["single_d"])[2...])) <= 1e-4)
        #expect(maxAbsDifference(split[1].logits, Self.rows(pythonSplit[1])) <= 1e-4)
        // A nested branch too: its fusion's head.
        let nested = try model.parallelLogits([.stack("c", .fuse("a", "d")), "a"], batch)
        #expect(nested.map(\.head) == ["a,d", "a"])
        #expect(maxAbsDifference(nested[0].logits, Self.rows(json["stack_c_fuse_ad"])) <= 1e-4)
        #expect(maxAbsDifference(nested[1].logits, Self.rows(json["single_a"])) <= 1e-4)
    }

    @Test func nestedSetupsAreCheckedAndNotTrained() throws {
        let (model, batch, _) = try Self.setup()
        #expect(AdapterSetup.stack("c", .fuse("a", "d")).description == "Stack[c, Fuse[a, d]]")
        #expect(AdapterSetup.stack(.stack("c", "a"), "d") == .stack("c", "a", "d"))
        // A Fuse with no fusion loaded, a LoRA-free rule for Averages in a Stack, training.
        #expect(throws: AdapterError.invalidSetup("no AdapterFusion 'a,c' is loaded (loadAdapterFusion)")) {
            try model.setActiveAdapters(.stack("d", .fuse("a", "c")))
        }
        #expect(throws: AdapterError.self) { try model.trainAdapter(.stack("c", .fuse("a", "d"))) }
        let setup = AdapterSetup.stack("c", (try .average(["a", "d"])))
        let engine = try model.buildModel(
            for: .init(adapters: setup.names, head: "d", full: false, nested: setup.blocks), trainable: true)
        #expect(
            throws: EncoderError.invalidInput(
                "training a Stack with composition blocks is supported for adapters followed by one Fuse (AdapterFusion over a language adapter); 2 blocks given"
            )
        ) {
            try engine.step(batch, labels: [0, 1, 0], seed: 1)
        }
        #expect(throws: AdapterError.self) { try model.trainAdapterFusion(setup) }
        // An Average of LoRA adapters combines per linear layer only on its own, not inside a Stack.
        try model.loadAdapter(from: Fixtures.url("composition/e"))
        try model.setActiveAdapters(.stack("a", (try .average(["b", "e"]))))
        #expect(throws: EncoderError.self) { try model.logits(batch) }
    }

    /// The Python-like syntax of `AdapterComposition`.
    @Test func compositionsParseAsAdapterHubWritesThem() throws {
        #expect(try AdapterComposition(parsing: "Stack(lang, Fuse(a, b))") == .setup(.stack("lang", .fuse("a", "b"))))
        #expect(try AdapterComposition(parsing: "stack('x-1', \"y.2\")") == .setup(.stack("x-1", "y.2")))
        #expect(try AdapterComposition(parsing: " a ") == .setup("a"))
        #expect(
            try AdapterComposition(parsing: "Stack(l, Average(a, b, weights=[3, 1]))")
                == .setup(.stack("l", try .average(["a", "b"], weights: [0.75, 0.25]))))
        #expect(
            try AdapterComposition(parsing: "Average(a, b, weights=[3, 1], normalize_weights=False)")
                == .setup(try .average(["a", "b"], weights: [3, 1], normalize: false)))
        #expect(
            try AdapterComposition(parsing: "Split(a, b, splits=[2, 4])")
                == .setup(try .split(["a", "b"], splits: [2, 4])))
        #expect(
            try AdapterComposition(parsing: "Parallel(Stack(l, a), Stack(l, Fuse(b, c)))")
                == .parallel([.stack("l", "a"), .stack("l", .fuse("b", "c"))]))
        #expect(
            try AdapterComposition(parsing: "BatchSplit(a, Stack(l, b), batch_sizes=[1, 3])")
                == .batchSplit(["a", .stack("l", "b")], sizes: [1, 3]))
        #expect(try AdapterComposition(parsing: "Parallel(Stack(l, a), Stack(l, b))").names == ["l", "a", "b"])
        #expect(
            try AdapterComposition(parsing: "Stack(l, m, Parallel(a, Fuse(b, c)))")
                == .parallel([.stack("l", "m", "a"), .stack("l", "m", .fuse("b", "c"))]))
        let errors: [(String, String)] = [
            ("Stack(a, b", "composition, at character 11: expected ')', the text ended"),
            ("Stack(a, b))", "composition, at character 12: unexpected ')' after the composition"),
            ("Fuse(a, Stack(b, c))", "Fuse's members must be adapter names here, not nested blocks"),
            (
                "Stack(a, Parallel(b, c), d)",
                "Parallel can only be the whole composition (its branches may be Stacks) or a Stack's last member, not inside another block"
            ),
            ("Mix(a, b)", "unknown composition block 'Mix': Stack, Fuse, Average, Split, Parallel or BatchSplit"),
            ("Split(a, b)", "Split needs splits=[N1, N2, …], one whole number per adapter"),
            ("Split(a, b, splits=[1.5, 2])", "Split needs splits=[N1, N2, …], one whole number per adapter"),
            ("Average(a, b, weights=[x, 1])", "composition, at character 24: 'x' is not a number"),
            ("Average(a, weights=[1], b)", "composition, at character 25: an adapter after keyword arguments"),
            ("BatchSplit(a, b, batch_sizes=[4])", "BatchSplit has 2 branches and 1 batch sizes"),
            ("Parallel(a)", "Parallel needs at least 2 branches"),
            ("Fuse(a)", "Fuse needs at least 2 adapters, got 1"),
            ("Stack()", "an empty Stack()"),
        ]
        for (text, message) in errors {
            #expect(throws: AdapterError.invalidSetup(message), "\(text)") { try AdapterComposition(parsing: text) }
        }
    }

    /// `train_adapter_fusion(Stack("c", Fuse("a", "d")))` (its gradients are checked against adapters 1.3.0 in
    /// ReferenceParityTests' `*_fusion_stacked*` cases): only the fusion layers and the fusion's head move, the saved
    /// fusion loads back over the same Stack with the same logits, and adapters before a Fuse that the backward pass
    /// does not replay (a LoRA) are refused.
    @Test func fusionTrainsAfterAStackedAdapter() throws {
        let (model, batch, _) = try Self.setup()
        let setup = AdapterSetup.stack("c", .fuse("a", "d"))
        try model.trainAdapterFusion(setup)
        #expect(model.activeHead == "a,d")
        let engine = try model.trainingModel()
        #expect(
            engine.trainableNames.allSatisfy { $0.contains(".adapter_fusion_layer.a,d.") || $0.hasPrefix("heads.a,d.") }
        )
        let before = try model.logits(batch)
        let frozen = engine.tensor("roberta.encoder.layer.0.output.adapters.c.adapter_down.0.weight")
        var optimizer = AdamW()
        for step in 0..<3 {
            engine.parameters.zeroGradients()
            _ = try engine.step(batch, labels: [0, 1, 1], seed: UInt64(step))
            optimizer.update(engine.parameters, learningRate: 1e-2)
        }
        #expect(engine.tensor("roberta.encoder.layer.0.output.adapters.c.adapter_down.0.weight") == frozen)
        let after = try model.logits(batch)
        #expect(maxAbsDifference(before, after) > 1e-3)
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.saveAdapterFusion(to: folder, name: "a,d")
        let (fresh, _, _) = try Self.setup()
        try fresh.loadAdapterFusion(from: folder, overwrite: true)
        try fresh.setActiveAdapters(setup)
        #expect(maxAbsDifference(try fresh.logits(batch), after) <= 1e-5)

        try model.trainAdapterFusion(.stack("b", .fuse("a", "d")))
        #expect(throws: AdapterError.self) { try model.trainingModel() }
    }
}
