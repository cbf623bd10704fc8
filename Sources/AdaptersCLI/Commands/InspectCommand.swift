import ArgumentParser
import Foundation
import Inference
import Kernels

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Describe a model folder: architecture, parameters, dtypes, bytes.")

    @Argument(help: "HF model folder, or a Hub id (org/name[@revision]).")
    var model: String

    func run() throws {
        let m = try PretrainedModel(folder: try HubAccess.folder(model, selection: .model), logger: logger)
        let c = m.config
        let headParams = m.encoder.head.map { $0.bindings.reduce(0) { $0 + $1.shape.reduce(1, *) } } ?? 0
        let encoderParams = m.encoder.weights.parameterCount
        print("model:          \(model)")
        print("architecture:   \(c.modelType.rawValue) (\((c.architectures ?? ["-"]).joined(separator: ", ")))")
        print("layers:         \(c.numHiddenLayers) × hidden \(c.hiddenSize), \(c.numAttentionHeads) heads, FFN \(c.intermediateSize), \(c.hiddenAct.rawValue)")
        print("vocabulary:     \(c.vocabSize) tokens, \(c.maxPositionEmbeddings) positions, \(c.typeVocabSize) token types")
        print("parameters:     \(formatCount(encoderParams + headParams)) (encoder \(formatCount(encoderParams)), head \(formatCount(headParams)))")
        let dtypes = m.dtypeCounts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) × \($0.value)" }
        print("stored tensors: \(dtypes.joined(separator: ", ")); \(formatBytes(m.storedBytes)) in \(m.weightFiles.count) file(s)")
        if let head = m.encoder.head {
            print("head:           \(head.layout.rawValue) sequence classification, \(head.numLabels) labels: \(head.labels.joined(separator: ", "))")
        } else {
            print("head:           none (encoder only)")
        }
        if let t = m.tokenizer {
            print("tokenizer:      \(t.kind.rawValue), \(t.vocabularySize) tokens")
        } else {
            print("tokenizer:      none (pre-tokenized input only)")
        }
        print("BLAS kernels:   \(BLASInfo.coreName), \(Threading.workerCount) worker thread(s)")
    }
}

func formatCount(_ n: Int) -> String {
    n >= 1_000_000 ? String(format: "%.2f M", Double(n) / 1e6) : n >= 1000 ? String(format: "%.1f k", Double(n) / 1e3) : "\(n)"
}

func formatBytes(_ n: Int) -> String {
    n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / 1_048_576) : String(format: "%.1f KiB", Double(n) / 1024)
}
