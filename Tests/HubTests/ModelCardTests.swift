import Foundation
import Hub
import Testing

@Suite("Adapter model cards")
struct ModelCardTests {
    let card = AdapterModelCard(
        repoID: "org/roberta-sst2-lora", baseModel: "roberta-base", modelType: "roberta", datasets: ["sst2"],
        tags: ["text-classification", "lora"], languages: ["en"], license: "apache-2.0", headType: "classification",
        architectureAndTraining: "LoRA r=8, alpha=8 on query and value; 1 epoch, lr 3e-4.",
        results: .classification(dataset: "sst2", split: "validation", accuracy: 0.9243, f1: 0.9241))

    /// The card's metadata as huggingface_hub's `ModelCardData` takes it: what the front matter must say.
    static let cardMetadata: [String: Any] = [
        "library_name": "adapter-transformers", "base_model": "roberta-base",
        "tags": ["adapter-transformers", "roberta", "text-classification", "lora"], "datasets": ["sst2"],
        "language": ["en"], "license": "apache-2.0", "metrics": ["accuracy", "f1"],
        "model_name": "org/roberta-sst2-lora",
        "eval_results": [
            [
                "task_type": "text-classification", "task_name": "Text Classification", "dataset_type": "sst2",
                "dataset_name": "sst2", "dataset_split": "validation", "metric_type": "accuracy",
                "metric_value": 0.9243, "metric_name": "Accuracy",
            ],
            [
                "task_type": "text-classification", "task_name": "Text Classification", "dataset_type": "sst2",
                "dataset_name": "sst2", "dataset_split": "validation", "metric_type": "f1", "metric_value": 0.9241,
                "metric_name": "F1 (macro)",
            ],
        ],
    ]

    /// For each case (a card we render and the metadata it should hold), the real huggingface_hub 0.36.2:
    /// parses our card with `ModelCard` (as the Hub's tooling reads it) and renders the same metadata with
    /// `ModelCardData(...).to_yaml()`. JSON values are dumped with sorted keys, to compare as text.
    static let script = #"""
        import json, sys, yaml
        from huggingface_hub import EvalResult, ModelCard, ModelCardData, __version__
        dump = lambda value: json.dumps(value, sort_keys=True)
        out = {"version": __version__, "cases": []}
        for case in json.load(open(sys.argv[1])):
            text = case["card"]
            ours = ModelCard(text, ignore_metadata_errors=False)
            spec = dict(case["metadata"])
            evals = [EvalResult(**e) for e in spec.pop("eval_results", [])]
            reference = ModelCardData(**spec, eval_results=evals or None)
            reference_yaml = reference.to_yaml()
            front = text.split("\n---\n")[0]
            assert front.startswith("---\n"), front
            front = front[len("---\n"):]
            out["cases"].append({
                "parsed": dump(ours.data.to_dict()),
                "reference": dump(reference.to_dict()),
                "ours_yaml": dump(yaml.safe_load(front)),
                "reference_yaml": dump(yaml.safe_load(reference_yaml)),
                "ours_text": front,
                "reference_text": reference_yaml,
                "body": ours.text,
            })
        print(json.dumps(out))
        """#

    /// Runs `script` on `cases` with the pinned huggingface_hub (fails, saying what to run, without it).
    func huggingFaceHub(_ cases: [(card: String, metadata: [String: Any])]) throws -> [[String: String]] {
        let (status, data, errorText) = try HubPython.run(Self.script, environment: ["HF_HUB_OFFLINE": "1"]) { folder in
            let jobURL = folder.appendingPathComponent("cards.json")
            try JSONSerialization.data(withJSONObject: cases.map { ["card": $0.card, "metadata": $0.metadata] })
                .write(to: jobURL)
            return [jobURL.path]
        }
        try #require(status == 0, "huggingface_hub could not read our card: \(errorText)")
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(result["version"] as? String == "0.36.2", "the pinned huggingface_hub (scripts/setup.sh)")
        let parsed = result["cases"] as? [[String: String]] ?? []
        try #require(parsed.count == cases.count)
        return parsed
    }

    /// Top-level YAML entries (a key with its indented and `- ` lines) by key, to compare them whatever their order.
    static func blocks(_ yaml: String) -> [String: String] {
        var result: [String: String] = [:]
        var key = ""
        for line in yaml.split(separator: "\n") {
            if !line.hasPrefix(" ") && !line.hasPrefix("-") {
                key = String(line.prefix { $0 != ":" })
                result[key] = String(line)
            } else {
                result[key, default: ""] += "\n" + line
            }
        }
        return result
    }

    /// The front matter against huggingface_hub: parsed by `ModelCard`, it is the metadata `ModelCardData`
    /// holds for these values; as YAML, the same mapping and, entry by entry, the same text as `to_yaml()`
    /// writes (only the order of the top-level keys is AdapterHub's).
    @Test func frontMatterIsWhatHuggingFaceHubWritesAndReads() throws {
        let text = card.render()
        let result = try #require(try huggingFaceHub([(text, Self.cardMetadata)]).first)
        #expect(result["parsed"] == result["reference"])
        #expect(result["ours_yaml"] == result["reference_yaml"])
        let ours = Self.blocks(result["ours_text"] ?? "")
        let theirs = Self.blocks(result["reference_text"] ?? "")
        #expect(theirs.count == 8 && theirs["model-index"]?.contains("name: F1 (macro)") == true)
        #expect(ours.keys.sorted() == theirs.keys.sorted())
        for key in theirs.keys.sorted() {
            #expect(ours[key] == theirs[key], "\(key)")
        }
        // AdapterHub's order: library_name and base_model first, then the adapter-transformers tag.
        #expect(text.hasPrefix("---\nlibrary_name: adapter-transformers\nbase_model: roberta-base\ntags:\n- adapter-transformers\n"))
        #expect(result["body"]?.hasPrefix("\n# Adapter `org/roberta-sst2-lora` for roberta-base\n") == true, "\(result["body"] ?? "")")
    }

    /// A minimal card, and one with values that need quoting, read back with huggingface_hub as exactly those values.
    @Test func huggingFaceHubReadsMinimalAndHostileCardsBackExactly() throws {
        let minimal = AdapterModelCard(repoID: "org/a", baseModel: "bert-base-uncased")
        let base = "x\n---\nevil: true"
        let datasets = ["d: {x}", "yes", "1.0", "#tag", "- dash", "say \"hi\"\\", "null"]
        let tags = ["[a]", "on", "tab\there", "~"]
        let license = "\u{7}bell"
        let hostile = AdapterModelCard(repoID: "org/a", baseModel: base, datasets: datasets, tags: tags, license: license)
        let results = try huggingFaceHub([
            (
                minimal.render(),
                ["library_name": "adapter-transformers", "base_model": "bert-base-uncased", "tags": ["adapter-transformers"]]
            ),
            (
                hostile.render(),
                [
                    "library_name": "adapter-transformers", "base_model": base, "tags": ["adapter-transformers"] + tags,
                    "datasets": datasets, "license": license,
                ]
            ),
        ])
        for (name, result) in zip(["minimal", "hostile"], results) {
            #expect(result["parsed"] == result["reference"], "\(name)")
            #expect(result["ours_yaml"] == result["reference_yaml"], "\(name)")
        }
        #expect(
            results.first?["ours_text"]
                == "library_name: adapter-transformers\nbase_model: bert-base-uncased\ntags:\n- adapter-transformers")
    }

    @Test func bodyHasBothUsageSnippetsAndResults() {
        let text = card.render()
        #expect(text.contains("# Adapter `org/roberta-sst2-lora` for roberta-base"))
        #expect(text.contains("trained on the [sst2](https://huggingface.co/datasets/sst2/) dataset"))
        #expect(text.contains("includes a prediction head for classification"))
        #expect(text.contains("model = AutoAdapterModel.from_pretrained(\"roberta-base\")"))
        #expect(text.contains("adapter_name = model.load_adapter(\"org/roberta-sst2-lora\", set_active=True)"))
        #expect(text.contains("adapters predict --model roberta-base --adapter org/roberta-sst2-lora"))
        #expect(text.contains("| Accuracy | 0.9243 |"))
        #expect(text.contains("LoRA r=8"))
    }

    @Test func minimalCardUsesPlaceholders() {
        let text = AdapterModelCard(repoID: "org/a", baseModel: "bert-base-uncased").render()
        #expect(text.contains("tags:\n- adapter-transformers\n---"))
        #expect(text.contains("<!-- Add some description here -->"))
        #expect(!text.contains("model-index"))
    }

    @Test func yamlScalarsAreQuotedWhenNeeded() {
        #expect(YAML.scalar("roberta-base") == "roberta-base")
        #expect(YAML.scalar("org/name") == "org/name")
        #expect(YAML.scalar("yes") == "\"yes\"")
        #expect(YAML.scalar("null") == "\"null\"")
        #expect(YAML.scalar("1.0") == "\"1.0\"")
        #expect(YAML.scalar("a: b") == "\"a: b\"")
        #expect(YAML.scalar("#tag") == "\"#tag\"")
        #expect(YAML.scalar("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"")
        #expect(YAML.scalar("two\nlines") == "\"two\\nlines\"")
        #expect(YAML.scalar("") == "\"\"")
        #expect(YAML.scalar("- dash") == "\"- dash\"")
        #expect(YAML.number(0.5) == "0.5")
        #expect(YAML.number(.nan) == ".nan")
    }

    @Test func hostileValuesCannotBreakTheFrontMatter() {
        let hostile = AdapterModelCard(
            repoID: "org/a", baseModel: "x\n---\nevil: true", datasets: ["d: {x}"], tags: ["[a]"])
        let text = hostile.render()
        let frontMatter = text.components(separatedBy: "\n---\n")[0]
        #expect(!frontMatter.contains("\nevil: true"))
        #expect(frontMatter.contains("base_model: \"x\\n---\\nevil: true\""))
        #expect(frontMatter.contains("- \"d: {x}\""))
        #expect(frontMatter.contains("- \"[a]\""))
    }
}
