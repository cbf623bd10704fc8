/// A character span in one input text, counted in Unicode scalars (the way Python indexes a `str`, so
/// the numbers equal HF's `offset_mapping`). Special tokens and padding have `0..<0`.
public struct CharacterSpan: Sendable, Equatable, Hashable, Codable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public static let empty = CharacterSpan(start: 0, end: 0)

    /// The span's characters of a text given as its Unicode scalars (clamped to the text).
    public func text(in scalars: [Unicode.Scalar]) -> String {
        let a = max(0, min(start, scalars.count))
        let b = max(a, min(end, scalars.count))
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[a..<b])
        return String(s)
    }
}

/// An encoding with what span-level tasks need: for each position the characters of its own text that
/// the token came from, and which text that is.
public struct OffsetEncoding: Sendable, Equatable {
    public var encoding: Encoding
    /// Per position, the token's characters in its text (`text` for sequence 0, `pair` for sequence 1;
    /// HF's `offset_mapping`). Byte-level BPE with `trim_offsets` leaves out leading and trailing spaces;
    /// a token holding part of a character (an emoji split into bytes) spans the whole character.
    public var offsets: [CharacterSpan]
    /// 0 or 1 for the positions of the first or second text, nil for added special tokens and padding
    /// (HF's `sequence_ids()`).
    public var sequenceIds: [Int?]
    /// The word of its text each position's token belongs to (a pre-tokenizer piece: a GPT-2 regex match for
    /// byte-level BPE, a whitespace/punctuation-separated word for WordPiece; an added token is a word of its
    /// own), counted from 0 in each text; nil for special tokens and padding (HF's `word_ids()`).
    public var wordIds: [Int?]

    public var count: Int { encoding.count }

    mutating func pad(to length: Int, padId: Int32) {
        let extra = length - encoding.count
        guard extra > 0 else { return }
        encoding.pad(to: length, padId: padId)
        offsets.append(contentsOf: repeatElement(.empty, count: extra))
        sequenceIds.append(contentsOf: repeatElement(nil, count: extra))
        wordIds.append(contentsOf: repeatElement(nil, count: extra))
    }
}

/// Why `encodeWindows` cannot cut a context into windows.
public enum WindowError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The question and the special tokens leave no room for the context.
    case questionTooLong(questionTokens: Int, maxLength: Int)
    /// The stride must be smaller than the room left for the context.
    case strideTooLarge(stride: Int, room: Int)

    public var description: String {
        switch self {
        case .questionTooLong(let q, let maxLength):
            return
                "the question takes \(q) tokens, which with the special tokens leaves no room for the context in \(maxLength) positions"
        case .strideTooLarge(let stride, let room):
            return "stride \(stride) must be smaller than the \(room) context tokens that fit one window"
        }
    }
}

extension Tokenizer {
    /// Encodes a text (or a pair) as `encode` does and adds each position's character span and sequence
    /// id. The ids, masks and truncation are exactly `encode`'s; only the bookkeeping is extra, so this
    /// path is slower and meant for span tasks (tagging pipelines, question answering).
    public func encodeWithOffsets(_ text: String, pair: String? = nil, options: EncodeOptions = .init())
        -> OffsetEncoding
    {
        var first = tokenizeWithOffsets(text)
        var second = pair.map { tokenizeWithOffsets($0) }
        if options.truncation, let maxLength = options.maxLength {
            let added = options.addSpecialTokens ? postProcessor.addedCount(isPair: second != nil) : 0
            var a = first.ids
            var b = second?.ids
            Truncation.truncate(first: &a, second: &b, maxLength: maxLength, added: added)
            first = first[0..<a.count]
            second = second.map { $0[0..<(b?.count ?? 0)] }
        }
        var result = assemble(first, second, addSpecialTokens: options.addSpecialTokens)
        if options.padding == .maxLength, let maxLength = options.maxLength {
            result.pad(to: maxLength, padId: padTokenId)
        }
        return result
    }

    /// A question with a long context cut into overlapping windows, as extractive question answering
    /// feeds a model (HF `tokenizer(question, context, truncation="only_second", max_length=…, stride=…,
    /// return_overflowing_tokens=True, return_offsets_mapping=True)`): every window holds the whole
    /// question and up to `maxLength − question − specials` context tokens; each window starts
    /// `room − stride` context tokens after the previous one, and the last one reaches the context's end.
    ///
    /// - Parameter pad: pad every window to `maxLength` (HF `padding="max_length"`).
    /// - Throws: `WindowError` when the question leaves no room or the stride is not below the room.
    public func encodeWindows(
        question: String, context: String, maxLength: Int, stride: Int,
        pad: Bool = true
    ) throws(WindowError) -> [OffsetEncoding] {
        let q = tokenizeWithOffsets(question)
        let c = tokenizeWithOffsets(context)
        let room = maxLength - q.count - postProcessor.addedCount(isPair: true)
        guard room > 0 else { throw .questionTooLong(questionTokens: q.count, maxLength: maxLength) }
        guard stride < room else { throw .strideTooLarge(stride: stride, room: room) }
        var windows: [OffsetEncoding] = []
        var start = 0
        repeat {
            let end = min(start + room, c.count)
            var w = assemble(q, c[start..<end], addSpecialTokens: true)
            if pad { w.pad(to: maxLength, padId: padTokenId) }
            windows.append(w)
            if end == c.count { break }
            start += room - stride
        } while true
        return windows
    }

    /// Wraps the two token lists in the template and lays out their spans, words and sequence ids.
    private func assemble(_ first: SpannedTokens, _ second: SpannedTokens?, addSpecialTokens: Bool) -> OffsetEncoding {
        let encoding = postProcessor.apply(first: first.ids, second: second?.ids, addSpecialTokens: addSpecialTokens)
        let sequenceIds = postProcessor.sequenceIds(
            firstCount: first.count, secondCount: second?.count, addSpecialTokens: addSpecialTokens)
        var offsets: [CharacterSpan] = []
        var words: [Int?] = []
        offsets.reserveCapacity(sequenceIds.count)
        words.reserveCapacity(sequenceIds.count)
        var next = (0, 0)
        for s in sequenceIds {
            switch s {
            case 0:
                offsets.append(first.spans[next.0])
                words.append(first.words[next.0])
                next.0 += 1
            case 1:
                if let second {
                    offsets.append(second.spans[next.1])
                    words.append(second.words[next.1])
                }
                next.1 += 1
            default:
                offsets.append(.empty)
                words.append(nil)
            }
        }
        return OffsetEncoding(encoding: encoding, offsets: offsets, sequenceIds: sequenceIds, wordIds: words)
    }

    /// The ids of one text (as `tokenize`) with each token's span in characters of `text` and its word.
    func tokenizeWithOffsets(_ text: String) -> SpannedTokens {
        let scratch = self.scratch.value
        var out = ByteSpannedTokens()
        var text = text
        var spans: [CharacterSpan] = []
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            let n = buffer.count
            var scalarsBefore: [Int] = []
            scalarsBefore.reserveCapacity(n + 1)
            var count = 0
            for i in 0..<n {
                scalarsBefore.append(count)
                if buffer[i] & 0xC0 != 0x80 { count += 1 }
            }
            scalarsBefore.append(count)
            addedTokens.split(
                base, n,
                text: { start, end in
                    segmentWithOffsets(base + start, end - start, at: start, into: &out, scratch: scratch)
                },
                token: { id, start, end in
                    out.append(id, start, end, word: out.nextWord)
                    out.nextWord += 1
                })
            func isBoundary(_ b: Int) -> Bool { b >= n || buffer[b] & 0xC0 != 0x80 }
            // Byte spans → scalar spans: a start inside a character moves to the character's start, an end
            // inside one to its end (both read off `scalarsBefore`).
            spans = out.spans.map { s, e in
                CharacterSpan(start: isBoundary(s) ? scalarsBefore[s] : scalarsBefore[s] - 1, end: scalarsBefore[e])
            }
        }
        return SpannedTokens(ids: out.ids, spans: spans, words: out.words)
    }

    /// Appends the tokens of one stretch of text without added tokens, `p[0..<n]` found at byte
    /// `origin` of the whole text, with their byte spans in the whole text.
    private func segmentWithOffsets(
        _ p: UnsafePointer<UInt8>, _ n: Int, at origin: Int, into out: inout ByteSpannedTokens,
        scratch: EncodeScratch
    ) {
        switch model {
        case .bpe(let bpe):
            // A prefix space added before the segment covers no character of the text.
            let prefixed = bpe.addPrefixSpace && p[0] != 0x20
            var bytes = prefixed ? [0x20] : [UInt8]()
            bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            let shift = prefixed ? 1 : 0
            bytes.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                let words: (Int, Int, (Int, Int) -> Void) -> Void = { start, end, body in
                    if bpe.useRegex {
                        ByteLevelPreTokenizer.split(base + start, end - start) { body(start + $0, start + $1) }
                    } else {
                        body(start, end)
                    }
                }
                words(0, b.count) { start, end in
                    var pieces: [Int32] = []
                    bpe.encodeWord(base + start, end - start, into: &pieces, scratch: scratch)
                    var at = start
                    for id in pieces {
                        // Each character of a byte-level spelling is one byte; an unknown byte is one byte.
                        let length = id == bpe.unkId ? 1 : (idToToken(id)?.unicodeScalars.count ?? 1)
                        var s = max(0, at - shift), e = max(0, at + length - shift)
                        if postProcessor.trimOffsets, let spelling = idToToken(id) {
                            let space = ByteLevelAlphabet.characterForByte[0x20]
                            var leading = spelling.unicodeScalars.prefix { $0 == space }.count
                            let trailing = spelling.unicodeScalars.reversed().prefix { $0 == space }.count
                            // HF keeps the one space it added itself before the text's first token.
                            if prefixed && leading == 1 && (out.ids.isEmpty || s == 0) { leading = 0 }
                            if leading > 0 { s = min(s + leading, e) }
                            if trailing > 0 && e >= trailing { e = max(e - trailing, s) }
                        }
                        out.append(id, origin + s, origin + e, word: out.nextWord)
                        at += length
                    }
                    out.nextWord += 1
                }
            }
        case .wordPiece(let wordPiece, let preprocessor):
            let (bytes, bounds, origins) = preprocessor.wordsWithOrigins(p, n, scratch: scratch)
            bytes.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                var k = 0
                while k < bounds.count {
                    let (wordStart, wordEnd) = (bounds[k], bounds[k + 1])
                    k += 2
                    var pieces: [Int32] = []
                    wordPiece.encodeWord(base + wordStart, wordEnd - wordStart, into: &pieces, scratch: scratch)
                    var at = wordStart
                    for (i, id) in pieces.enumerated() {
                        // `[UNK]` stands for the whole word.
                        var length = wordEnd - wordStart
                        if id != wordPiece.unkId, let spelling = idToToken(id) {
                            length = spelling.utf8.count - (i > 0 ? wordPiece.prefixByteCount : 0)
                        }
                        let last = min(wordEnd, at + length) - 1
                        out.append(
                            id, origin + origins.starts[at], origin + origins.ends[max(at, last)], word: out.nextWord)
                        at += length
                    }
                    out.nextWord += 1
                }
            }
        }
    }
}

extension PostProcessor {
    /// Which text each position of `apply`'s result holds: 0, 1, or nil for special tokens.
    func sequenceIds(firstCount: Int, secondCount: Int?, addSpecialTokens: Bool) -> [Int?] {
        var out: [Int?] = []
        if !addSpecialTokens {
            out.append(contentsOf: repeatElement(0, count: firstCount))
            if let secondCount { out.append(contentsOf: repeatElement(1, count: secondCount)) }
            return out
        }
        for piece in secondCount == nil ? single : pair {
            switch piece {
            case .special(let ids, _): out.append(contentsOf: repeatElement(nil, count: ids.count))
            case .first: out.append(contentsOf: repeatElement(0, count: firstCount))
            case .second: out.append(contentsOf: repeatElement(1, count: secondCount ?? 0))
            }
        }
        return out
    }
}

/// One text's tokens with their character spans and words.
struct SpannedTokens {
    var ids: [Int32]
    var spans: [CharacterSpan]
    var words: [Int]

    var count: Int { ids.count }

    subscript(range: Range<Int>) -> SpannedTokens {
        SpannedTokens(ids: Array(ids[range]), spans: Array(spans[range]), words: Array(words[range]))
    }
}

/// `SpannedTokens` while a text is being tokenized: spans still in bytes, and the next word's number.
struct ByteSpannedTokens {
    var ids: [Int32] = []
    var spans: [(start: Int, end: Int)] = []
    var words: [Int] = []
    var nextWord = 0

    mutating func append(_ id: Int32, _ start: Int, _ end: Int, word: Int) {
        ids.append(id)
        spans.append((start, end))
        words.append(word)
    }
}
