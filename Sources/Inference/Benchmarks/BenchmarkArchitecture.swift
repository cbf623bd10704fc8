import Encoders
import Foundation
import Kernels

/// The architectures `adapters bench` measures, configured exactly as the PyTorch baseline
/// (`shared/bench/pt_baseline.py`, `make_config`) builds them; weights are random since
/// throughput does not depend on their values.
public enum BenchmarkArchitecture: String, CaseIterable, Sendable {
    case robertaBase = "roberta-base"
    case miniLM = "minilm-l6"

    public var config: EncoderConfig {
        switch self {
        case .robertaBase:
            EncoderConfig(
                modelType: .roberta, vocabSize: 50265, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
                intermediateSize: 3072, maxPositionEmbeddings: 514, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1)
        case .miniLM:
            EncoderConfig(
                modelType: .bert, vocabSize: 30522, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12,
                intermediateSize: 1536, maxPositionEmbeddings: 512, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0)
        }
    }

    /// The baseline script's case name for inference.
    public var baselineInferenceCase: String { self == .robertaBase ? "roberta_infer" : "minilm_infer" }

    /// A 2-label sequence-classification model with random weights (`AutoModelForSequenceClassification.from_config`).
    public func makeModel(seed: UInt64 = 0) -> EncoderModel {
        let c = config
        let layout: SequenceClassificationHead.Layout = c.modelType == .roberta ? .roberta : .bert
        let model = EncoderModel(
            config: c, withPooler: layout == .bert,
            head: SequenceClassificationHead(layout: layout, hiddenSize: c.hiddenSize, numLabels: 2))
        model.weights.arena.preferHugePages()  // as `EncoderModel.load` asks for fp32 weights
        model.randomize(seed: seed)
        return model
    }

    /// The baseline's workload (`make_batch`): random ids, real lengths uniform in [0.6·L, L] with
    /// row 0 full length, `<s>`/`[CLS]` first and `</s>`/`[SEP]` last, right padding.
    public func makeBatch(batch: Int, length: Int, seed: UInt64) throws -> TokenBatch {
        var rng = SeededGenerator(seed: seed)
        let c = config
        let (bos, eos): (Int32, Int32) = c.modelType == .roberta ? (0, 2) : (101, 102)
        var sequences: [[Int32]] = []
        for b in 0..<batch {
            let n = b == 0 ? length : Int.random(in: (length * 6 / 10)...length, using: &rng)
            var ids = (0..<n).map { _ in Int32.random(in: 5..<Int32(c.vocabSize), using: &rng) }
            ids[0] = bos
            ids[n - 1] = eos
            sequences.append(ids)
        }
        return try TokenBatch(sequences: sequences, padId: Int32(c.padTokenId))
    }

    /// Forward FLOPs of the encoder (GEMMs + attention), counted over padded tokens as the
    /// baseline's `flop_estimate` does, so GFLOP/s figures compare like with like.
    public func forwardFLOPs(batch: Int, length: Int) -> Double {
        let c = config
        let h = Double(c.hiddenSize)
        let i = Double(c.intermediateSize)
        let t = Double(batch * length)
        let perLayer = 2 * t * (4 * h * h + 2 * h * i) + 2 * (2 * Double(batch) * Double(length * length) * h)
        return perLayer * Double(c.numHiddenLayers)
    }
}

/// Peak resident set size of this process (VmHWM), in MiB; nil where /proc is absent.
public func peakResidentMiB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.split(separator: " ").compactMap { Double($0) }
        return digits.first.map { $0 / 1024 }
    }
    return nil
}
