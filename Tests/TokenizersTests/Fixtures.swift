import Foundation
import Tokenizers

/// Locates and decodes the golden files written by `tools/make_tokenizer_fixtures.py`.
///
/// Paths are resolved from this source file (`#filePath`), so the tests find the fixtures from
/// any package that compiles them.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TokenizersTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/tokenizers")

    struct Texts: Decodable {
        var corpus: [String]
        var hard: [String]
        var pairs: [[String]]
        var random: [String]
    }

    struct Options: Decodable {
        var max_length: Int?
        var truncation: Bool?
        var padding: String?
        var add_special_tokens: Bool?

        var encodeOptions: EncodeOptions {
            EncodeOptions(addSpecialTokens: add_special_tokens ?? true, maxLength: max_length,
                          truncation: truncation ?? false,
                          padding: padding.flatMap(PaddingStrategy.init(rawValue:)) ?? .none)
        }
    }

    struct Case: Decodable {
        var text: String
        var pair: String?
        var options: Options
        var ids: [Int32]
        var type_ids: [Int32]
        var attention_mask: [Int32]
        var special_tokens_mask: [Int32]
        var decoded: String
        var decoded_with_special: String?

        var encoding: Encoding {
            Encoding(ids: ids, typeIds: type_ids, attentionMask: attention_mask, specialTokensMask: special_tokens_mask)
        }
    }

    struct Batch: Decodable {
        var texts: [String]
        var pairs: [String]?
        var options: Options
        var ids: [[Int32]]
        var type_ids: [[Int32]]
        var attention_mask: [[Int32]]
        var special_tokens_mask: [[Int32]]
    }

    struct Expected: Decodable {
        var corpus: [[Int32]]
        var random: [[Int32]]
        var cases: [Case]
        var batches: [Batch]
    }

    static func decode<T: Decodable>(_ type: T.Type, _ relativePath: String) throws -> T {
        let data = try Data(contentsOf: root.appendingPathComponent(relativePath))
        return try JSONDecoder().decode(T.self, from: data)
    }

    static let texts: Texts? = try? decode(Texts.self, "texts.json")

    /// A fresh temporary directory, removed by the caller with `FileManager.removeItem`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizers-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The MiniLM tokenizer built from `vocab.txt` + `tokenizer_config.json` only (no tokenizer.json).
    static func minilmFromVocabTxt() throws -> Tokenizer {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent("minilm/\(name)"),
                                             to: dir.appendingPathComponent(name))
        }
        return try Tokenizer.load(from: dir)
    }

    /// Loads one of the fixture tokenizers by name.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        switch name {
        case "minilm-vocab-txt": return try minilmFromVocabTxt()
        default: return try Tokenizer.load(from: root.appendingPathComponent(name))
        }
    }

    /// The expected-output folder of a fixture tokenizer.
    static func expectedFolder(_ name: String) -> String { name == "minilm-vocab-txt" ? "minilm" : name }
}
