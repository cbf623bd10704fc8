import Foundation
import TestSupport
import Testing
import Tokenizers
@testable import Datasets

/// Texts that start or end with invisible characters (U+FEFF, zero-width, no-break and bidi marks,
/// separators) keep them in every dataset format, and tokenize to HF's ids; a BOM at the start of a
/// file is skipped (tools/make_invisible_fixtures.py).
@Suite("Invisible characters in datasets")
struct InvisibleCharacterTests {
    struct Reference {
        let texts: [String]
        let ids: [String: [[Int32]]]
    }

    static func reference() throws -> Reference {
        let json = try Fixtures.json("invisible/texts.json")
        let ids = (json["ids"] as? [String: Any] ?? [:]).mapValues { ($0 as? [Any] ?? []).map(int32s) }
        return Reference(texts: json["texts"] as? [String] ?? [], ids: ids)
    }

    /// Exact scalars: Swift's `==` on strings is canonical equivalence and would let "é" equal "e\u{301}".
    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    static func load(_ file: String) throws -> LabeledDataset {
        let url = Fixtures.url("invisible/\(file)")
        if file.hasSuffix(".parquet") {
            return try ParquetExamples(files: [url], textColumn: "text").load()
        }
        return try LabeledDataset.load(path: url.path, options: DatasetOptions())
    }

    @Test(arguments: ["data.jsonl", "data-escaped.jsonl", "bom.jsonl", "data.csv", "bom.csv", "data.tsv", "bom.tsv",
                      "data.parquet"])
    func textsArriveExactly(file: String) throws {
        let reference = try Self.reference()
        #expect(reference.texts.count == 24)
        let dataset = try Self.load(file)
        #expect(dataset.examples.map { Self.scalars($0.text) } == reference.texts.map(Self.scalars))
        #expect(dataset.examples.map(\.label) == reference.texts.indices.map { String($0 % 2) })
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func tokenizeToHFsIds(tokenizer name: String) throws {
        let reference = try Self.reference()
        let tokenizer = try name == "minilm" ? DS.miniLM.get() : DS.roberta.get()
        for file in ["bom.csv", "data.parquet"] {
            let dataset = try Self.load(file)
            let tokenized = try TokenizedDataset(
                dataset: dataset, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 512)
            let ids = (0..<tokenized.count).map { Array(tokenized.sequence($0)) }
            let expected = try #require(reference.ids[name])
            #expect(ids == expected, "\(file)")
        }
    }
}
