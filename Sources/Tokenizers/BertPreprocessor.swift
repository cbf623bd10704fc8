import Foundation

/// BERT's normalizer and pre-tokenizer fused into one pass over Unicode scalars
/// (HF `BertNormalizer` + `BertPreTokenizer`; the slow `BasicTokenizer` does the same steps).
///
/// Per character: drop NUL, U+FFFD and "Other"-category characters (except tab/LF/CR) and turn
/// whitespace into a space (`clean_text`); put spaces around CJK ideographs
/// (`handle_chinese_chars`); NFD-decompose and drop non-spacing marks (`strip_accents`, which
/// defaults to `lowercase`); lower-case. Words are then split at whitespace (removed) and at
/// punctuation (each punctuation character is a word of its own). All steps are per character,
/// so doing them in one pass gives the same result as HF's whole-string passes.
struct BertPreprocessor: Sendable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents = true
    var lowercase = true

    /// Calls `body` with the UTF-8 bytes of each word of `p[0..<n]`.
    func forEachWord(_ p: UnsafePointer<UInt8>, _ n: Int, scratch: EncodeScratch,
                     _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        var word = scratch.bytes
        scratch.bytes = []
        word.removeAll(keepingCapacity: true)

        @inline(__always) func flush() {
            if word.isEmpty { return }
            word.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
            word.removeAll(keepingCapacity: true)
        }
        @inline(__always) func emit(_ v: UInt32) {
            if UnicodeClasses.isWhitespace(v) {
                flush()
            } else if UnicodeClasses.isBertPunctuation(v) {
                flush()
                UnicodeClasses.appendUTF8(v, to: &word)
                flush()
            } else {
                UnicodeClasses.appendUTF8(v, to: &word)
            }
        }

        var i = 0
        while i < n {
            var (v, len) = UnicodeClasses.decode(p, i)
            i += len
            if v < 0x80 {
                // ASCII: no decomposition, no CJK, one-byte lower-casing.
                if cleanText {
                    if UnicodeClasses.isBertControl(v) || v == 0 { continue }
                    if UnicodeClasses.isWhitespace(v) { v = 0x20 }
                }
                if lowercase && v &- 0x41 < 26 { v |= 0x20 }
                emit(v)
                continue
            }
            if cleanText {
                if v == 0xFFFD || UnicodeClasses.isBertControl(v) { continue }
                if UnicodeClasses.isWhitespace(v) { emit(0x20); continue }
            }
            if handleChineseChars && UnicodeClasses.isChineseChar(v) {
                flush()
                emit(v)
                flush()
                continue
            }
            if !stripAccents && !lowercase {
                emit(v)
                continue
            }
            for w in scratch.normalizedScalars(v, stripAccents: stripAccents, lowercase: lowercase) { emit(w) }
        }
        flush()
        scratch.bytes = word
    }
}

extension EncodeScratch {
    /// NFD + drop Mn and/or lower-casing of one non-ASCII scalar, memoised per thread because
    /// Foundation's decomposition bridges through `NSString`.
    func normalizedScalars(_ v: UInt32, stripAccents: Bool, lowercase: Bool) -> [UInt32] {
        let key = v << 2 | (stripAccents ? 2 : 0) | (lowercase ? 1 : 0)
        if let hit = normalizedCache[key] { return hit }
        guard let scalar = Unicode.Scalar(v) else { return [v] }
        var scalars: [Unicode.Scalar] = [scalar]
        if stripAccents {
            let decomposed = String(String.UnicodeScalarView([scalar])).decomposedStringWithCanonicalMapping
            scalars = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            // Per-character mapping like Rust's `char::to_lowercase` (no final-sigma context).
            scalars = scalars.flatMap { Array($0.properties.lowercaseMapping.unicodeScalars) }
        }
        let result = scalars.map(\.value)
        if normalizedCache.count > 50_000 { normalizedCache.removeAll(keepingCapacity: true) }
        normalizedCache[key] = result
        return result
    }
}
