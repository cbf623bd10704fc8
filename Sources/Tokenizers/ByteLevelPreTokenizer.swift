/// GPT-2's pre-tokenisation regex as a hand-written scanner:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// The alternatives are tried in order at each position, exactly as a backtracking regex would:
/// lower-case contractions only (`'S` is not one); an optional single U+0020 before a run of
/// letters, digits or other symbols; a whitespace run that leaves its last character to the next
/// token when a non-space follows (`\s+(?!\S)`), and a lone whitespace character otherwise (`\s+`).
/// Working on UTF-8 bytes avoids NSRegularExpression's UTF-16 round trips (see
/// anchors-style.md §4.3); results are byte ranges of the input.
enum ByteLevelPreTokenizer {
    /// Calls `body(start, end)` for each pre-token `p[start..<end]` of `p[0..<n]`.
    @inline(__always)
    static func split(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < n {
            let b = p[i]
            // 1. Contractions: a byte test is enough, they are ASCII.
            if b == 0x27, i &+ 1 < n {
                let b1 = p[i &+ 1]
                if b1 == 0x73 || b1 == 0x74 || b1 == 0x6D || b1 == 0x64 {  // s t m d
                    body(i, i &+ 2); i &+= 2; continue
                }
                if i &+ 2 < n {
                    let b2 = p[i &+ 2]
                    if (b1 == 0x72 && b2 == 0x65) || (b1 == 0x76 && b2 == 0x65) || (b1 == 0x6C && b2 == 0x6C) {  // re ve ll
                        body(i, i &+ 3); i &+= 3; continue
                    }
                }
            }
            var (v, len) = UnicodeClasses.decode(p, i)
            var cls = UnicodeClasses.gpt2Class(v)
            var j = i
            // 2–4. An optional U+0020 glued to the following letter / digit / symbol run.
            if v == 0x20, i &+ 1 < n {
                let (v2, len2) = UnicodeClasses.decode(p, i &+ 1)
                let c2 = UnicodeClasses.gpt2Class(v2)
                if c2 != .space {
                    j = i &+ 1
                    v = v2
                    len = len2
                    cls = c2
                }
            }
            if cls != .space {
                var k = j &+ len
                while k < n {
                    let (w, l) = UnicodeClasses.decode(p, k)
                    if UnicodeClasses.gpt2Class(w) != cls { break }
                    k &+= l
                }
                body(i, k)
                i = k
                continue
            }
            // 5–6. Whitespace run starting at i.
            var k = i &+ len
            var lastStart = i
            while k < n {
                let (w, l) = UnicodeClasses.decode(p, k)
                if UnicodeClasses.gpt2Class(w) != .space { break }
                lastStart = k
                k &+= l
            }
            if k < n && lastStart > i {
                // `\s+(?!\S)` backtracks by one character so the next token keeps its space.
                body(i, lastStart)
                i = lastStart
            } else {
                body(i, k)
                i = k
            }
        }
    }
}
