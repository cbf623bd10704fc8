import Foundation

/// Finds the data files of one split in a dataset repository, by the naming conventions the `datasets` library
/// resolves without a loading script: a folder named after the split (`plain_text/train/0000.parquet`, as on the
/// Hub's `refs/convert/parquet` branch) or a file name with the split as a word (`data/train-00000-of-00004.parquet`,
/// `test.parquet`), where a word is delimited by `-`, `_`, `.`, space, a digit or the ends.
public enum DatasetSplitFiles {
    /// Names the `datasets` library accepts for each standard split.
    public static let synonyms: [String: [String]] = [
        "train": ["train", "training"],
        "validation": ["validation", "valid", "val", "dev"],
        "test": ["test", "testing", "eval", "evaluation"],
    ]

    /// The paths among `paths` that hold `split` (of `config`, when given, which must be a folder on the path),
    /// with extension `fileExtension`, sorted so that shards come in order.
    public static func select(
        _ paths: [String], split: String, config: String? = nil, fileExtension: String = "parquet"
    ) -> [String] {
        let names = synonyms[split.lowercased()] ?? [split]
        let suffix = "." + fileExtension
        return paths.filter { path in
            guard path.hasSuffix(suffix) else { return false }
            var parts = path.split(separator: "/").map(String.init)
            let fileName = parts.removeLast()
            if let config, !parts.contains(config) { return false }
            if parts.contains(where: { names.contains($0) }) { return true }
            let stem = String(fileName.dropLast(suffix.count))
            return names.contains { containsWord(stem, $0) }
        }.sorted()
    }

    /// Whether `word` occurs in `text` with a delimiter (or an end) on both sides.
    static func containsWord(_ text: String, _ word: String) -> Bool {
        func isDelimiter(_ character: Character) -> Bool { "-_. ".contains(character) || character.isNumber }
        var searchStart = text.startIndex
        while let range = text.range(of: word, range: searchStart..<text.endIndex) {
            let beforeOK =
                range.lowerBound == text.startIndex || isDelimiter(text[text.index(before: range.lowerBound)])
            let afterOK = range.upperBound == text.endIndex || isDelimiter(text[range.upperBound])
            if beforeOK && afterOK { return true }
            searchStart = text.index(after: range.lowerBound)
        }
        return false
    }
}

extension HubClient {
    /// The branch where the Hub keeps its automatic Parquet conversion of every dataset.
    public static let parquetConversionRevision = "refs/convert/parquet"

    /// Downloads the Parquet files of one split of a dataset and returns their local paths, in shard order.
    ///
    /// Looks at `revision` first; when it has no Parquet file for the split and `revision` is `main`, tries the
    /// Hub's conversion branch `refs/convert/parquet`. Offline, the cached snapshot of the revision is searched.
    /// Throws ``HubError/entryNotFound(repo:revision:path:)`` naming the split when no file matches.
    public func downloadDatasetSplit(
        _ dataset: RepoID,
        split: String,
        config: String? = nil,
        revision: String = RepoPath.defaultRevision,
        fileExtension: String = "parquet",
        progress: FileProgressHandler? = nil
    ) async throws -> [URL] {
        let repo = RepoReference(dataset, type: .dataset)
        var revisions = [revision]
        if revision == RepoPath.defaultRevision { revisions.append(Self.parquetConversionRevision) }
        for candidate in revisions {
            let (commit, files) = try await splitFiles(
                repo, revision: candidate, split: split, config: config, fileExtension: fileExtension)
            guard let commit, !files.isEmpty else { continue }
            // With a commit hash, cached files cost no request (and offline they come from the cache).
            try cache.writeRef(repo, revision: candidate, commit: commit)
            return try await downloadFiles(files, from: repo, commit: commit, progress: progress)
        }
        let configText = config.map { " of config '\($0)'" } ?? ""
        throw HubError.entryNotFound(
            repo: repo, revision: revision, path: "*.\(fileExtension) files for split '\(split)'\(configText)")
    }

    /// The commit and the split's files at `revision`: from the revision API, or the cache when offline.
    /// A revision that does not exist yields no files (the conversion branch is optional).
    private func splitFiles(
        _ repo: RepoReference, revision: String, split: String, config: String?, fileExtension: String
    ) async throws -> (String?, [String]) {
        if isOffline {
            guard let snapshot = cache.cachedSnapshot(repo, revision: revision),
                let commit = cache.commitHash(repo, revision: revision)
            else {
                if revision == Self.parquetConversionRevision { return (nil, []) }
                throw HubError.notInCache(repo: repo, revision: revision, path: nil, offline: true)
            }
            return (
                commit,
                DatasetSplitFiles.select(
                    Self.relativeFiles(in: snapshot), split: split, config: config, fileExtension: fileExtension)
            )
        }
        do {
            let info = try await repoInfo(repo, revision: revision)
            return (
                info.sha,
                DatasetSplitFiles.select(
                    info.files, split: split, config: config, fileExtension: fileExtension)
            )
        } catch HubError.revisionNotFound where revision == Self.parquetConversionRevision {
            return (nil, [])
        }
    }

    /// Paths of the files below `folder`, relative and `/`-separated (symlinks count as files).
    static func relativeFiles(in folder: URL) -> [String] {
        let base = folder.resolvingSymlinksInPath().path
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = (base as NSString).appendingPathComponent(item)
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(item)
            }
        }
        return files.sorted()
    }
}
