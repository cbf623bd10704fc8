import Foundation
import Kernels

/// The encoder families we run; raw values are HF's `model_type`.
public enum ModelType: String, Codable, Sendable, CaseIterable {
    case bert
    case roberta
}

/// HF `hidden_act` values we implement.
public enum HiddenActivation: String, Codable, Sendable, CaseIterable {
    case gelu
    case geluNew = "gelu_new"
    case geluPytorchTanh = "gelu_pytorch_tanh"

    public var geluForm: GELUForm {
        switch self {
        case .gelu: .erf
        case .geluNew, .geluPytorchTanh: .tanh
        }
    }
}

/// A typed HF `config.json` for BERT and RoBERTa encoders. Unknown keys are ignored; the keys
/// that fix the architecture's shapes are required; the rest default as transformers does.
public struct EncoderConfig: Codable, Sendable, Equatable {
    public var modelType: ModelType
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: HiddenActivation
    public var hiddenDropoutProb: Float
    public var attentionProbsDropoutProb: Float
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenId: Int
    public var architectures: [String]?
    /// Label names by class index, from `id2label` (keys are decimal strings in the file).
    public var id2label: [Int: String]?
    public var classifierDropout: Float?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id"
        case positionEmbeddingType = "position_embedding_type"
        case architectures
        case id2label
        case classifierDropout = "classifier_dropout"
    }

    public init(
        modelType: ModelType, vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int,
        numAttentionHeads: Int, intermediateSize: Int, hiddenAct: HiddenActivation = .gelu,
        hiddenDropoutProb: Float = 0.1, attentionProbsDropoutProb: Float = 0.1,
        maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12,
        padTokenId: Int = 0, architectures: [String]? = nil, id2label: [Int: String]? = nil,
        classifierDropout: Float? = nil
    ) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
        self.architectures = architectures
        self.id2label = id2label
        self.classifierDropout = classifierDropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(ModelType.self, forKey: .modelType)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        hiddenAct = try c.decodeIfPresent(HiddenActivation.self, forKey: .hiddenAct) ?? .gelu
        hiddenDropoutProb = try c.decodeIfPresent(Float.self, forKey: .hiddenDropoutProb) ?? 0.1
        attentionProbsDropoutProb = try c.decodeIfPresent(Float.self, forKey: .attentionProbsDropoutProb) ?? 0.1
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        padTokenId =
            try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? (modelType == .roberta ? 1 : 0)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout)
        if let position = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType),
            position != "absolute"
        {
            throw DecodingError.dataCorruptedError(
                forKey: .positionEmbeddingType, in: c,
                debugDescription: "position_embedding_type '\(position)' is not supported (only 'absolute')")
        }
        if let labels = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            var map: [Int: String] = [:]
            for (k, v) in labels {
                guard let i = Int(k), i >= 0 else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .id2label, in: c, debugDescription: "id2label key '\(k)' is not a class index")
                }
                map[i] = v
            }
            id2label = map
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(hiddenDropoutProb, forKey: .hiddenDropoutProb)
        try c.encode(attentionProbsDropoutProb, forKey: .attentionProbsDropoutProb)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encodeIfPresent(architectures, forKey: .architectures)
        try c.encodeIfPresent(classifierDropout, forKey: .classifierDropout)
        if let id2label {
            try c.encode(
                Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }), forKey: .id2label)
        }
    }

    /// Decodes `config.json` bytes; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> EncoderConfig {
        // Valid values we do not implement are "unsupported", not "invalid": name the key and what runs.
        if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            let known: [(String, [String])] = [
                ("model_type", ModelType.allCases.map(\.rawValue)),
                ("hidden_act", HiddenActivation.allCases.map(\.rawValue)),
                ("position_embedding_type", ["absolute"]),
            ]
            for (key, values) in known {
                if let value = object[key] as? String, !values.contains(value) {
                    throw EncoderError.unsupported(
                        path: path, detail: "\(key) '\(value)' (this version runs \(values.joined(separator: ", ")))")
                }
            }
        }
        let config: EncoderConfig
        do {
            config = try JSONDecoder().decode(EncoderConfig.self, from: data)
        } catch let error as DecodingError {
            throw EncoderError.invalidConfig(path: path, detail: describe(error))
        } catch {
            throw EncoderError.invalidConfig(path: path, detail: "not valid JSON")
        }
        try config.validate(path: path)
        return config
    }

    /// Checks the relations between sizes that the kernels rely on.
    public func validate(path: String) throws {
        func bad(_ detail: String) -> EncoderError { .invalidConfig(path: path, detail: detail) }
        for (name, v) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize),
        ] where v <= 0 {
            throw bad("\(name) must be positive, got \(v)")
        }
        for (name, v, limit) in [
            ("vocab_size", vocabSize, Self.limits.vocabSize), ("hidden_size", hiddenSize, Self.limits.hiddenSize),
            ("num_hidden_layers", numHiddenLayers, Self.limits.layers),
            ("num_attention_heads", numAttentionHeads, Self.limits.hiddenSize),
            ("intermediate_size", intermediateSize, Self.limits.intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings, Self.limits.positions),
            ("type_vocab_size", typeVocabSize, Self.limits.typeVocabSize),
        ] where v > limit {
            throw bad("\(name) \(v) is beyond any encoder's (at most \(limit)); is the file damaged?")
        }
        if hiddenSize % numAttentionHeads != 0 {
            throw bad("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        if padTokenId < 0 || padTokenId >= vocabSize {
            throw bad("pad_token_id \(padTokenId) is outside the vocabulary of \(vocabSize)")
        }
        if !(layerNormEps > 0) { throw bad("layer_norm_eps must be positive") }
        for (name, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb)]
        where !(p >= 0 && p < 1) {
            throw bad("\(name) must be in [0, 1), got \(p)")
        }
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Upper bounds well above every published BERT/RoBERTa-family encoder (XLM-R XXL: vocab 250,002,
    /// hidden 4,096, 48 layers, FFN 16,384), so that a typo or a damaged file is refused before any size
    /// from it is multiplied out; the checkpoint's own shapes are checked against the rest at load time.
    public static let limits = (
        vocabSize: 1 << 24, hiddenSize: 1 << 15, layers: 1 << 10, intermediateSize: 1 << 18, positions: 1 << 20,
        typeVocabSize: 1 << 16
    )

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            let at = path(ctx.codingPath)
            return "missing required key '\(at.isEmpty ? "" : at + ".")\(key.stringValue)'"
        case .typeMismatch(let type, let ctx):
            return "'\(path(ctx.codingPath))' has the wrong type (expected \(type))"
        case .valueNotFound(let type, let ctx):
            return "'\(path(ctx.codingPath))' is null (expected \(type))"
        case .dataCorrupted(let ctx):
            let at = path(ctx.codingPath)
            if at.isEmpty { return "not valid JSON" }
            return "'\(at)': \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
