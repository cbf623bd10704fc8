import Foundation
import TestSupport
import Testing
import Tokenizers

@testable import Datasets

/// Parquet as the Hub serves amazon_polarity (tools/make_parquet_fixtures.py writes the sample).
@Suite("Parquet datasets")
struct ParquetExamplesTests {
    static let sample = Fixtures.url("datasets/amazon_polarity_sample.parquet")

    static func expected() throws -> (labels: [String], titles: [String], contents: [String]) {
        let json = try Fixtures.json("datasets/amazon_polarity_sample.expected.json")
        return (
            json["labels"] as? [String] ?? [], json["titles"] as? [String] ?? [], json["contents"] as? [String] ?? []
        )
    }

    @Test func columnsAreSelectedRenamedAndLabelledByClassName() throws {
        let source = ParquetExamples(files: [Self.sample])
        #expect(try source.rowCount() == 250)
        #expect(try source.classLabelNames() == ["negative", "positive"])
        #expect(try source.labelMap() == LabelMap(names: ["negative", "positive"]))
        let (labels, titles, contents) = try Self.expected()
        let data = try source.load()
        #expect(data.format == .parquet && data.count == 250)
        #expect(data.examples.map(\.text) == contents)
        #expect(data.examples.map(\.label) == labels)
        // title + " " + content, as --amazon-title does for the CSV layout.
        let titled = try ParquetExamples(files: [Self.sample], titleColumn: "title").load()
        #expect(titled.examples.map(\.text) == zip(titles, contents).map { $0 + " " + $1 })
        // Through LabeledDataset.load, by extension.
        let loaded = try LabeledDataset.load(path: Self.sample.path, options: DatasetOptions(textField: "content"))
        #expect(loaded.examples == data.examples)
    }

    @Test func streamsRowGroupsWithALimit() throws {
        let next = ParquetExamples(files: [Self.sample, Self.sample], limit: 420).chunks()
        var sizes: [Int] = []
        while let chunk = try next() { sizes.append(chunk.count) }
        #expect(sizes == [100, 100, 50, 100, 70])
    }

    @Test func tokenCacheFromParquetEqualsTheInMemoryDataset() throws {
        let tokenizer = try DS.tokenizer("roberta-base")
        let source = ParquetExamples(files: [Self.sample])
        let map = try source.labelMap()
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("sample.tokens")
        let cached = try TokenCache.build(
            at: url, key: 9, tokenizer: tokenizer, labelMap: map, maxLength: 100, source: Self.sample.path,
            next: source.chunks())
        let reference = try TokenizedDataset(
            dataset: try source.load(), tokenizer: tokenizer, labelMap: map, maxLength: 100)
        #expect(cached.ids == reference.ids && cached.labels == reference.labels)
    }

    @Test func badColumnsAndFilesAreTypedErrors() throws {
        #expect {
            try ParquetExamples(files: [Self.sample], textColumn: "text").load()
        } throws: { error in
            guard case DatasetError.unknownColumn(let file, "text", let available) = error else { return false }
            return file == Self.sample.path && available == ["label", "title", "content"]
        }
        let truncated = try Fixtures.temporaryFolder().appendingPathComponent("cut.parquet")
        try Data(try Data(contentsOf: Self.sample).prefix(1000)).write(to: truncated)
        #expect {
            try ParquetExamples(files: [truncated]).load()
        } throws: { error in
            guard case DatasetError.unreadableFile(let file, _) = error else { return false }
            return file == truncated.path && "\(error)".contains("cut.parquet")
        }
    }
}
