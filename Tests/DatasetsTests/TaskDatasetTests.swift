import Foundation
import TestSupport
import Testing
import Tokenizers

@testable import Datasets

/// Reading and tokenizing regression, multi-label and tagging data (JSONL, CSV, CoNLL), and the errors
/// that name the file and line for labels a task cannot use.
@Suite("Regression, multi-label and tagging datasets")
struct TaskDatasetTests {
    static func options(_ task: DatasetTask, text: String = "text", label: String = "label") -> DatasetOptions {
        DatasetOptions(textField: text, labelField: label, task: task)
    }

    @Test func regressionTargetsAreNumbersInAnyJSONForm() throws {
        let d = try DS.load(
            #"{"text":"a","label":3}"# + "\n" + #"{"text":"b","label":-0.25}"# + "\n"
                + #"{"text":"c","label":" 1e-2 "}"#,
            name: "r.jsonl", options: Self.options(.regression))
        #expect(d.examples.map(\.label) == ["3", "-0.25", "1e-2"])
        let csv = try DS.load("text,label\nx,2.5\ny,4\n", name: "r.csv", options: Self.options(.regression))
        #expect(csv.examples.map(\.label) == ["2.5", "4"])
    }

    @Test(arguments: [
        (#"{"text":"a","label":true}"#, "a boolean; expected a number"),
        (#"{"text":"a","label":"high"}"#, "\"high\" is not a finite number"),
        (#"{"text":"a","label":"nan"}"#, "\"nan\" is not a finite number"),
        (#"{"text":"a","label":1e39}"#, "is not a finite number"),
    ])
    func badRegressionTargetsNameTheLine(line: String, detail: String) throws {
        do {
            _ = try DS.load(
                #"{"text":"ok","label":1}"# + "\n" + line, name: "bad.jsonl", options: Self.options(.regression))
            Issue.record("accepted \(line)")
        } catch let error as DatasetError {
            #expect(error.line == 2, "\(error)")
            #expect(error.description.contains("bad.jsonl:2") && error.description.contains(detail), "\(error)")
        }
    }

    @Test func multilabelLabelsAreArraysOfNames() throws {
        let d = try DS.load(
            #"{"text":"a","label":["x","y"]}"# + "\n" + #"{"text":"b","label":[]}"# + "\n"
                + #"{"text":"c","label":[2]}"#,
            name: "m.jsonl", options: Self.options(.multilabelClassification))
        #expect(d.examples.map(\.labels) == [["x", "y"], [], ["2"]])
        #expect(LabelMap.derive(from: d).names == ["2", "x", "y"])
        for (line, detail) in [
            (#"{"text":"a","label":"x"}"#, "a string; expected an array of labels"),
            (#"{"text":"a","label":["x",{"k":1}]}"#, "element 1 is an object"),
        ] {
            #expect(throws: DatasetError.self) {
                try DS.load(line, name: "m.jsonl", options: Self.options(.multilabelClassification))
            }
            do {
                _ = try DS.load(line, name: "m.jsonl", options: Self.options(.multilabelClassification))
            } catch let error as DatasetError {
                #expect(error.description.contains(detail), "\(error)")
            }
        }
    }

    @Test func taggingJSONLReadsWordsAndTags() throws {
        let d = try DS.load(
            #"{"tokens":["EU","rejects","German"],"tags":["B-ORG","O","B-MISC"]}"# + "\n"
                + #"{"tokens":["Peter"],"tags":[1]}"#,
            name: "t.jsonl", options: Self.options(.tagging, text: "tokens", label: "tags"))
        #expect(d.examples[0].words == ["EU", "rejects", "German"])
        #expect(d.examples[0].labels == ["B-ORG", "O", "B-MISC"])
        #expect(d.examples[0].text == "EU rejects German")
        #expect(d.examples[1].labels == ["1"])
        for (line, detail) in [
            (#"{"tokens":["a","b"],"tags":["O"]}"#, "1 tags for 2 words"),
            (#"{"tokens":"a b","tags":["O","O"]}"#, "is not an array of strings"),
            (#"{"tokens":["a",3],"tags":["O","O"]}"#, "is not an array of strings"),
        ] {
            do {
                _ = try DS.load(line, name: "t.jsonl", options: Self.options(.tagging, text: "tokens", label: "tags"))
                Issue.record("accepted \(line)")
            } catch let error as DatasetError {
                #expect(error.description.contains("t.jsonl:1") && error.description.contains(detail), "\(error)")
            }
        }
    }

    @Test func conllSentencesSkipDocumentBreaks() throws {
        let text =
            "-DOCSTART- -X- -X- O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n\r\nPeter\tB-PER\nBlackburn I-PER\n"
        let d = try DS.load(text, name: "train.conll", options: Self.options(.tagging))
        #expect(d.format == .conll)
        #expect(d.examples.map { $0.words ?? [] } == [["EU", "rejects"], ["Peter", "Blackburn"]])
        #expect(d.examples.map(\.labels) == [["B-ORG", "O"], ["B-PER", "I-PER"]])
        #expect(d.lines == [3, 7])
        do {
            _ = try DS.load("EU B-ORG\nlonely\n", name: "x.conll", options: Self.options(.tagging))
            Issue.record("a line without a tag was accepted")
        } catch let error as DatasetError {
            #expect(error.description.contains("x.conll:2") && error.description.contains("no tag column"), "\(error)")
        }
        let empty = try DS.write("-DOCSTART- O\n\n", name: "e.conll")
        defer { DS.remove(empty) }
        #expect(throws: DatasetError.emptyDataset(file: empty)) {
            _ = try LabeledDataset.load(path: empty, options: Self.options(.tagging))
        }
    }

    @Test(arguments: [
        (
            "a.csv", DatasetTask.multilabelClassification,
            "csv files cannot hold multilabel_classification labels (use JSONL)"
        ),
        ("a.tsv", DatasetTask.tagging, "tsv files cannot hold tagging labels (use JSONL or CoNLL)"),
        ("a.conll", DatasetTask.classification, "a CoNLL file holds tags: use it with the tagging task"),
    ])
    func formatsThatCannotHoldTheTaskAreRefused(name: String, task: DatasetTask, detail: String) throws {
        let path = try DS.write("text,label\nx,1\n", name: name)
        defer { DS.remove(path) }
        #expect(throws: DatasetError.unsupportedTask(file: path, detail: detail)) {
            _ = try LabeledDataset.load(path: path, options: Self.options(task))
        }
    }

    /// HF's `tokenize_and_align_labels`: a word's tag on its first token, -100 on its other tokens and on the
    /// special tokens; truncation keeps the labels of the words that remain.
    @Test(arguments: ["minilm", "roberta-base"])
    func taggingLabelsGoToEachWordsFirstToken(tokenizerName: String) throws {
        let tokenizer = try (tokenizerName == "minilm" ? DS.miniLM : DS.roberta).get()
        let words = ["Kierkegaardian", "visited", "Zürich", "yesterday", "."]
        let tags = ["B-PER", "O", "B-LOC", "O", "O"]
        let dataset = LabeledDataset(source: "t.jsonl", examples: [Example(words: words, tags: tags)])
        let map = LabelMap(names: ["O", "B-PER", "B-LOC"])
        let full = try TokenizedDataset(dataset: dataset, tokenizer: tokenizer, task: .tagging, labelMap: map)
        let encoded = tokenizer.encode(words: words)
        #expect(Array(full.sequence(0)) == encoded.encoding.ids)
        var expected: [Int32] = []
        var previous: Int? = nil
        for w in encoded.wordIds {
            expected.append(w.map { $0 == previous ? -100 : Int32(map.id(of: tags[$0]) ?? -1) } ?? -100)
            previous = w
        }
        #expect(Array(full.tokenLabels(0)) == expected)
        #expect(expected.filter { $0 != -100 } == [1, 0, 2, 0, 0])
        #expect(expected.count > words.count + 2, "some word should split into several tokens")
        let padded = full.batch([0], padId: tokenizer.padTokenId, padding: .maxLength, maxLength: expected.count + 3)
        #expect(padded.tokenLabels == expected + [-100, -100, -100])

        let cut = try TokenizedDataset(
            dataset: dataset, tokenizer: tokenizer, task: .tagging, labelMap: map, maxLength: 5)
        #expect(cut.sequence(0).count == 5)
        #expect(Array(cut.tokenLabels(0)) == Array(expected.prefix(4)) + [-100])
        #expect(throws: DatasetError.labelOutsideHead(file: "t.jsonl", line: 1, label: "B-PER")) {
            try TokenizedDataset(
                dataset: dataset, tokenizer: tokenizer, task: .tagging, labelMap: LabelMap(names: ["O", "B-LOC"]))
        }
    }

    @Test func multilabelAndRegressionTargetsReachTheBatch() throws {
        let tokenizer = try DS.miniLM.get()
        let ml = LabeledDataset(
            source: "m.jsonl",
            examples: [
                Example(text: "a", label: "", labels: ["y"]), Example(text: "b c", label: "", labels: ["x", "z"]),
            ])
        let map = LabelMap(names: ["x", "y", "z"])
        let t = try TokenizedDataset(dataset: ml, tokenizer: tokenizer, task: .multilabelClassification, labelMap: map)
        #expect(Array(t.values(0)) == [0, 1, 0] && Array(t.values(1)) == [1, 0, 1])
        #expect(t.batch([1, 0], padId: 0).values == [1, 0, 1, 0, 1, 0])
        #expect(throws: DatasetError.labelOutsideHead(file: "m.jsonl", line: 2, label: "x")) {
            try TokenizedDataset(
                dataset: ml, tokenizer: tokenizer, task: .multilabelClassification,
                labelMap: LabelMap(names: ["y", "z"]))
        }
        let reg = LabeledDataset(
            source: "r.jsonl", examples: [Example(text: "a", label: "2.5"), Example(text: "b", label: "-1")])
        let r = try TokenizedDataset(
            dataset: reg, tokenizer: tokenizer, task: .regression, labelMap: LabelMap(names: ["LABEL_0"]))
        #expect(r.batch([0, 1], padId: 0).values == [2.5, -1])
        #expect(r.batch([0, 1], padId: 0).tokenLabels == nil)
    }

    /// Multiple choice: each choice paired with the context, an example's choices consecutive in a batch, one
    /// label per example; a choice count that differs from the head's names the line.
    @Test func multipleChoiceExamplesBecomeConsecutivePairs() throws {
        let d = try DS.load(
            #"{"text":"He opened the door","choices":["and walked in.","and the sky fell."],"label":0}"# + "\n"
                + #"{"text":"She was hungry","choices":["so she ate.","so she slept."],"label":"1"}"#,
            name: "mc.jsonl", options: Self.options(.multipleChoice))
        #expect(
            d.examples.map { $0.choices ?? [] } == [
                ["and walked in.", "and the sky fell."], ["so she ate.", "so she slept."],
            ])
        #expect(d.examples.map(\.label) == ["0", "1"])
        let map = LabelMap.derive(from: d)
        #expect(map.names == ["LABEL_0", "LABEL_1"])
        let tokenizer = try DS.miniLM.get()
        let t = try TokenizedDataset(dataset: d, tokenizer: tokenizer, task: .multipleChoice, labelMap: map)
        #expect(t.count == 2 && t.choicesPerExample == 2)
        let batch = t.batch([1, 0], padId: tokenizer.padTokenId)
        #expect(batch.batchSize == 4 && batch.labels == [1, 0])
        let expected = tokenizer.encode("She was hungry", pair: "so she slept.").ids
        let row1 = Array(batch.inputIds[batch.sequenceLength..<(batch.sequenceLength + expected.count)])
        #expect(row1 == expected)
        for (line, detail) in [
            (#"{"text":"a","choices":["x"],"label":0}"#, "1 choice(s); at least 2 are needed"),
            (#"{"text":"a","choices":["x","y"],"label":2}"#, "choice 2 of 2"),
            (#"{"text":"a","choices":["x","y"],"label":"x"}"#, "expected the index of the right choice"),
            (#"{"text":"a","choices":"x y","label":0}"#, "is not an array of strings"),
        ] {
            do {
                _ = try DS.load(line, name: "mc.jsonl", options: Self.options(.multipleChoice))
                Issue.record("accepted \(line)")
            } catch let error as DatasetError {
                #expect(error.description.contains("mc.jsonl:1") && error.description.contains(detail), "\(error)")
            }
        }
        let three = LabeledDataset(
            source: "m.jsonl", examples: [Example(text: "a", label: "0", choices: ["x", "y", "z"])])
        do {
            _ = try TokenizedDataset(dataset: three, tokenizer: tokenizer, task: .multipleChoice, labelMap: map)
            Issue.record("3 choices accepted for a 2-choice head")
        } catch let error as DatasetError {
            #expect(error.description.contains("3 choices; the head has 2"), "\(error)")
        }
    }
}
