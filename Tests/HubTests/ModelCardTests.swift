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

    @Test func frontMatterAsAdapterHubWritesItPlusHubMetadata() {
        let text = card.render()
        let expected = """
            ---
            library_name: adapter-transformers
            base_model: roberta-base
            tags:
            - adapter-transformers
            - roberta
            - text-classification
            - lora
            datasets:
            - sst2
            language:
            - en
            license: apache-2.0
            metrics:
            - accuracy
            - f1
            model-index:
            - name: org/roberta-sst2-lora
              results:
              - task:
                  type: text-classification
                  name: Text Classification
                dataset:
                  name: sst2
                  type: sst2
                  split: validation
                metrics:
                - type: accuracy
                  value: 0.9243
                  name: Accuracy
                - type: f1
                  value: 0.9241
                  name: F1 (macro)
            ---

            """
        #expect(text.hasPrefix(expected))
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
