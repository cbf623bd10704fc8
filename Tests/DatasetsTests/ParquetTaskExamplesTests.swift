import Foundation
import TestSupport
import Testing

@testable import Datasets

/// The other tasks from Parquet in the Hub's layouts (tools/make_parquet_fixtures.py's task samples, built from the
/// repository's WNUT 2017, SQuAD, STS-B and Rotten Tomatoes data): the rows Python wrote.
@Suite("Parquet task datasets")
struct ParquetTaskExamplesTests {
    static func url(_ name: String) -> URL { Fixtures.url("datasets/\(name)_sample.parquet") }

    @Test func taggingReadsWordsAndClassLabelTags() throws {
        let json = try Fixtures.json("datasets/tagging_sample.expected.json")
        let source = ParquetExamples(files: [Self.url("tagging")], textColumn: "tokens", labelColumn: "ner_tags")
        let examples = try source.taskExamples(.tagging)
        #expect(examples.count == 120)
        #expect(examples.map(\.words) == (json["tokens"] as? [[String]] ?? []))
        // The tags as names, from the Sequence(ClassLabel) metadata.
        #expect(examples.map(\.labels) == (json["tags"] as? [[String]] ?? []))
        #expect(examples.contains { $0.labels.contains("B-person") })
        let limited = ParquetExamples(
            files: [Self.url("tagging")], textColumn: "tokens", labelColumn: "ner_tags", limit: 7)
        #expect(try limited.taskExamples(.tagging).count == 7)
        // Through LabeledDataset's label map, as train derives it.
        let map = LabelMap.derive(from: LabeledDataset(source: "x", format: .parquet, examples: examples))
        #expect(map.names.contains("O") && map.names.contains("I-person"))
    }

    @Test func regressionAndMultiLabel() throws {
        let stsb = try Fixtures.json("datasets/stsb_sample.expected.json")
        let pairs = try ParquetExamples(
            files: [Self.url("stsb")], textColumn: "sentence1", textPairColumn: "sentence2"
        ).taskExamples(.regression)
        #expect(pairs.map(\.text) == (stsb["text"] as? [String] ?? []))
        #expect(pairs.map(\.textPair) == (stsb["text_pair"] as? [String] ?? []).map { Optional($0) })
        // float32 labels: the same float as the JSON number parses to.
        #expect(pairs.map { Float($0.label) } == (stsb["label"] as? [Double] ?? []).map { Optional(Float($0)) })
        let multi = try Fixtures.json("datasets/multilabel_sample.expected.json")
        let labelled = try ParquetExamples(files: [Self.url("multilabel")], textColumn: "text", labelColumn: "labels")
            .taskExamples(.multilabelClassification)
        #expect(labelled.map(\.text) == (multi["text"] as? [String] ?? []))
        #expect(labelled.map(\.labels) == (multi["labels"] as? [[String]] ?? []))
    }

    @Test func squadRowsBecomeQuestions() throws {
        let rows =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.url("datasets/squad_sample.expected.json"))) as? [[String: Any]] ?? []
        let examples = try ParquetExamples.questionAnsweringExamples(files: [Self.url("squad")], requireAnswers: true)
        #expect(examples.count == rows.count && examples.count == 150)
        for (e, row) in zip(examples, rows) {
            let answers = row["answers"] as? [String: Any] ?? [:]
            #expect(e.id == row["id"] as? String && e.question == row["question"] as? String)
            #expect(e.context == row["context"] as? String)
            #expect(e.answers.map(\.text) == (answers["text"] as? [String] ?? []))
            #expect(e.answers.map(\.start) == (answers["answer_start"] as? [Int] ?? []))
        }
        #expect(try ParquetExamples.questionAnsweringExamples(files: [Self.url("squad")], limit: 5).count == 5)
    }

    @Test func wrongColumnsAndTasksAreTypedErrors() throws {
        // A flat text column where tagging needs a list of words.
        #expect(throws: DatasetError.invalidWords(file: Self.url("stsb").path, line: 1, field: "sentence1")) {
            try ParquetExamples(files: [Self.url("stsb")], textColumn: "sentence1", labelColumn: "label").taskExamples(
                .tagging)
        }
        #expect(throws: DatasetError.self) {
            try ParquetExamples(files: [Self.url("tagging")], textColumn: "tokens", labelColumn: "tags").taskExamples(
                .tagging)
        }
        // QA needs question and context columns.
        #expect(throws: DatasetError.self) { try ParquetExamples.questionAnsweringExamples(files: [Self.url("stsb")]) }
        #expect(throws: DatasetError.self) {
            try ParquetExamples(files: [Self.url("stsb")]).taskExamples(.classification)
        }
    }
}
