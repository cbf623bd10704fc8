/// The prediction heads of AdapterHub's flex-head models that this library runs (`head_type` in
/// `head_config.json`).
public enum HeadType: String, Codable, Sendable, CaseIterable {
    /// One label per sequence from its first token; with one label it is a regression head (MSE), as
    /// AdapterHub's `ClassificationHead` does when `num_labels == 1`.
    case classification
    /// Independent yes/no per label from the first token: sigmoid, binary cross-entropy.
    case multilabelClassification = "multilabel_classification"
    /// One label per token (NER, POS): the head runs on every token's last hidden state.
    case tagging
    /// One score per choice (each choice a sequence of its own, first token), softmax over an example's choices.
    case multipleChoice = "multiple_choice"
    /// Extractive question answering: a start and an end score on every token (AdapterHub's
    /// `QuestionAnsweringHead`, `num_labels` 2); the loss is the mean of the start and end cross-entropies
    /// over each sequence's positions.
    case questionAnswering = "question_answering"
}

/// A prediction head's shape as `head_config.json` describes it: `layers` linear layers, each after a
/// dropout, the hidden ones `[C, C]` followed by `activation`, the last `[numLabels, C]`.
/// AdapterHub's modules are then numbered `0 Dropout, 1 Linear, 2 Act, 3 Dropout, 4 Linear, …`.
public struct HeadConfig: Codable, Sendable, Equatable {
    public var type: HeadType
    public var layers: Int
    public var activation: AdapterActivation

    public init(type: HeadType, layers: Int? = nil, activation: AdapterActivation = .tanh) {
        self.type = type
        self.layers = layers ?? Self.defaultLayers(type)
        self.activation = activation
    }

    /// AdapterHub's `add_*_head` defaults: 2 layers for sequence heads, 1 for tagging and question answering.
    public static func defaultLayers(_ type: HeadType) -> Int {
        type == .tagging || type == .questionAnswering ? 1 : 2
    }

    /// The most layers a head may have (the head's dropout streams use sites 0 …  maxLayers − 1 of its layer).
    public static let maxLayers = 6

    /// Whether the head reads every token (tagging, question answering) rather than each sequence's first token.
    public var readsEveryToken: Bool { type == .tagging || type == .questionAnswering }

    /// The module index of linear layer `i` (0-based) in AdapterHub's `nn.Sequential`: `heads.NAME.<index>.weight`.
    public static func linearIndex(_ i: Int) -> Int { 3 * i + 1 }

    /// Checks the layer count; `source` names the file or flag in the error.
    public func validate(source: String) throws {
        guard (1...Self.maxLayers).contains(layers) else {
            throw AdapterError.unsupportedHead(
                source: source,
                detail: "a \(type.rawValue) head of \(layers) layers (1 to \(Self.maxLayers) are supported)")
        }
    }
}
