import ArgumentParser
import Foundation
import Hub

/// `adapters push`: an adapter folder to a Hub model repository, with a model card.
struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract:
            "Upload an adapter folder to the Hugging Face Hub (push_adapter_to_hub), with a generated model card.",
        discussion: """
            Creates the repository if needed and uploads the folder in one commit through the Hub's commit API \
            (large files through Git LFS). The model card (README.md with YAML metadata: library, base model, \
            dataset, metrics) is built from adapter_config.json, head_config.json and, when the folder came from \
            `adapters train`, its summary.json. The token comes from HF_TOKEN or the token file in HF_HOME and is \
            never printed.
            """)

    @Option(name: .long, help: "Adapter folder (AdapterHub layout).")
    var adapter: String

    @Option(name: .long, help: "Repository id: org/name (or name under your account).")
    var repo: String

    @Flag(name: .long, help: "Create the repository as private (when it does not exist yet).")
    var `private` = false

    @Option(name: .long, help: "Branch to commit to.")
    var revision = "main"

    @Option(name: .long, help: "Dataset the adapter was trained on, for the model card (e.g. amazon_polarity).")
    var dataset: String?

    @Option(name: .long, help: "Commit title.")
    var commitMessage = "Upload adapter"

    func run() throws {
        let folder = URL(fileURLWithPath: adapter)
        let card = try modelCard(folder: folder)
        let bar = ProgressBar()
        let options = PushOptions(private: `private`, revision: revision, commitMessage: commitMessage, modelCard: card)
        let (repository, commit) = try runBlocking {
            try await HubClient.with(logger: HubAccess.hubLogger) { client in
                try await client.push(folder: folder, to: repo, options: options, progress: bar.handler)
            }
        }
        bar.finish()
        print("pushed \(folder.path) to \(repository.id) at \(revision): commit \(commit.oid)")
    }

    /// What the card says, from the folder's own files.
    func modelCard(folder: URL) throws -> AdapterModelCard {
        func json(_ url: URL) -> [String: Any]? {
            (try? Data(contentsOf: url)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
        guard let config = json(folder.appendingPathComponent("adapter_config.json")) else {
            throw ValidationError("\(folder.path): no adapter_config.json (is it an adapter folder?)")
        }
        let baseModel = config["model_name"] as? String ?? "unknown"
        var card = AdapterModelCard(repoID: repo, baseModel: baseModel)
        card.modelType = config["model_type"] as? String
        if let head = json(folder.appendingPathComponent("head_config.json")),
            let headConfig = head["config"] as? [String: Any]
        {
            card.headType = headConfig["head_type"] as? String
        }
        let summary = json(folder.deletingLastPathComponent().appendingPathComponent("summary.json"))
        let datasetName =
            dataset ?? (summary?["dataset"] as? String)
            ?? (summary?["train"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent }
        if let datasetName { card.datasets = [datasetName] }
        if let method = summary?["method"] as? String {
            card.architectureAndTraining =
                "Trained with SwiftAdapters (`adapters train --method \(method)`): \(summary?["steps"] ?? "?") steps, "
                + "\(summary?["trainable_parameters"] ?? "?") trainable parameters."
        }
        if let eval = summary?["eval"] as? [String: Any], let datasetName {
            card.results = .classification(
                dataset: datasetName, split: summary?["eval_data"] as? String,
                accuracy: (eval["accuracy"] as? NSNumber)?.doubleValue, f1: (eval["macro_f1"] as? NSNumber)?.doubleValue
            )
        }
        return card
    }
}
