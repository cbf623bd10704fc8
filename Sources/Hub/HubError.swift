/// Everything that can go wrong while talking to the Hub or its local cache.
///
/// Each case names the repository (and revision and file where they matter) so that a message shown to a
/// user says what was asked for and what to do. No case ever carries the access token: messages that come
/// from the server are passed through ``HubTransport`` redaction before they get here.
public enum HubError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The repository id is not of the form `name` or `namespace/name` with the Hub's allowed characters.
    case invalidRepoID(String, reason: String)
    /// A path inside a repository is empty, absolute or climbs out of the repository (`..`).
    case invalidPath(String, reason: String)
    /// A revision (branch, tag or commit) that cannot be used, such as an empty string or one with `..`.
    case invalidRevision(String, reason: String)
    /// An endpoint such as `HF_ENDPOINT` that is not an http(s) URL.
    case invalidEndpoint(String)
    /// The server says the repository does not exist (or is private and the token does not grant access).
    case repositoryNotFound(repo: RepoReference)
    /// The repository exists but the branch, tag or commit does not.
    case revisionNotFound(repo: RepoReference, revision: String)
    /// The repository and revision exist but the file does not.
    case entryNotFound(repo: RepoReference, revision: String, path: String)
    /// A 404 without the Hub's `X-Error-Code`: the server did not say which part was missing.
    case notFound(repo: RepoReference, revision: String?, path: String?)
    /// 401/403: no token, or a token without access.
    case unauthorized(repo: RepoReference, status: Int, tokenSent: Bool, message: String?)
    /// The repository is gated: access must be requested on the Hub website first.
    case gatedRepo(repo: RepoReference, message: String?)
    /// The file (or snapshot) is not in the local cache and the Hub could not or may not be asked.
    case notInCache(repo: RepoReference, revision: String, path: String?, offline: Bool)
    /// Any other HTTP error status, after retries where the status is transient.
    case httpStatus(repo: RepoReference?, operation: String, status: Int, message: String?)
    /// The connection failed, timed out or was dropped, after retries.
    case network(repo: RepoReference?, operation: String, reason: String)
    /// The server's reply lacks something the protocol requires (a header, a JSON field).
    case invalidResponse(repo: RepoReference?, operation: String, reason: String)
    /// The downloaded file has a different size than the server announced.
    case sizeMismatch(repo: RepoReference, path: String, expected: Int64, actual: Int64)
    /// The downloaded LFS file does not hash to the sha256 the server announced.
    case checksumMismatch(repo: RepoReference, path: String, expected: String, actual: String)
    /// A local file or folder could not be read or written.
    case fileSystem(path: String, reason: String)
    /// The LFS server refused one object of an upload.
    case lfsUploadRejected(repo: RepoReference, path: String, code: Int?, message: String)
    /// The LFS server asked for a transfer this client does not implement (e.g. multipart uploads).
    case unsupportedTransfer(repo: RepoReference, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidRepoID(let id, let reason):
            return "Invalid repository id '\(id)': \(reason)"
        case .invalidPath(let path, let reason):
            return "Invalid path in repository '\(path)': \(reason)"
        case .invalidRevision(let revision, let reason):
            return "Invalid revision '\(revision)': \(reason)"
        case .invalidEndpoint(let endpoint):
            return "Invalid Hub endpoint '\(endpoint)': expected an http:// or https:// URL (check HF_ENDPOINT)"
        case .repositoryNotFound(let repo):
            return "Repository not found: \(repo). Check the id and the repo type; if it is private or gated, "
                + "set HF_TOKEN to a token with access."
        case .revisionNotFound(let repo, let revision):
            return "Revision '\(revision)' not found in \(repo)."
        case .entryNotFound(let repo, let revision, let path):
            return "File '\(path)' not found in \(repo) at revision '\(revision)'."
        case .notFound(let repo, let revision, let path):
            var text = "Not found on the Hub: \(repo)"
            if let revision { text += " at revision '\(revision)'" }
            if let path { text += ", file '\(path)'" }
            return text + "."
        case .unauthorized(let repo, let status, let tokenSent, let message):
            let hint =
                tokenSent
                ? "The token that was sent has no access to it (check HF_TOKEN's permissions)."
                : "No token was sent: set HF_TOKEN (or log in so that $HF_HOME/token exists)."
            return "Access denied (HTTP \(status)) to \(repo). \(hint)" + Self.suffix(message)
        case .gatedRepo(let repo, let message):
            return "\(repo) is gated: request access on the Hub, then set HF_TOKEN." + Self.suffix(message)
        case .notInCache(let repo, let revision, let path, let offline):
            let what = path.map { "File '\($0)' of \(repo)" } ?? "A snapshot of \(repo)"
            let why =
                offline
                ? "offline mode is on (HF_HUB_OFFLINE), so the Hub was not asked."
                : "the Hub could not be reached."
            return "\(what) at revision '\(revision)' is not in the local cache and \(why)"
        case .httpStatus(let repo, let operation, let status, let message):
            let target = repo.map { " for \($0)" } ?? ""
            return "HTTP \(status) from the Hub during \(operation)\(target)." + Self.suffix(message)
        case .network(let repo, let operation, let reason):
            let target = repo.map { " for \($0)" } ?? ""
            return "Network error during \(operation)\(target): \(reason)"
        case .invalidResponse(let repo, let operation, let reason):
            let target = repo.map { " for \($0)" } ?? ""
            return "Unexpected reply from the Hub during \(operation)\(target): \(reason)"
        case .sizeMismatch(let repo, let path, let expected, let actual):
            return "Download of '\(path)' from \(repo) is \(actual) bytes, expected \(expected); "
                + "nothing was stored, retry the download."
        case .checksumMismatch(let repo, let path, let expected, let actual):
            return "Download of '\(path)' from \(repo) has sha256 \(actual), expected \(expected); "
                + "nothing was stored, retry the download."
        case .fileSystem(let path, let reason):
            return "File system error at '\(path)': \(reason)"
        case .lfsUploadRejected(let repo, let path, let code, let message):
            let status = code.map { " (\($0))" } ?? ""
            return "The LFS server rejected '\(path)' for \(repo)\(status): \(message)"
        case .unsupportedTransfer(let repo, let path, let reason):
            return "Cannot upload '\(path)' to \(repo): \(reason)"
        }
    }

    private static func suffix(_ message: String?) -> String {
        guard let message, !message.isEmpty else { return "" }
        return " Server said: \(message)"
    }
}
