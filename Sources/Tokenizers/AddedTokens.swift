import Foundation

/// A token matched verbatim in the raw text before normalisation and pre-tokenisation
/// (HF `AddedToken`: the special tokens, plus `added_tokens.json` / `added_tokens` entries).
struct AddedToken: Sendable, Equatable {
    var content: String
    var id: Int32
    /// Special tokens are dropped by `decode(skipSpecialTokens: true)`.
    var special: Bool
    /// Swallow whitespace on the left (RoBERTa's `<mask>`).
    var lstrip = false
    /// Swallow whitespace on the right.
    var rstrip = false
    /// Only match when not glued to letters or digits on either side.
    var singleWord = false
}

/// Splits raw text at added tokens, leftmost-longest like HF's Aho-Corasick matcher.
struct AddedTokenMatcher: Sendable {
    let tokens: [AddedToken]
    private let contents: [[UInt8]]
    /// Token indexes by first byte, longest first, so the first hit at a position is the longest.
    private let byFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        contents = tokens.map { Array($0.content.utf8) }
        var buckets = [[Int]](repeating: [], count: 256)
        for (i, bytes) in contents.enumerated() {
            guard let first = bytes.first else { continue }
            buckets[Int(first)].append(i)
        }
        let lengths = contents.map(\.count)
        byFirstByte = buckets.map { $0.sorted { lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) } }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Walks `p[0..<n]`, calling `text(start, end)` for each stretch of ordinary text (never
    /// empty) and `token(id, start, end)` for each added token, in order; `start..<end` is the matched
    /// content (without the whitespace `lstrip` / `rstrip` swallow, as HF's offsets).
    func split(_ p: UnsafePointer<UInt8>, _ n: Int, text: (Int, Int) -> Void, token: (Int32, Int, Int) -> Void) {
        if tokens.isEmpty {
            if n > 0 { text(0, n) }
            return
        }
        var segmentStart = 0
        var i = 0
        while i < n {
            var matched = false
            let candidates = byFirstByte[Int(p[i])]
            if !candidates.isEmpty && p[i] & 0xC0 != 0x80 {
                for t in candidates {
                    let bytes = contents[t]
                    let len = bytes.count
                    guard i + len <= n, bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, p + i, len) == 0 }) else {
                        continue
                    }
                    let info = tokens[t]
                    if info.singleWord && !isWordBoundary(p, n, start: i, end: i + len) { continue }
                    var start = i
                    var end = i + len
                    if info.lstrip {
                        while start > segmentStart {
                            var k = start - 1
                            while k > segmentStart && p[k] & 0xC0 == 0x80 { k -= 1 }
                            guard UnicodeClasses.isWhitespace(UnicodeClasses.decode(p, k).0) else { break }
                            start = k
                        }
                    }
                    if info.rstrip {
                        while end < n {
                            let (v, l) = UnicodeClasses.decode(p, end)
                            guard UnicodeClasses.isWhitespace(v) else { break }
                            end += l
                        }
                    }
                    if start > segmentStart { text(segmentStart, start) }
                    token(info.id, i, i + len)
                    segmentStart = end
                    i = end
                    matched = true
                    break
                }
            }
            if !matched { i += 1 }
        }
        if segmentStart < n { text(segmentStart, n) }
    }

    /// True when the characters just before `start` and at `end` are not letters or digits.
    private func isWordBoundary(_ p: UnsafePointer<UInt8>, _ n: Int, start: Int, end: Int) -> Bool {
        if start > 0 {
            var k = start - 1
            while k > 0 && p[k] & 0xC0 == 0x80 { k -= 1 }
            if UnicodeClasses.isWordCharacter(UnicodeClasses.decode(p, k).0) { return false }
        }
        if end < n, UnicodeClasses.isWordCharacter(UnicodeClasses.decode(p, end).0) { return false }
        return true
    }
}
