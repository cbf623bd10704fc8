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
    ///
    /// Two passes: normalise into one byte buffer while recording word bounds, then hand out the
    /// words. Keeping the first pass free of closures keeps it free of retain/release traffic.
    func forEachWord(_ p: UnsafePointer<UInt8>, _ n: Int, scratch: EncodeScratch,
                     _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        var sink = WordSink(out: scratch.bytes, bounds: scratch.wordBounds)
        scratch.bytes = []
        scratch.wordBounds = []
        sink.out.removeAll(keepingCapacity: true)
        sink.bounds.removeAll(keepingCapacity: true)
        var origins = NoOrigins()
        normalize(p, n, scratch: scratch, into: &sink, origins: &origins)
        sink.out.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var k = 0
            while k < sink.bounds.count {
                body(base + sink.bounds[k], sink.bounds[k + 1] - sink.bounds[k])
                k += 2
            }
        }
        scratch.bytes = sink.out
        scratch.wordBounds = sink.bounds
    }

    /// The normalised words of `p[0..<n]` with, for every normalised byte, the byte range of the
    /// original character it came from (what character offsets need; slower than `forEachWord`).
    ///
    /// - Returns: `bytes` (all words back to back), `bounds` (start, end pairs into `bytes`) and
    ///   `origins` (one original `[start, end)` per byte of `bytes`).
    func wordsWithOrigins(_ p: UnsafePointer<UInt8>, _ n: Int, scratch: EncodeScratch)
        -> (bytes: [UInt8], bounds: [Int], origins: ByteOrigins)
    {
        var sink = WordSink(out: [], bounds: [])
        var origins = ByteOrigins()
        normalize(p, n, scratch: scratch, into: &sink, origins: &origins)
        return (sink.out, sink.bounds, origins)
    }

    /// The one pass over `p[0..<n]`; generic over the origin recorder so the plain `encode` path
    /// (with `NoOrigins`) compiles to the loop without any bookkeeping.
    @inline(__always)
    private func normalize<R: OriginRecorder>(_ p: UnsafePointer<UInt8>, _ n: Int, scratch: EncodeScratch,
                                              into sink: inout WordSink, origins: inout R) {
        var i = 0
        while i < n {
            let start = i
            var (v, len) = UnicodeClasses.decode(p, i)
            i += len
            let before = sink.out.count
            defer { origins.record(bytes: sink.out.count - before, from: start, to: i) }
            if v < 0x80 {
                // ASCII: no decomposition, no CJK, one-byte lower-casing.
                if cleanText {
                    if UnicodeClasses.isBertControl(v) || v == 0 { continue }
                    if UnicodeClasses.isWhitespace(v) { v = 0x20 }
                }
                if lowercase && v &- 0x41 < 26 { v |= 0x20 }
                sink.emit(v)
                continue
            }
            if cleanText {
                if v == 0xFFFD || UnicodeClasses.isBertControl(v) { continue }
                if UnicodeClasses.isWhitespace(v) { sink.emit(0x20); continue }
            }
            if handleChineseChars && UnicodeClasses.isChineseChar(v) {
                sink.closeWord()
                sink.emit(v)
                sink.closeWord()
                continue
            }
            if !stripAccents && !lowercase {
                sink.emit(v)
                continue
            }
            for w in scratch.normalizedScalars(v, stripAccents: stripAccents, lowercase: lowercase) { sink.emit(w) }
        }
        sink.closeWord()
    }
}

/// Where each normalised byte came from, for character offsets.
protocol OriginRecorder {
    /// The last `bytes` normalised bytes all came from the original character at `start..<end`.
    mutating func record(bytes: Int, from start: Int, to end: Int)
}

/// Records nothing (plain encoding).
struct NoOrigins: OriginRecorder {
    @inline(__always) mutating func record(bytes: Int, from start: Int, to end: Int) {}
}

/// One original byte range per normalised byte: a character that normalises to several (NFD
/// jamo, `ﬁ` lower-cased…) lends its whole range to each, as HF's alignments do.
struct ByteOrigins: OriginRecorder {
    var starts: [Int] = []
    var ends: [Int] = []

    mutating func record(bytes: Int, from start: Int, to end: Int) {
        guard bytes > 0 else { return }
        starts.append(contentsOf: repeatElement(start, count: bytes))
        ends.append(contentsOf: repeatElement(end, count: bytes))
    }
}

/// Normalised bytes plus word bounds (start, end pairs) of `BertPreprocessor.forEachWord`.
private struct WordSink {
    var out: [UInt8]
    var bounds: [Int]
    var wordStart = 0

    @inline(__always)
    mutating func closeWord() {
        if out.count > wordStart {
            bounds.append(wordStart)
            bounds.append(out.count)
        }
        wordStart = out.count
    }

    /// Whitespace ends a word; punctuation is a word of its own; anything else extends the word.
    @inline(__always)
    mutating func emit(_ v: UInt32) {
        if UnicodeClasses.isWhitespace(v) {
            closeWord()
        } else if UnicodeClasses.isBertPunctuation(v) {
            closeWord()
            UnicodeClasses.appendUTF8(v, to: &out)
            closeWord()
        } else {
            UnicodeClasses.appendUTF8(v, to: &out)
        }
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
