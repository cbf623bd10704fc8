import Foundation
import Testing
import Tokenizers

/// Character offsets and sequence ids against HF's fast tokenizers (`return_offsets_mapping=True`,
/// `sequence_ids()`), for single texts, pairs and the overflowing question-answering windows
/// (fixtures from tools/make_offset_fixtures.py: roberta-base byte-level BPE with `trim_offsets`, MiniLM
/// WordPiece with accent stripping, CJK spacing and lower-casing).
@Suite("Character offsets")
struct OffsetTests {
    struct Encoded: Decodable {
        var ids: [Int32]
        var offsets: [[Int]]
        var sequence_ids: [Int?]
        var word_ids: [Int?]
        var attention_mask: [Int32]?
        var token_type_ids: [Int32]?
    }

    /// One text or pair: the tokenizer variants keyed by name (`roberta-base`, `minilm/truncated16`…).
    struct Case: Decodable {
        var text: String
        var pair: String?
        var variants: [String: Encoded]

        init(from decoder: Decoder) throws {
            let all = try decoder.container(keyedBy: AnyKey.self)
            text = try all.decode(String.self, forKey: AnyKey("text"))
            pair = try all.decodeIfPresent(String.self, forKey: AnyKey("pair"))
            var out: [String: Encoded] = [:]
            for key in all.allKeys where key.stringValue != "text" && key.stringValue != "pair" {
                out[key.stringValue] = try all.decode(Encoded.self, forKey: key)
            }
            variants = out
        }
    }

    struct Window: Decodable {
        var question: String
        var context: String
        var max_length: Int
        var stride: Int
        var roberta: [Encoded]
        var minilm: [Encoded]

        enum CodingKeys: String, CodingKey {
            case question, context, max_length, stride
            case roberta = "roberta-base"
            case minilm
        }
    }

    struct File: Decodable {
        var singles: [Case]
        var pairs: [Case]
        var windows: [Window]
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func spans(_ e: OffsetEncoding) -> [[Int]] { e.offsets.map { [$0.start, $0.end] } }

    static func mismatch(_ got: OffsetEncoding, _ expected: Encoded) -> String? {
        if got.encoding.ids != expected.ids { return "ids \(got.encoding.ids) vs \(expected.ids)" }
        if spans(got) != expected.offsets { return "offsets \(spans(got)) vs \(expected.offsets)" }
        if got.sequenceIds != expected.sequence_ids {
            return "sequence ids \(got.sequenceIds) vs \(expected.sequence_ids)"
        }
        if got.wordIds != expected.word_ids { return "word ids \(got.wordIds) vs \(expected.word_ids)" }
        if let mask = expected.attention_mask, got.encoding.attentionMask != mask { return "attention mask differs" }
        if let types = expected.token_type_ids, got.encoding.typeIds != types { return "token types differ" }
        return nil
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func singleTextsAndPairsMatchHF(tokenizerName: String) throws {
        let file = try Fixtures.decode(File.self, "offsets.json")
        let tokenizer = try Fixtures.tokenizer(tokenizerName)
        var compared = 0
        var failures: [String] = []
        for c in file.singles + file.pairs {
            for (variant, expected) in c.variants
            where variant.split(separator: "/").first.map(String.init) == tokenizerName {
                var options = EncodeOptions()
                if let limit = variant.split(separator: "/").dropFirst().first.flatMap({
                    Int($0.dropFirst("truncated".count))
                }) {
                    options = EncodeOptions(maxLength: limit, truncation: true)
                }
                let got = tokenizer.encodeWithOffsets(c.text, pair: c.pair, options: options)
                // The ids are `encode`'s own.
                #expect(got.encoding == tokenizer.encode(c.text, pair: c.pair, options: options))
                compared += 1
                if let why = Self.mismatch(got, expected) {
                    failures.append("\(variant) \(String(reflecting: String(c.text.prefix(40)))): \(why)")
                }
            }
        }
        #expect(compared > 1200)
        #expect(failures.isEmpty, "\(failures.count) of \(compared) differ, first: \(failures.prefix(3))")
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func questionAnsweringWindowsMatchHF(tokenizerName: String) throws {
        let file = try Fixtures.decode(File.self, "offsets.json")
        let tokenizer = try Fixtures.tokenizer(tokenizerName)
        var windows = 0
        for w in file.windows {
            let expected = tokenizerName == "minilm" ? w.minilm : w.roberta
            let got = try tokenizer.encodeWindows(
                question: w.question, context: w.context, maxLength: w.max_length,
                stride: w.stride)
            #expect(got.count == expected.count, "\(w.context.prefix(30)): \(got.count) windows vs \(expected.count)")
            for (g, e) in zip(got, expected) {
                windows += 1
                let why = Self.mismatch(g, e)
                #expect(why == nil, "\(w.context.prefix(30)): \(why ?? "")")
            }
        }
        #expect(windows > 30)
    }

    @Test func windowsRefuseAQuestionWithoutRoomAndATooLargeStride() throws {
        let tokenizer = try Fixtures.tokenizer("roberta-base")
        #expect(throws: WindowError.questionTooLong(questionTokens: 6, maxLength: 8)) {
            try tokenizer.encodeWindows(question: "one two three four five six", context: "x", maxLength: 8, stride: 1)
        }
        #expect(throws: WindowError.strideTooLarge(stride: 4, room: 4)) {
            try tokenizer.encodeWindows(question: "one two", context: "a b c d e f g", maxLength: 10, stride: 4)
        }
        // An empty context still gives one window (the question alone), as HF does.
        let empty = try tokenizer.encodeWindows(question: "why", context: "", maxLength: 10, stride: 2, pad: false)
        #expect(empty.count == 1 && empty[0].sequenceIds.compactMap { $0 }.allSatisfy { $0 == 0 })
    }
}
