import Adapters
import Encoders
import Foundation

extension ModelWithAdapters {
    /// AdapterHub's `train_adapter(Parallel(a, b, …))`: freezes the base and marks the adapters as trained side
    /// by side, each with the head named like it, on the same batches and targets. `parallelTrainingModels()`
    /// gives the models a `Trainer(models:…)` runs: the loss is the sum of the branches', the gradients are
    /// clipped by their joint norm and one AdamW with one schedule steps them all — what AdapterHub's trainer
    /// does. Each branch runs alone over the frozen base (as `parallelLogits` does), so branches of different
    /// methods and locations (a bottleneck beside a LoRA) train together, which adapters 1.3.0's replicated
    /// batch does not allow.
    public func trainParallel(_ names: [String]) throws {
        guard names.count >= 2 else {
            throw AdapterError.invalidSetup("Parallel needs at least 2 adapters to train, got \(names.count)")
        }
        guard Set(names).count == names.count else {
            throw AdapterError.invalidSetup("Parallel(\(names.joined(separator: ", "))) names an adapter twice")
        }
        for name in names {
            guard adapters[name] != nil else { throw AdapterError.unknownAdapter(name) }
            guard heads[name] != nil else {
                throw AdapterError.invalidSetup(
                    "training Parallel: no head named '\(name)' (each branch trains the head named like its adapter)")
            }
        }
        try resetMerge()
        baseFrozen = true
        trainingAdapters = nil
        trainingBranches = names
    }

    /// The trainable models of the branches `trainParallel` named, in order (built once, then the same ones
    /// until the setup changes). What they learn is read back by every later call (`saveAdapter`, `logits`…).
    public func parallelTrainingModels() throws -> [AdapterModel] {
        guard let names = trainingBranches else {
            throw AdapterError.invalidSetup("no Parallel to train: call trainParallel first")
        }
        let keys = names.map { Self.engineKey(AdapterSetup([$0]), head: $0) }
        if branchEngines.map(\.key) == keys { return branchEngines.map(\.model) }
        dropEngine()
        branchEngines = try keys.map { (key: $0, model: try buildModel(for: $0, trainable: true)) }
        return branchEngines.map(\.model)
    }
}
