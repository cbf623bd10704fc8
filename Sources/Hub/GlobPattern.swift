/// Shell-style patterns with the semantics of Python's `fnmatch.fnmatchcase`, which `huggingface_hub` uses for
/// `allow_patterns`/`ignore_patterns`: `*` matches any run of characters *including* `/`, `?` one character,
/// `[abc]`/`[a-z]` one of a set, `[!abc]` one not in it. A pattern ending in `/` matches everything below that
/// folder (`_add_wildcard_to_directories`).
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        let normalized = pattern.hasSuffix("/") ? pattern + "*" : pattern
        self.pattern = normalized
        self.characters = Array(normalized)
    }

    public var description: String { pattern }

    /// Whether `path` matches (case-sensitive).
    public func matches(_ path: String) -> Bool {
        let text = Array(path)
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < characters.count {
                let c = characters[p]
                if c == "*" {
                    starP = p
                    starT = t
                    p += 1
                    continue
                }
                if c == "[", let (matched, next) = matchClass(at: p, text[t]) {
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                } else if c == "?" || c == text[t] {
                    p += 1
                    t += 1
                    continue
                }
            }
            // Mismatch: let the last `*` swallow one more character, if there was one.
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < characters.count, characters[p] == "*" { p += 1 }
        return p == characters.count
    }

    /// Matches `character` against the class starting at `start` (`[`); nil when the `[` opens no class and
    /// is then a literal, as in fnmatch.
    private func matchClass(at start: Int, _ character: Character) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < characters.count, characters[index] == "!" {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < characters.count {
            let c = characters[index]
            if c == "]" && !first {
                return (matched != negate, index + 1)
            }
            first = false
            if index + 2 < characters.count, characters[index + 1] == "-", characters[index + 2] != "]" {
                if c <= character && character <= characters[index + 2] { matched = true }
                index += 3
            } else {
                if c == character { matched = true }
                index += 1
            }
        }
        return nil
    }

    /// `filter_repo_objects`: keeps paths matching any allow pattern (all when nil) and no ignore pattern.
    public static func filter(
        _ paths: [String], allow: [String]?, ignore: [String]?
    ) -> [String] {
        let allowPatterns = allow?.map(GlobPattern.init)
        let ignorePatterns = (ignore ?? []).map(GlobPattern.init)
        return paths.filter { path in
            if let allowPatterns, !allowPatterns.contains(where: { $0.matches(path) }) { return false }
            return !ignorePatterns.contains(where: { $0.matches(path) })
        }
    }
}
