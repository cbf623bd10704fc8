import Foundation
import Testing
@testable import Datasets

@Suite("Parsing dataset files")
struct ParsingTests {
    @Test("JSONL: int and string labels, escapes, blank and CRLF lines, no final newline")
    func jsonl() throws {
        let d = try LabeledDataset.load(path: DS.fixture("reviews.jsonl"), options: DatasetOptions())
        #expect(d.format == .jsonl)
        #expect(d.examples == [
            Example(text: "A fine film.", label: "1"),
            Example(text: "Dull \"and\" long é😀.", label: "0"),
            Example(text: "multi\nline", label: "neutral"),
        ])
        #expect(d.lines == [1, 3, 4])
        #expect(d.source == DS.fixture("reviews.jsonl"))
    }

    @Test("JSONL: custom text, pair and label fields")
    func jsonlFields() throws {
        let text = #"{"sentence": "a", "s2": "b", "y": "yes"}"# + "\n" + #"{"y": -3, "s2": "d", "sentence": "c"}"# + "\n"
        let d = try DS.load(text, name: "x.ndjson",
                            options: DatasetOptions(textField: "sentence", textPairField: "s2", labelField: "y"))
        #expect(d.examples == [Example(text: "a", textPair: "b", label: "yes"), Example(text: "c", textPair: "d", label: "-3")])
    }

    @Test("CSV: header, quoting, doubled quotes, embedded CRLF, CRLF records, empty fields")
    func csv() throws {
        let d = try LabeledDataset.load(path: DS.fixture("reviews.csv"), options: DatasetOptions())
        #expect(d.format == .csv)
        #expect(d.examples == [
            Example(text: "A plain, quoted text", label: "positive"),
            Example(text: "unquoted text", label: "negative"),
            Example(text: "She said \"wow\" twice", label: "positive"),
            Example(text: "two\r\nlines", label: "negative"),
            Example(text: "", label: "positive"),
        ])
        #expect(d.lines == [2, 3, 4, 5, 7])
    }

    @Test("CSV/TSV record splitting", arguments: [
        // (content, delimiter is tab, expected records)
        ("a,b\n1,2\n", false, [["a", "b"], ["1", "2"]]),
        ("a,b\r\n1,2", false, [["a", "b"], ["1", "2"]]),
        ("a,b\n\n\n1,2\n\n", false, [["a", "b"], ["1", "2"]]),
        ("a,b\n\"x\ny\",\"\"\"q\"\"\"\n", false, [["a", "b"], ["x\ny", "\"q\""]]),
        ("a,b\n1,\n", false, [["a", "b"], ["1", ""]]),
        ("a,b\n1,", false, [["a", "b"], ["1", ""]]),
        ("a,b\n\"1,2\",3", false, [["a", "b"], ["1,2", "3"]]),
        ("a,b\nsay \"hi\",3", false, [["a", "b"], ["say \"hi\"", "3"]]),
        ("\u{FEFF}a,b\n1,2", false, [["a", "b"], ["1", "2"]]),
        ("a\tb\n\"x\ty\"\tz, w\n", true, [["a", "b"], ["x\ty", "z, w"]]),
        ("a,b\r1,2\r", false, [["a", "b"], ["1", "2"]]),
    ] as [(String, Bool, [[String]])])
    func records(content: String, tab: Bool, expected: [[String]]) throws {
        let bytes = Array(content.utf8)
        let records = try bytes.withUnsafeBufferPointer {
            try CSVReader(file: "t", delimiter: tab ? 0x09 : UInt8(ascii: ",")).records($0)
        }
        #expect(records.map(\.fields) == expected)
    }

    @Test("CSV line numbers count the line breaks inside quoted fields")
    func csvLines() throws {
        let d = try DS.load("text,label\n\"a\nb\nc\",1\n\r\nd,2\n", name: "l.csv")
        #expect(d.lines == [2, 6])
    }

    @Test("TSV: text pairs, quoted tab, empty pair")
    func tsv() throws {
        let d = try LabeledDataset.load(path: DS.fixture("pairs.tsv"),
                                        options: DatasetOptions(textField: "sentence1", textPairField: "sentence2"))
        #expect(d.format == .tsv)
        #expect(d.examples == [
            Example(text: "A man plays a guitar.", textPair: "Someone makes music.", label: "0"),
            Example(text: "A quoted\tfield", textPair: "plain", label: "2"),
            Example(text: "No pair here", textPair: "", label: "1"),
        ])
    }

    @Test("CSV without header: columns are named by index")
    func noHeader() throws {
        let d = try DS.load("1,great\n0,\" bad \"\n", name: "h.csv",
                            options: DatasetOptions(textField: "1", labelField: "0", hasHeader: false))
        #expect(d.examples == [Example(text: "great", label: "1"), Example(text: " bad ", label: "0")])
        #expect(d.lines == [1, 2])
    }

    @Test("CSV labels are trimmed")
    func trimmedLabels() throws {
        let d = try DS.load("text,label\nx, 1 \n", name: "t.csv")
        #expect(d.examples == [Example(text: "x", label: "1")])
    }

    @Test("Amazon Polarity: content only, labels 1/2 → negative/positive, no header")
    func amazon() throws {
        let d = try LabeledDataset.load(path: DS.fixture("amazon_polarity_synthetic.csv"),
                                        options: DatasetOptions(format: .amazonPolarity))
        #expect(d.count == 8)
        #expect(d.examples.map(\.label) == ["positive", "negative", "positive", "negative",
                                            "positive", "negative", "positive", "negative"])
        #expect(d.examples[0].text == "Synthetic review: the kettle boils fast and the lid shuts tight.")
        // The original files' "\n" escapes stay two characters, as in HF's loader.
        #expect(d.examples[3].text == "Synthetic review: too loud.\\nThis break is written as the original files write one.")
        #expect(d.examples[5].text == "Synthetic review: the box came two weeks late\nand this field holds a real line break.")
        #expect(d.examples[6].text == "")
        #expect(d.examples[7].text.contains("café"))
        #expect(d.examples.allSatisfy { $0.textPair == nil })
        #expect(d.lines == [1, 2, 3, 4, 5, 6, 8, 9])
        #expect(LabelMap.derive(from: d) == LabelMap(names: ["negative", "positive"]))
    }

    @Test("Amazon Polarity: title + content joined with one space")
    func amazonTitle() throws {
        let d = try LabeledDataset.load(path: DS.fixture("amazon_polarity_synthetic.csv"),
                                        options: DatasetOptions(format: .amazonPolarity, amazonTitle: true))
        #expect(d.examples[0].text == "Works as promised Synthetic review: the kettle boils fast and the lid shuts tight.")
        #expect(d.examples[2].text == "Great \"value\" Synthetic review: cheap, sturdy, and the colour is exactly as shown.")
        #expect(d.examples[4].text == "Synthetic review with an empty title.")  // empty title: content alone
        #expect(d.examples[6].text == "Five stars")                              // empty content: title alone
    }

    @Test("Format inferred from the extension", arguments: [
        ("a.jsonl", DatasetFormat.jsonl), ("a.NDJSON", .jsonl), ("dir.v2/a.csv", .csv), ("a.tsv", .tsv),
        ("train-00000-of-00004.parquet", .parquet),
    ])
    func inferred(path: String, format: DatasetFormat) {
        #expect(DatasetFormat.inferred(fromPath: path) == format)
    }

    @Test("No format inferred", arguments: ["a.txt", "a", "dir.csv/a", "a.arrow"])
    func notInferred(path: String) {
        #expect(DatasetFormat.inferred(fromPath: path) == nil)
    }

    @Test("An explicit format wins over the extension")
    func explicitFormat() throws {
        let d = try DS.load("text\tlabel\na,b\t1\n", name: "data.txt", options: DatasetOptions(format: .tsv))
        #expect(d.examples == [Example(text: "a,b", label: "1")])
    }
}
