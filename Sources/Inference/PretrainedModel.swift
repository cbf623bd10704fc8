import Encoders
import Foundation
import Kernels
import Logging
import ModelIO
import Tokenizers

/// An HF model folder loaded for inference: `config.json`, the weights (`model.safetensors` or a
/// sharded `model.safetensors.index.json`) and, when present, the tokenizer files.
public final class PretrainedModel {
    public let folder: URL
    public let config: EncoderConfig
    public let encoder: EncoderModel
    /// Nil when the folder has no tokenizer files (pre-tokenized input still works).
    public let tokenizer: Tokenizer?
    /// The weight files that were read.
    public let weightFiles: [String]
    /// Storage dtypes of the checkpoint's tensors and their total bytes on disk.
    public let dtypeCounts: [TensorDType: Int]
    public let storedBytes: Int

    /// - Parameters:
    ///   - precision: `.bf16` keeps the GEMM weights in bf16 (mixed precision, see `Precision`).
    ///   - keepFP32Weights: with bf16, keep the fp32 weights too (full fine-tuning updates them, DoRA
    ///     and LoRA merges read them); without it they are given back as they are loaded, and the
    ///     model takes about half the memory.
    public init(folder: URL, precision: ResolvedPrecision = .fp32, keepFP32Weights: Bool = false, logger: Logger? = nil) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw InferenceError.modelNotFound(path: folder.path)
        }
        self.folder = folder
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = fm.contents(atPath: configURL.path) else {
            throw InferenceError.missingFile(folder: folder.path, detail: "no config.json")
        }
        config = try EncoderConfig.decode(data, path: configURL.path)
        let single = folder.appendingPathComponent("model.safetensors")
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        let source: TensorSource
        let sourceName: String
        if fm.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(path: single.path)
            source = file
            sourceName = single.path
            weightFiles = [single.path]
        } else if fm.fileExists(atPath: index.path) {
            let sharded = try ShardedSafetensors(indexPath: index.path)
            source = sharded
            sourceName = index.path
            weightFiles = sharded.shards.map(\.path)
        } else {
            throw InferenceError.missingFile(
                folder: folder.path, detail: "no model.safetensors or model.safetensors.index.json (PyTorch .bin weights are not read)")
        }
        var counts: [TensorDType: Int] = [:]
        var bytes = 0
        for name in source.tensorNames {
            guard let dtype = source.dtype(of: name), let shape = source.shape(of: name) else { continue }
            counts[dtype, default: 0] += 1
            bytes += shape.reduce(1, *) * dtype.byteSize
        }
        dtypeCounts = counts
        storedBytes = bytes
        encoder = try EncoderModel.load(
            config: config, source: source, sourceName: sourceName, logger: logger,
            precision: keepFP32Weights ? .fp32 : precision)
        if precision == .bf16 && keepFP32Weights { encoder.weights.enableBF16() }
        tokenizer = try Self.loadTokenizer(folder)
    }

    static func loadTokenizer(_ folder: URL) throws -> Tokenizer? {
        let fm = FileManager.default
        let candidates = ["tokenizer.json", "vocab.json", "vocab.txt"]
        guard candidates.contains(where: { fm.fileExists(atPath: folder.appendingPathComponent($0).path) }) else {
            return nil
        }
        return try Tokenizer.load(from: folder)
    }
}
