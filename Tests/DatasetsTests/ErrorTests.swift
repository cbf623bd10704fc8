import Foundation
import Testing
@testable import Datasets

/// Every bad input becomes a typed error naming the file, and the line and column or field where they apply.
@Suite("Bad dataset input")
struct ErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var file: String
        var bytes: [UInt8]
        var options: DatasetOptions = DatasetOptions()
        /// The expected error, given the path the bytes were written to.
        var expected: @Sendable (String) -> DatasetError
        var testDescription: String { name }
    }

    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let cases: [Case] = [
        Case(name: "empty JSONL", file: "e.jsonl", bytes: [], expected: { .emptyDataset(file: $0) }),
        Case(name: "blank JSONL", file: "e.jsonl", bytes: text("\n  \n\r\n"), expected: { .emptyDataset(file: $0) }),
        Case(name: "header-only CSV", file: "e.csv", bytes: text("text,label\r\n"), expected: { .emptyDataset(file: $0) }),
        Case(name: "empty CSV", file: "e.csv", bytes: [], expected: { .emptyDataset(file: $0) }),
        Case(name: "empty Amazon file", file: "e.csv", bytes: text("\n"), options: DatasetOptions(format: .amazonPolarity),
             expected: { .emptyDataset(file: $0) }),
        Case(name: "unknown label column", file: "c.csv", bytes: text("text,sentiment\na,1\n"),
             expected: { .unknownColumn(file: $0, column: "label", available: ["text", "sentiment"]) }),
        Case(name: "unknown text column", file: "c.tsv", bytes: text("sentence\tlabel\na\t1\n"),
             expected: { .unknownColumn(file: $0, column: "text", available: ["sentence", "label"]) }),
        Case(name: "unknown pair column", file: "c.csv", bytes: text("text,label\na,1\n"),
             options: DatasetOptions(textPairField: "hypothesis"),
             expected: { .unknownColumn(file: $0, column: "hypothesis", available: ["text", "label"]) }),
        Case(name: "no header, column out of range", file: "c.csv", bytes: text("a,1\n"),
             options: DatasetOptions(textField: "0", labelField: "2", hasHeader: false),
             expected: { .unknownColumn(file: $0, column: "2", available: ["0", "1"]) }),
        Case(name: "ragged CSV row (too few)", file: "r.csv", bytes: text("text,label\na,1\n\"b\nc\",2\nd\n"),
             expected: { .raggedRow(file: $0, line: 5, expected: 2, found: 1) }),
        Case(name: "ragged CSV row (too many)", file: "r.csv", bytes: text("text,label\r\na,1,x\r\n"),
             expected: { .raggedRow(file: $0, line: 2, expected: 2, found: 3) }),
        Case(name: "ragged Amazon row", file: "a.csv", bytes: text("\"1\",\"t\",\"c\"\n\"2\",\"only title\"\n"),
             options: DatasetOptions(format: .amazonPolarity),
             expected: { .raggedRow(file: $0, line: 2, expected: 3, found: 2) }),
        Case(name: "Amazon label not 1/2", file: "a.csv", bytes: text("\"1\",\"t\",\"c\"\n\"3\",\"t\",\"c\"\n"),
             options: DatasetOptions(format: .amazonPolarity),
             expected: { .invalidLabel(file: $0, line: 2, field: "label",
                                       detail: "\"3\"; Amazon Polarity labels are 1 (negative) or 2 (positive)") }),
        Case(name: "unterminated quote", file: "q.csv", bytes: text("text,label\na,1\n\"b,2\nc,3\n"),
             expected: { .malformedQuotes(file: $0, line: 3, detail: "a quoted field opened here is never closed") }),
        Case(name: "text after closing quote", file: "q.csv", bytes: text("text,label\n\"b\"x,2\n"),
             expected: { .malformedQuotes(file: $0, line: 2, detail: "unexpected character after a closing quote") }),
        Case(name: "non-UTF-8 CSV (cp1252 byte)", file: "u.csv", bytes: text("text,label\na,1\n") + [0x93, 0x62] + text(",0\n"),
             expected: { .invalidUTF8(file: $0, line: 3) }),
        Case(name: "non-UTF-8 JSONL (overlong)", file: "u.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"") + [0xC0, 0xAF] + text("\", \"label\": 1}\n"),
             expected: { .invalidUTF8(file: $0, line: 2) }),
        Case(name: "non-UTF-8 TSV (truncated sequence at the end)", file: "u.tsv", bytes: text("text\tlabel\nab\t1\n") + [0xE2, 0x82],
             expected: { .invalidUTF8(file: $0, line: 3) }),
        Case(name: "JSONL line that is an array", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1}\n[1, 2]\n"),
             expected: { .notAnObject(file: $0, line: 2) }),
        Case(name: "JSONL line that is a string", file: "j.jsonl", bytes: text("\"text\"\n"),
             expected: { .notAnObject(file: $0, line: 1) }),
        Case(name: "JSONL syntax error", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"a\" \"label\": 1}\n"),
             expected: { .invalidJSON(file: $0, line: 2, detail: "expected ',' or '}' at byte 14") }),
        Case(name: "JSONL truncated line", file: "j.jsonl", bytes: text("\n\n{\"text\": \"a"),
             expected: { .invalidJSON(file: $0, line: 3, detail: "unterminated string at the end of the line") }),
        Case(name: "JSONL trailing garbage", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1} x\n"),
             expected: { .invalidJSON(file: $0, line: 1, detail: "unexpected text after the object at byte 27") }),
        Case(name: "JSONL missing label", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"sentiment\": 1}\n"),
             expected: { .missingField(file: $0, line: 2, field: "label", available: ["text", "sentiment"]) }),
        Case(name: "JSONL missing text", file: "j.jsonl", bytes: text("{\"sentence\": \"b\", \"label\": 1}\n"),
             expected: { .missingField(file: $0, line: 1, field: "text", available: ["sentence", "label"]) }),
        Case(name: "JSONL missing pair field", file: "j.jsonl", bytes: text("{\"text\": \"b\", \"label\": 1}\n"),
             options: DatasetOptions(textPairField: "pair"),
             expected: { .missingField(file: $0, line: 1, field: "pair", available: ["text", "label"]) }),
        Case(name: "JSONL boolean label", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": true}\n"),
             expected: { .invalidLabel(file: $0, line: 1, field: "label", detail: "a boolean; expected a string or an integer") }),
        Case(name: "JSONL float label", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": 1.0}\n"),
             expected: { .invalidLabel(file: $0, line: 1, field: "label", detail: "a non-integer number; expected a string or an integer") }),
        Case(name: "JSONL null label", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": null}\n"),
             expected: { .invalidLabel(file: $0, line: 1, field: "label", detail: "null; expected a string or an integer") }),
        Case(name: "JSONL empty string label", file: "j.jsonl", bytes: text("{\"text\": \"a\", \"label\": \" \"}\n"),
             expected: { .invalidLabel(file: $0, line: 1, field: "label", detail: "empty label") }),
        Case(name: "CSV empty label", file: "l.csv", bytes: text("text,label\na,1\nb,\n"),
             expected: { .invalidLabel(file: $0, line: 3, field: "label", detail: "empty label") }),
        Case(name: "JSONL text not a string", file: "j.jsonl", bytes: text("{\"text\": 5, \"label\": 1}\n"),
             expected: { .invalidText(file: $0, line: 1, field: "text") }),
        Case(name: "unknown extension", file: "data.txt", bytes: text("a\n"), expected: { .unknownFormat(file: $0) }),
    ]

    @Test("Typed error naming the file and line", arguments: cases)
    func badInput(_ c: Case) throws {
        let path = try DS.write(c.bytes, name: c.file)
        defer { DS.remove(path) }
        let expected = c.expected(path)
        let error = #expect(throws: DatasetError.self) { try LabeledDataset.load(path: path, options: c.options) }
        #expect(error == expected)
        // What the thrown error says, against the path this test wrote to.
        #expect(error?.file == path)
        let message = error?.description ?? ""
        #expect(message.hasPrefix(path), "\(message)")
        if let line = expected.line {
            #expect(error?.line == line)
            #expect(message.hasPrefix("\(path):\(line): "), "\(message)")
        }
    }

    @Test("Missing file")
    func missing() {
        #expect(throws: DatasetError.fileNotFound(file: "/nonexistent/x.jsonl")) {
            try LabeledDataset.load(path: "/nonexistent/x.jsonl")
        }
    }

    @Test("Messages list the available columns")
    func messages() {
        let e = DatasetError.unknownColumn(file: "d.csv", column: "label", available: ["text", "sentiment"])
        #expect(e.description == "d.csv: no column \"label\"; available columns: \"text\", \"sentiment\"")
        let r = DatasetError.raggedRow(file: "d.csv", line: 5, expected: 2, found: 1)
        #expect(r.description == "d.csv:5: 1 fields, expected 2")
    }
}
