import Foundation

/// What a `--model`, `--adapter` or `--dataset` argument names: a local path, or a Hub repository (with an
/// optional `@revision`, e.g. `org/name@v1.0`; `@` cannot occur in a repo id, so this is unambiguous).
public enum SourceReference: Sendable, Equatable {
    case local(URL)
    case hub(RepoID, revision: String)

    /// Parses an argument. An existing path wins; so does anything written as a path (`/`, `./`, `../`, `~`),
    /// which then must exist. Anything else must be a valid Hub id.
    public static func parse(_ argument: String, fileManager: FileManager = .default) throws -> SourceReference {
        let expanded = HubEnvironment.expand(
            argument, environment: [:], home: fileManager.homeDirectoryForCurrentUser.path)
        if fileManager.fileExists(atPath: expanded) {
            return .local(URL(fileURLWithPath: expanded).standardizedFileURL)
        }
        let looksLikePath =
            argument.hasPrefix("/") || argument.hasPrefix("./") || argument.hasPrefix("../")
            || argument.hasPrefix("~") || argument == "." || argument == ".."
        if looksLikePath {
            throw HubError.fileSystem(path: expanded, reason: "no such file or folder")
        }
        var idText = argument
        var revision = RepoPath.defaultRevision
        if let at = argument.lastIndex(of: "@") {
            idText = String(argument[..<at])
            revision = String(argument[argument.index(after: at)...])
            try RepoPath.validateRevision(revision)
        }
        do {
            return .hub(try RepoID(idText), revision: revision)
        } catch HubError.invalidRepoID(let id, let reason) {
            throw HubError.invalidRepoID(id, reason: "\(reason) (and '\(argument)' is not an existing local path)")
        }
    }
}

extension HubClient {
    /// Turns a `--model`/`--adapter` argument into a local folder: an existing path as is, a Hub id (optionally
    /// `id@revision`; an explicit `revision` wins) downloaded into the shared cache, returning its snapshot folder.
    ///
    /// Use `selection: .model` for encoders (skips other frameworks' weights, prefers safetensors) and `.all` for
    /// adapters. Pass `type: .dataset` to fetch a whole dataset repository.
    public func resolveFolder(
        _ argument: String,
        type: RepoType = .model,
        revision: String? = nil,
        selection: FileSelection = .all,
        progress: FileProgressHandler? = nil
    ) async throws -> URL {
        switch try SourceReference.parse(argument) {
        case .local(let url):
            return url
        case .hub(let id, let parsedRevision):
            return try await snapshot(
                RepoReference(id, type: type), revision: revision ?? parsedRevision, selection: selection,
                progress: progress)
        }
    }

    /// Turns a `--dataset` argument into local data files for `split`: a local file as `[file]`, a local folder
    /// as its files of that split (by the Hub's naming conventions), a Hub dataset id as its downloaded Parquet
    /// shards (see ``downloadDatasetSplit(_:split:config:revision:fileExtension:progress:)``).
    public func resolveDatasetSplit(
        _ argument: String,
        split: String,
        config: String? = nil,
        revision: String? = nil,
        progress: FileProgressHandler? = nil
    ) async throws -> [URL] {
        switch try SourceReference.parse(argument) {
        case .local(let url):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { return [url] }
            let files = DatasetSplitFiles.select(Self.relativeFiles(in: url), split: split, config: config)
            guard !files.isEmpty else {
                throw HubError.fileSystem(path: url.path, reason: "no .parquet files for split '\(split)'")
            }
            return files.map { path in path.split(separator: "/").reduce(url) { $0.appendingPathComponent(String($1)) }
            }
        case .hub(let id, let parsedRevision):
            return try await downloadDatasetSplit(
                id, split: split, config: config, revision: revision ?? parsedRevision, progress: progress)
        }
    }
}
