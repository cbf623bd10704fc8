/// The kinds of Hub repository this client reads and writes. Adapters live in model repositories.
public enum RepoType: String, Sendable, CaseIterable, Codable {
    case model
    case dataset
    case space

    /// Plural used by the REST API (`/api/models/...`) and by cache folder names (`models--org--name`).
    public var plural: String { rawValue + "s" }

    /// Prefix of resolve and git URLs: nothing for models, `datasets/` for datasets.
    var urlPrefix: String {
        switch self {
        case .model: return ""
        case .dataset: return "datasets/"
        case .space: return "spaces/"
        }
    }
}

/// A validated Hub repository id: `name` (legacy canonical models like `roberta-base`) or `namespace/name`.
///
/// Validation follows huggingface_hub's `validate_repo_id`: ASCII letters, digits, `-`, `_`, `.`; each part
/// starts and ends with a letter, digit or `_`; at most 96 characters for the name; no `--` or `..`;
/// no trailing `.git`.
public struct RepoID: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The user or organisation, if any.
    public let namespace: String?
    /// The repository name.
    public let name: String

    /// Parses and validates `org/name` or `name`.
    public init(_ string: String) throws {
        let parts = string.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw HubError.invalidRepoID(string, reason: "expected 'name' or 'namespace/name'")
        }
        if string.contains("--") || string.contains("..") {
            throw HubError.invalidRepoID(string, reason: "'--' and '..' are not allowed")
        }
        if string.hasSuffix(".git") {
            throw HubError.invalidRepoID(string, reason: "it cannot end with '.git'")
        }
        for (index, part) in parts.enumerated() {
            let limit = index == parts.count - 1 ? 96 : Int.max
            if let reason = Self.problem(in: part, maxLength: limit) {
                throw HubError.invalidRepoID(string, reason: reason)
            }
        }
        self.namespace = parts.count == 2 ? parts[0] : nil
        self.name = parts[parts.count - 1]
    }

    /// For ids that are valid by construction (the server returned them, or a literal).
    init(uncheckedNamespace namespace: String?, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// The id as the Hub spells it: `namespace/name` or `name`.
    public var id: String { namespace.map { "\($0)/\(name)" } ?? name }

    public var description: String { id }

    private static func problem(in part: String, maxLength: Int) -> String? {
        if part.isEmpty { return "a part is empty" }
        if part.count > maxLength { return "the name is longer than \(maxLength) characters" }
        let allowed = part.unicodeScalars.allSatisfy { isWordCharacter($0) || $0 == "-" || $0 == "." }
        if !allowed { return "only letters, digits, '-', '_' and '.' are allowed" }
        guard let first = part.unicodeScalars.first, let last = part.unicodeScalars.last,
            isWordCharacter(first), isWordCharacter(last)
        else { return "a part cannot start or end with '-' or '.'" }
        return nil
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_": return true
        default: return false
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(try container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(id)
    }
}

/// A repository together with its type: what errors and log lines name.
public struct RepoReference: Hashable, Sendable, CustomStringConvertible {
    public let id: RepoID
    public let type: RepoType

    public init(_ id: RepoID, type: RepoType = .model) {
        self.id = id
        self.type = type
    }

    public var description: String { "\(type.rawValue) repository '\(id)'" }

    /// Folder name inside the cache, exactly as huggingface_hub's `repo_folder_name`: `models--org--name`.
    public var cacheFolderName: String {
        ([type.plural] + [id.namespace, id.name].compactMap { $0 }).joined(separator: "--")
    }
}

/// Revisions and in-repository paths: the checks huggingface_hub makes before touching the cache.
public enum RepoPath {
    /// The default branch.
    public static let defaultRevision = "main"

    /// True for a full 40-hex lowercase commit hash (`REGEX_COMMIT_HASH`).
    public static func isCommitHash(_ revision: String) -> Bool {
        revision.utf8.count == 40 && revision.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Checks a revision before it becomes a file name under `refs/`.
    public static func validateRevision(_ revision: String) throws {
        if revision.isEmpty { throw HubError.invalidRevision(revision, reason: "it is empty") }
        let parts = revision.split(separator: "/", omittingEmptySubsequences: false)
        if revision.hasPrefix("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw HubError.invalidRevision(revision, reason: "it cannot contain empty, '.' or '..' parts")
        }
    }

    /// Checks a path inside a repository: relative, `/`-separated, never leaving the snapshot folder.
    public static func validateFilePath(_ path: String) throws {
        if path.isEmpty { throw HubError.invalidPath(path, reason: "it is empty") }
        if path.hasPrefix("/") { throw HubError.invalidPath(path, reason: "it must be relative") }
        if path.contains("\\") { throw HubError.invalidPath(path, reason: "use '/' as the separator") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw HubError.invalidPath(path, reason: "it cannot contain empty, '.' or '..' parts")
        }
    }
}
