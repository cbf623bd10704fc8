import ArgumentParser
import Dispatch
import Foundation
import Hub
import Logging

/// Hub ids wherever the CLI takes a model, an adapter or a dataset: an existing path is used as
/// is; otherwise `org/name` (or a bare name such as `roberta-base`), optionally `@revision`, is
/// downloaded into the Hugging Face cache shared with Python (`HF_HOME`, `HF_HUB_CACHE`,
/// `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE` as huggingface_hub reads them).
enum HubAccess {
    /// A local folder for a `--model` (`.model` selection) or `--adapter` (`.all`) argument.
    static func folder(_ argument: String, selection: FileSelection) throws -> URL {
        // Paths (existing, or written as paths) go to the loaders, whose errors name the missing file.
        let pathLike = ["/", "./", "../", "~"].contains { argument.hasPrefix($0) }
        if pathLike || FileManager.default.fileExists(atPath: argument) { return URL(fileURLWithPath: argument) }
        let bar = ProgressBar()
        defer { bar.finish() }
        return try runBlocking {
            try await HubClient.with(logger: hubLogger) { hub in
                try await hub.resolveFolder(argument, selection: selection, progress: bar.handler)
            }
        }
    }

    /// The data files of one split: a local file, a local folder's split files, or a Hub dataset's
    /// Parquet shards, in order.
    static func datasetSplit(_ argument: String, split: String, config: String?) throws -> [URL] {
        let bar = ProgressBar()
        defer { bar.finish() }
        return try runBlocking {
            try await HubClient.with(logger: hubLogger) { hub in
                try await hub.resolveDatasetSplit(argument, split: split, config: config, progress: bar.handler)
            }
        }
    }

    /// The cached snapshot of a Hub model at `main`, read without any request; nil when not cached.
    static func cachedSnapshot(_ id: String) -> URL? {
        guard let repo = try? RepoID(id) else { return nil }
        return HubCache(root: HubEnvironment().cacheDirectory).cachedSnapshot(RepoReference(repo), revision: "main")
    }

    static var hubLogger: Logger {
        var l = Logger(label: "hub")
        l.logLevel = logger.logLevel
        return l
    }
}

/// `--dataset` and `--dataset-config` (train, evaluate): a dataset's split files instead of a file.
struct HubDatasetOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "A dataset (Hub id such as amazon_polarity or org/name[@revision], or a local folder) whose Parquet files of a split are used.")
    var dataset: String?

    @Option(name: .long, help: "Dataset configuration (subset), when the dataset has several.")
    var datasetConfig: String?

    /// The files of `split` (downloaded into the HF cache for a Hub id).
    func files(split: String) throws -> [String] {
        guard let dataset else { return [] }
        return try HubAccess.datasetSplit(dataset, split: split, config: datasetConfig).map(\.path)
    }
}

/// Runs async work from a synchronous command and waits for it.
func runBlocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw ValidationError("internal: the task ended without a result") }
    return try result.get()
}

/// Where `runBlocking`'s task leaves its result; written once before the semaphore is signalled.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
