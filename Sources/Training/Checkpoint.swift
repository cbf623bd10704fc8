import Adapters
import Datasets
import Encoders
import Foundation
import Kernels
import ModelIO

/// What a checkpoint holds besides tensors: everything needed to continue on exactly the same
/// trajectory (optimizer step, data order and position, best metric so far).
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int
    public var optimizer: AdamW
    public var sampler: BatchSampler
    public var bestMetric: Float?
    public var bestStep: Int?
    public var config: TrainingConfig
    /// Training time so far, over every process that worked on the run (a resumed run continues the
    /// clock); nil in checkpoints written before it was recorded.
    public var elapsedSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case step, optimizer, sampler, config
        case bestMetric = "best_metric"
        case bestStep = "best_step"
        case elapsedSeconds = "elapsed_seconds"
    }
}

/// Checkpoints under `output/checkpoints/step-NNNNNNN/`, holding only what training changes:
/// `trainable.safetensors` (the trained tensors), `optimizer.safetensors` (AdamW moments) and
/// `trainer_state.json`. Each is assembled in a hidden folder and renamed into place, so a run
/// killed mid-save leaves the previous checkpoints intact.
public enum Checkpoint {
    static let prefix = "step-"

    public static func folder(_ output: URL) -> URL { output.appendingPathComponent("checkpoints") }

    public static func name(step: Int) -> String { prefix + String(format: "%07d", step) }

    /// Saved checkpoints, oldest first.
    public static func list(_ output: URL) -> [(step: Int, url: URL)] {
        let dir = folder(output)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { n -> (Int, URL)? in
            guard n.hasPrefix(prefix), let s = Int(n.dropFirst(prefix.count)) else { return nil }
            return (s, dir.appendingPathComponent(n))
        }.sorted { $0.0 < $1.0 }
    }

    /// Deletes the hidden folders of checkpoints whose writing or deletion was interrupted (a killed
    /// process leaves its `.step-N.tmp-…` or `.step-N.deleted-…` behind; a finished save renames it, a
    /// failed one deletes it). Only one process writes a run's checkpoints, so at the start of a run
    /// every such folder is stale.
    public static func removeInterruptedSaves(_ output: URL) {
        let dir = folder(output)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for n in names where n.hasPrefix("." + prefix) && (n.contains(".tmp-") || n.contains(".deleted-")) {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(n))
        }
    }

    /// Deletes a checkpoint folder so that no kill leaves it half-deleted under its name: it is first
    /// renamed to a hidden name (atomic), then removed file by file.
    public static func discard(_ url: URL) throws {
        let hidden = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).deleted-\(UUID().uuidString)")
        try FileManager.default.moveItem(at: url, to: hidden)
        try? FileManager.default.removeItem(at: hidden)
    }

    public static func save(model: AdapterModel, state: TrainerState, output: URL) throws -> URL {
        try save(models: [model], state: state, output: output)
    }

    /// One checkpoint of several models trained together (a Parallel's branches): their tensors side by side in
    /// the same files (their names differ; `Trainer` checks it).
    public static func save(models: [AdapterModel], state: TrainerState, output: URL) throws -> URL {
        let fm = FileManager.default
        let dir = folder(output)
        let target = dir.appendingPathComponent(name(step: state.step))
        let staging = dir.appendingPathComponent(".\(name(step: state.step)).tmp-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            var values: [SafetensorsWriter.Tensor] = []
            var moments: [SafetensorsWriter.Tensor] = []
            for e in models.flatMap(\.parameters.entries) {
                values.append(
                    .init(
                        name: e.name, shape: e.shape, values: Array(UnsafeBufferPointer(start: e.value, count: e.count))
                    ))
                moments.append(
                    .init(
                        name: "exp_avg/" + e.name, shape: e.shape,
                        values: Array(UnsafeBufferPointer(start: e.firstMoment, count: e.count))))
                moments.append(
                    .init(
                        name: "exp_avg_sq/" + e.name, shape: e.shape,
                        values: Array(UnsafeBufferPointer(start: e.secondMoment, count: e.count))))
            }
            // Buffers (saved, not trained: LoReFT's orthogonal base) go with the values: a resumed run needs them.
            for model in models {
                for b in model.bufferSlots {
                    values.append(.init(name: b.name, shape: b.shape, values: model.tensor(b.name) ?? []))
                }
            }
            try SafetensorsWriter.encode(values).write(to: staging.appendingPathComponent("trainable.safetensors"))
            try SafetensorsWriter.encode(moments).write(to: staging.appendingPathComponent("optimizer.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: staging.appendingPathComponent("trainer_state.json"))
            if fm.fileExists(atPath: target.path) { try discard(target) }
            try fm.moveItem(at: staging, to: target)
            return target
        } catch {
            try? fm.removeItem(at: staging)
            throw TrainingError.checkpoint(
                path: target.path, detail: "cannot write checkpoint: \(fileErrorText(error))")
        }
    }

    /// Restores tensors and moments into `model`; returns the saved state.
    public static func load(_ url: URL, into model: AdapterModel) throws -> TrainerState {
        try load(url, into: [model])
    }

    /// Restores the tensors and moments of several models trained together; returns the saved state.
    public static func load(_ url: URL, into models: [AdapterModel]) throws -> TrainerState {
        let statePath = url.appendingPathComponent("trainer_state.json")
        let state: TrainerState
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: statePath))
        } catch let error as DecodingError {
            throw TrainingError.checkpoint(
                path: statePath.path, detail: "unreadable trainer state: \(decodingErrorText(error))")
        } catch {
            throw TrainingError.checkpoint(
                path: statePath.path, detail: "unreadable trainer state: \(fileErrorText(error))")
        }
        let values = try SafetensorsFile(path: url.appendingPathComponent("trainable.safetensors").path)
        let moments = try SafetensorsFile(path: url.appendingPathComponent("optimizer.safetensors").path)
        for e in models.flatMap(\.parameters.entries) {
            for (file, name, dst) in [
                (values, e.name, e.value), (moments, "exp_avg/" + e.name, e.firstMoment),
                (moments, "exp_avg_sq/" + e.name, e.secondMoment),
            ] {
                guard file.shape(of: name) == e.shape else {
                    throw TrainingError.checkpoint(
                        path: file.path,
                        detail:
                            "tensor '\(name)' is missing or has another shape: the checkpoint belongs to another model or method"
                    )
                }
                try file.readFloats(name, into: dst)
            }
        }
        for model in models {
            for b in model.bufferSlots {
                guard values.shape(of: b.name) == b.shape else {
                    throw TrainingError.checkpoint(
                        path: values.path,
                        detail:
                            "tensor '\(b.name)' is missing or has another shape: the checkpoint belongs to another model or method"
                    )
                }
                var held = [Float](repeating: 0, count: b.count)
                try held.withUnsafeMutableBufferPointer { try values.readFloats(b.name, into: $0.baseAddress!) }
                try model.setTensor(b.name, held)
            }
        }
        let expected = models.reduce(0) { $0 + $1.parameters.entries.count + $1.bufferSlots.count }
        if values.tensorNames.count != expected {
            throw TrainingError.checkpoint(
                path: values.path, detail: "holds \(values.tensorNames.count) tensors, the model has \(expected)")
        }
        return state
    }
}
