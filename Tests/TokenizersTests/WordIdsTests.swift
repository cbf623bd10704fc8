import Foundation
import Testing
import Tokenizers

/// Pre-split words (token classification) against HF's fast tokenizers: `tokenizer(words,
/// is_split_into_words=True)` ids and `word_ids()`, plain, truncated to 12 and padded to 24
/// (fixtures from tools/make_word_fixtures.py: roberta-base with add_prefix_space, MiniLM WordPiece).
@Suite("Word ids of pre-split input")
struct WordIdsTests {
    struct Encoded: Decodable {
        var ids: [Int32]
        var word_ids: [Int?]
        var attention_mask: [Int32]
    }

    struct Case: Decodable {
        var words: [String]
        var tokenizers: [String: [String: Encoded]]

        enum CodingKeys: String, CodingKey { case words }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            words = try decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .words)
            let all = try decoder.container(keyedBy: Key.self)
            var out: [String: [String: Encoded]] = [:]
            for key in all.allKeys where key.stringValue != "words" {
                out[key.stringValue] = try all.decode([String: Encoded].self, forKey: key)
            }
            tokenizers = out
        }
    }

    struct File: Decodable { var cases: [Case] }

    static let options: [String: EncodeOptions] = [
        "plain": EncodeOptions(),
        "truncated12": EncodeOptions(maxLength: 12, truncation: true),
        "padded24": EncodeOptions(maxLength: 24, truncation: true, padding: .maxLength),
    ]

    @Test(arguments: ["roberta-base", "minilm"])
    func idsAndWordIdsMatchHF(tokenizerName: String) throws {
        let file = try Fixtures.decode(File.self, "words.json")
        let tokenizer = try Fixtures.tokenizer(tokenizerName)
        #expect(file.cases.count > 100)
        var compared = 0
        var failures: [String] = []
        for c in file.cases {
            for (variant, expected) in c.tokenizers[tokenizerName] ?? [:] {
                let options = try #require(Self.options[variant])
                let got = tokenizer.encode(words: c.words, options: options)
                compared += 1
                if got.encoding.ids != expected.ids || got.wordIds != expected.word_ids
                    || got.encoding.attentionMask != expected.attention_mask
                {
                    failures.append(
                        "\(variant) \(c.words.prefix(8)): ids \(got.encoding.ids) vs \(expected.ids), words \(got.wordIds) vs \(expected.word_ids)"
                    )
                }
            }
        }
        #expect(compared > 300)
        #expect(failures.isEmpty, "\(failures.count) differ, first: \(failures.prefix(3))")
    }
}
