import Foundation

/// The README.md of an adapter repository, in the shape AdapterHub's `push_adapter_to_hub` writes
/// (`adapters/hub_mixin.py`, `ADAPTER_CARD_TEMPLATE`): YAML front matter tagged `adapter-transformers` (the tag the
/// Hub maps to the Adapters library), then title, description, usage, training and results sections.
///
/// Additions over AdapterHub's card: `library_name` and `base_model` in the metadata (so the Hub links the base
/// model), `model-index` results when evaluation metrics are given, and usage with this project's CLI.
public struct AdapterModelCard: Sendable, Equatable {
    /// The adapter repository, e.g. `org/roberta-base-sst2-seq-bn`.
    public var repoID: String
    /// The base model the adapter was trained on, e.g. `roberta-base`.
    public var baseModel: String
    /// `config.model_type` of the base model (`roberta`, `bert`): AdapterHub adds it as a tag.
    public var modelType: String?
    /// Training datasets (Hub ids); the first one is named in the description.
    public var datasets: [String]
    /// More tags (`text-classification`, the adapter method, ...).
    public var tags: [String]
    /// Language codes (`en`).
    public var languages: [String]
    /// License id (`apache-2.0`).
    public var license: String?
    /// Head type, e.g. `classification`: "includes a prediction head for classification".
    public var headType: String?
    /// Markdown for "Architecture & Training" (method, hyper-parameters); a placeholder comment when nil.
    public var architectureAndTraining: String?
    /// Evaluation results, written to `model-index` and as a table.
    public var results: EvaluationResults?
    /// Markdown for "Citation".
    public var citation: String?

    public init(
        repoID: String,
        baseModel: String,
        modelType: String? = nil,
        datasets: [String] = [],
        tags: [String] = [],
        languages: [String] = [],
        license: String? = nil,
        headType: String? = nil,
        architectureAndTraining: String? = nil,
        results: EvaluationResults? = nil,
        citation: String? = nil
    ) {
        self.repoID = repoID
        self.baseModel = baseModel
        self.modelType = modelType
        self.datasets = datasets
        self.tags = tags
        self.languages = languages
        self.license = license
        self.headType = headType
        self.architectureAndTraining = architectureAndTraining
        self.results = results
        self.citation = citation
    }

    /// Metrics of one evaluation, as in a `model-index` entry.
    public struct EvaluationResults: Sendable, Equatable {
        /// Task id, e.g. `text-classification`.
        public var taskType: String
        /// Human task name, e.g. `Text Classification`.
        public var taskName: String?
        /// Dataset id the metrics were measured on.
        public var dataset: String
        /// Dataset config, if any.
        public var datasetConfig: String?
        /// Split, e.g. `test`.
        public var split: String?
        /// Metric type (`accuracy`, `f1`) and value, in the order to show them.
        public var metrics: [Metric]

        public init(
            taskType: String = "text-classification",
            taskName: String? = "Text Classification",
            dataset: String,
            datasetConfig: String? = nil,
            split: String? = nil,
            metrics: [Metric]
        ) {
            self.taskType = taskType
            self.taskName = taskName
            self.dataset = dataset
            self.datasetConfig = datasetConfig
            self.split = split
            self.metrics = metrics
        }

        /// Accuracy and macro-F1 of a training run's final evaluation.
        public static func classification(
            dataset: String, split: String? = nil, accuracy: Double?, f1: Double?
        ) -> EvaluationResults {
            var metrics: [Metric] = []
            if let accuracy { metrics.append(Metric(type: "accuracy", value: accuracy, name: "Accuracy")) }
            if let f1 { metrics.append(Metric(type: "f1", value: f1, name: "F1 (macro)")) }
            return EvaluationResults(dataset: dataset, split: split, metrics: metrics)
        }
    }

    public struct Metric: Sendable, Equatable {
        public var type: String
        public var value: Double
        public var name: String?

        public init(type: String, value: Double, name: String? = nil) {
            self.type = type
            self.value = value
            self.name = name
        }
    }

    static let placeholder = "<!-- Add some description here -->"

    /// The whole README.md.
    public func render() -> String {
        frontMatter() + "\n" + body()
    }

    /// `---` YAML `---`.
    func frontMatter() -> String {
        var lines = ["---", "library_name: adapter-transformers", "base_model: \(YAML.scalar(baseModel))", "tags:"]
        var allTags = ["adapter-transformers"]
        if let modelType { allTags.append(modelType) }
        for tag in tags where !allTags.contains(tag) { allTags.append(tag) }
        lines += allTags.map { "- \(YAML.scalar($0))" }
        if !datasets.isEmpty {
            lines.append("datasets:")
            lines += datasets.map { "- \(YAML.scalar($0))" }
        }
        if !languages.isEmpty {
            lines.append("language:")
            lines += languages.map { "- \(YAML.scalar($0))" }
        }
        if let license { lines.append("license: \(YAML.scalar(license))") }
        if let results, !results.metrics.isEmpty {
            lines.append("metrics:")
            lines += results.metrics.map { "- \(YAML.scalar($0.type))" }
            lines += modelIndex(results)
        }
        lines.append("---")
        return lines.joined(separator: "\n") + "\n"
    }

    private func modelIndex(_ results: EvaluationResults) -> [String] {
        var lines = ["model-index:", "- name: \(YAML.scalar(repoID))", "  results:", "  - task:"]
        lines.append("      type: \(YAML.scalar(results.taskType))")
        if let name = results.taskName { lines.append("      name: \(YAML.scalar(name))") }
        lines += [
            "    dataset:", "      name: \(YAML.scalar(results.dataset))",
            "      type: \(YAML.scalar(results.dataset))",
        ]
        if let config = results.datasetConfig { lines.append("      config: \(YAML.scalar(config))") }
        if let split = results.split { lines.append("      split: \(YAML.scalar(split))") }
        lines.append("    metrics:")
        for metric in results.metrics {
            lines.append("    - type: \(YAML.scalar(metric.type))")
            lines.append("      value: \(YAML.number(metric.value))")
            if let name = metric.name { lines.append("      name: \(YAML.scalar(name))") }
        }
        return lines
    }

    private func body() -> String {
        let datasetText = datasets.first.map { "[\($0)](https://huggingface.co/datasets/\($0)/)" }
        let trainedOn = datasetText.map { " that was trained on the \($0) dataset" } ?? ""
        let headInfo =
            headType.map { " and includes a prediction head for \($0.replacingOccurrences(of: "_", with: " "))" } ?? ""
        var text = """
            # Adapter `\(repoID)` for \(baseModel)

            An [adapter](https://adapterhub.ml) for the `\(baseModel)` model\(trainedOn)\(headInfo).

            This adapter was created for usage with the **[Adapters](https://github.com/Adapter-Hub/adapters)** \
            library. It was trained with SwiftAdapters and loads in both.

            ## Usage

            With Python, install `adapters`:

            ```
            pip install -U adapters
            ```

            Now, the adapter can be loaded and activated like this:

            ```python
            from adapters import AutoAdapterModel

            model = AutoAdapterModel.from_pretrained("\(Self.pythonString(baseModel))")
            adapter_name = model.load_adapter("\(Self.pythonString(repoID))", set_active=True)
            ```

            With the `adapters` command-line tool of SwiftAdapters (downloads into the same Hugging Face cache):

            ```
            adapters predict --model \(Self.shellWord(baseModel)) --adapter \(Self.shellWord(repoID)) --input texts.txt
            ```

            ## Architecture & Training

            \(architectureAndTraining ?? Self.placeholder)

            ## Evaluation results

            \(resultsMarkdown())

            ## Citation

            \(citation ?? Self.placeholder)

            """
        if !text.hasSuffix("\n") { text += "\n" }
        return text
    }

    private func resultsMarkdown() -> String {
        guard let results, !results.metrics.isEmpty else { return Self.placeholder }
        var where_ = "`\(results.dataset)`"
        if let split = results.split { where_ += " (\(split) split)" }
        var lines = ["Measured on \(where_):", "", "| metric | value |", "| --- | --- |"]
        for metric in results.metrics {
            lines.append("| \(metric.name ?? metric.type) | \(String(format: "%.4f", metric.value)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Escapes a value for a double-quoted Python string.
    private static func pythonString(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    /// A shell word: as is when plain, else single-quoted.
    private static func shellWord(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || "-_./@:".unicodeScalars.contains($0)
            }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Just enough YAML writing for model card metadata: scalars quoted whenever a plain scalar could be misread.
public enum YAML {
    /// `text` as a YAML scalar: plain when unambiguous (letters, digits and `-_./+` not starting with a
    /// special character, and not a boolean, null or number), otherwise double-quoted with escapes.
    public static func scalar(_ text: String) -> String {
        if isPlainSafe(text) { return text }
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                result += String(format: "\\x%02X", scalar.value)
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A finite number in a form YAML reads back as the same float; `.nan`/`.inf` otherwise.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return ".nan" }
        if value.isInfinite { return value > 0 ? ".inf" : "-.inf" }
        return "\(value)"
    }

    private static let reserved: Set<String> = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "nan", ".nan", "inf", ".inf",
    ]

    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first else { return false }
        if reserved.contains(text.lowercased()) || Double(text) != nil { return false }
        let allowed = text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "-_./+ ()".unicodeScalars.contains($0)
        }
        let firstOK = ("a"..."z").contains(first) || ("A"..."Z").contains(first) || ("0"..."9").contains(first)
        return allowed && firstOK && !text.hasSuffix(" ")
    }
}
