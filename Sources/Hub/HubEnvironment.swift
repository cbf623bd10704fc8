import Foundation

/// Hub settings read from environment variables exactly as Python's `huggingface_hub` reads them, so that both
/// share one cache, one token and one endpoint.
///
/// | setting | variables, first set wins |
/// | --- | --- |
/// | endpoint | `HF_ENDPOINT`, else `https://huggingface.co` (trailing `/` removed) |
/// | home | `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` |
/// | cache | `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `<home>/hub` |
/// | token | `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH` (default `<home>/token`) |
/// | offline | `HF_HUB_OFFLINE`, else `TRANSFORMERS_OFFLINE`: true for `1`, `ON`, `YES`, `TRUE` (any case) |
///
/// `~` and `$VAR`/`${VAR}` in paths are expanded as `os.path.expanduser`/`expandvars` do. An empty variable
/// counts as unset (Python would take an empty `HF_HOME` literally, which is never what anyone means).
/// Build one from an explicit dictionary in tests; `init()` reads the process environment.
public struct HubEnvironment: Sendable, CustomStringConvertible {
    /// Base URL of the Hub, without a trailing slash.
    public var endpoint: String
    /// `HF_HOME`: where the token file and the cache live by default.
    public var home: URL
    /// The hub cache (`models--org--name/...` folders).
    public var cacheDirectory: URL
    /// The access token; only ever sent in the `Authorization: Bearer` header, never logged or printed.
    public var token: String?
    /// When true no request is made: everything is answered from the cache.
    public var offline: Bool
    /// Seconds to wait for metadata (HEAD) and API replies (`HF_HUB_ETAG_TIMEOUT`, default 10).
    public var metadataTimeout: Int
    /// Seconds without data before a download read times out (`HF_HUB_DOWNLOAD_TIMEOUT`, default 10).
    public var downloadTimeout: Int

    /// Values `huggingface_hub` treats as true (`ENV_VARS_TRUE_VALUES`), compared upper-cased.
    public static let trueValues: Set<String> = ["1", "ON", "YES", "TRUE"]
    /// The public Hub.
    public static let defaultEndpoint = "https://huggingface.co"

    /// Reads the settings from `environment` (default: this process's) and, for the token, from the token file.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let env = environment.filter { !$0.value.isEmpty }
        let userHome = env["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        func path(_ raw: String) -> URL {
            URL(fileURLWithPath: Self.expand(raw, environment: env, home: userHome), isDirectory: true)
        }

        let endpoint = env["HF_ENDPOINT"] ?? Self.defaultEndpoint
        self.endpoint = Self.trimmingTrailingSlashes(endpoint)

        let xdgCache = env["XDG_CACHE_HOME"] ?? (userHome as NSString).appendingPathComponent(".cache")
        self.home = path(env["HF_HOME"] ?? (xdgCache as NSString).appendingPathComponent("huggingface"))
        let defaultCache = home.appendingPathComponent("hub", isDirectory: true).path
        self.cacheDirectory = path(env["HF_HUB_CACHE"] ?? env["HUGGINGFACE_HUB_CACHE"] ?? defaultCache)

        if let token = Self.cleanToken(env["HF_TOKEN"] ?? env["HUGGING_FACE_HUB_TOKEN"]) {
            self.token = token
        } else {
            let tokenPath =
                env["HF_TOKEN_PATH"].map { path($0).path }
                ?? home.appendingPathComponent("token").path
            self.token = Self.cleanToken(try? String(contentsOfFile: tokenPath, encoding: .utf8))
        }

        self.offline = Self.isTrue(env["HF_HUB_OFFLINE"] ?? env["TRANSFORMERS_OFFLINE"])
        self.metadataTimeout = env["HF_HUB_ETAG_TIMEOUT"].flatMap { Int($0) } ?? 10
        self.downloadTimeout = env["HF_HUB_DOWNLOAD_TIMEOUT"].flatMap { Int($0) } ?? 10
    }

    /// Explicit settings, e.g. for a test server and a temporary cache.
    public init(endpoint: String, cacheDirectory: URL, token: String? = nil, offline: Bool = false) {
        self.endpoint = Self.trimmingTrailingSlashes(endpoint)
        self.home = cacheDirectory.deletingLastPathComponent()
        self.cacheDirectory = cacheDirectory
        self.token = Self.cleanToken(token)
        self.offline = offline
        self.metadataTimeout = 10
        self.downloadTimeout = 10
    }

    /// `huggingface_hub`'s `_is_true`.
    public static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return trueValues.contains(value.uppercased())
    }

    /// The token without line breaks and surrounding spaces; nil when nothing is left (`_clean_token`).
    static func cleanToken(_ token: String?) -> String? {
        guard let token else { return nil }
        let cleaned = token.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? nil : cleaned
    }

    /// Describes the settings; the token is shown only as set or not set.
    public var description: String {
        "HubEnvironment(endpoint: \(endpoint), cache: \(cacheDirectory.path), token: "
            + "\(token == nil ? "not set" : "set"), offline: \(offline))"
    }

    private static func trimmingTrailingSlashes(_ value: String) -> String {
        var value = value
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    /// `os.path.expanduser` then `os.path.expandvars`: a leading `~`, then `$NAME` and `${NAME}` (unknown
    /// variables stay as written, like Python does).
    static func expand(_ raw: String, environment: [String: String], home: String) -> String {
        var text = raw
        if text == "~" {
            text = home
        } else if text.hasPrefix("~/") {
            text = home + text.dropFirst()
        }
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        func isNameCharacter(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            let start = text.index(after: index)
            if start < text.endIndex, text[start] == "{", let close = text[start...].firstIndex(of: "}") {
                let name = String(text[text.index(after: start)..<close])
                result += environment[name] ?? String(text[index...close])
                index = text.index(after: close)
                continue
            }
            var end = start
            while end < text.endIndex, isNameCharacter(text[end]) { end = text.index(after: end) }
            let name = String(text[start..<end])
            result += name.isEmpty ? "$" : (environment[name] ?? "$" + name)
            index = end
        }
        return result
    }
}
