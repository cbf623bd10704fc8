import Adapters

/// A prediction head as AdapterHub builds it (`PredictionHead.build`): `config.layers` linear layers, each
/// after a dropout, the hidden ones `[C, C]` followed by the activation, the last `[numLabels, C]` —
/// `heads.NAME.1.*` and `heads.NAME.4.*` for the default 2-layer classification head (`0 Dropout, 1 Linear,
/// 2 Tanh, 3 Dropout, 4 Linear`), `heads.NAME.1.*` alone for a 1-layer tagging head. Sequence heads read each
/// sequence's first token; a tagging head every token.
public struct HeadSpec: Sendable, Equatable {
    public var name: String
    /// Label names by index; one name for a regression head.
    public var labels: [String]
    /// Dropout before each linear layer; AdapterHub uses `classifier_dropout`, else `hidden_dropout_prob`.
    public var dropout: Float
    public var config: HeadConfig

    public init(name: String, labels: [String], dropout: Float, config: HeadConfig = HeadConfig(type: .classification))
    {
        self.name = name
        self.labels = labels
        self.dropout = dropout
        self.config = config
    }

    /// Label names count; for a multiple-choice head, the number of choices (`num_choices`).
    public var numLabels: Int { labels.count }
    /// Outputs of the last linear layer: one score per choice sequence for multiple choice, else one per label.
    public var outputWidth: Int { config.type == .multipleChoice ? 1 : labels.count }
    public var type: HeadType { config.type }
    /// A head with one class per sequence chosen by softmax (classification with at least 2 labels).
    public var isSingleLabel: Bool { config.type == .classification && labels.count >= 2 }
    /// A classification head with one output: AdapterHub trains it with MSE (`ClassificationHead`).
    public var isRegression: Bool { config.type == .classification && labels.count == 1 }

    /// The name of linear layer `i`'s tensors without the `weight`/`bias` suffix: `heads.NAME.<3i+1>.`.
    public func linearPrefix(_ i: Int) -> String { "heads.\(name).\(HeadConfig.linearIndex(i))." }

    /// Every tensor of the head with its shape, in module order.
    public func tensorShapes(hiddenSize c: Int) -> [(name: String, shape: [Int])] {
        (0..<config.layers).flatMap { i -> [(name: String, shape: [Int])] in
            let out = i == config.layers - 1 ? outputWidth : c
            return [(linearPrefix(i) + "weight", [out, c]), (linearPrefix(i) + "bias", [out])]
        }
    }

    /// "regression", "classification (3 labels)", "tagging (9 labels)" …, for messages.
    public var describe: String {
        isRegression
            ? "regression"
            : type == .multipleChoice
                ? "multiple_choice (\(numLabels) choices)" : "\(type.rawValue) (\(numLabels) labels)"
    }
}
