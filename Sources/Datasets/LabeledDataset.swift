import Foundation
import Tokenizers

/// The examples of one dataset file, in file order, with the line each one starts on.
///
/// ```swift
/// let train = try LabeledDataset.load(path: "data/rotten_tomatoes/train.jsonl", options: DatasetOptions())
/// let labels = LabelMap.derive(from: train)            // ["0", "1"]
/// let tokenized = try TokenizedDataset(dataset: train, tokenizer: tokenizer, labelMap: labels, maxLength: 100)
/// ```
public struct LabeledDataset: Sendable {
    /// Where the examples came from (the path as given), for error messages.
    public let source: String
    /// The layout the file was read as.
    public let format: DatasetFormat
    /// The examples, in file order.
    public let examples: [Example]
    /// For each example, the 1-based line its record starts on.
    public let lines: [Int]

    /// A dataset held in memory; `lines` defaults to 1, 2, 3, ...
    public init(source: String, format: DatasetFormat = .jsonl, examples: [Example], lines: [Int]? = nil) {
        precondition(lines == nil || lines!.count == examples.count, "one line number per example")
        self.source = source
        self.format = format
        self.examples = examples
        self.lines = lines ?? Array(stride(from: 1, through: examples.count, by: 1))
    }

    /// Number of examples.
    public var count: Int { examples.count }

    /// Reads a local dataset file.
    ///
    /// - JSONL: one object a line with a string text field and a string or integer label (`1` is
    ///   read as `"1"`); blank lines are skipped; other fields are ignored.
    /// - CSV/TSV: RFC 4180 (quoted fields with delimiters, doubled quotes and line breaks; LF or
    ///   CRLF), a header row naming the columns unless `hasHeader` is false (then the columns are
    ///   `"0"`, `"1"`, ...); every record must have as many fields as the first. Labels are trimmed
    ///   of surrounding spaces.
    /// - Amazon Polarity: three fields `label,title,content`, no header, label 1 → `"negative"`,
    ///   2 → `"positive"`; the text is the content, or `title + " " + content` with `amazonTitle`.
    ///   The fields are kept exactly as HF's `amazon_polarity` loader keeps them (the `\n` escapes
    ///   of the original files stay two characters).
    ///
    /// - Throws: ``DatasetError`` naming the file, and the line and column where they apply.
    public static func load(path: String, options: DatasetOptions = DatasetOptions()) throws -> LabeledDataset {
        guard let format = options.format ?? DatasetFormat.inferred(fromPath: path) else {
            throw DatasetError.unknownFormat(file: path)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw DatasetError.fileNotFound(file: path)
        }
        try requireFormat(format, fits: options.task, source: path)
        if format == .parquet {
            return try ParquetExamples(
                files: [URL(fileURLWithPath: path)], textColumn: options.textField,
                titleColumn: options.amazonTitle ? "title" : nil, textPairColumn: options.textPairField,
                labelColumn: options.labelField
            ).load()
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadableFile(file: path, reason: error.localizedDescription)
        }
        return try parse(bytes: [UInt8](data), source: path, format: format, options: options)
    }

    /// Parses bytes already in memory, exactly as ``load(path:options:)`` parses a file's bytes.
    public static func parse(bytes: [UInt8], source: String, format: DatasetFormat,
                             options: DatasetOptions = DatasetOptions()) throws -> LabeledDataset {
        try requireFormat(format, fits: options.task, source: source)
        return try bytes.withUnsafeBufferPointer { buffer in
            if let line = UTF8Check.firstInvalidLine(buffer) {
                throw DatasetError.invalidUTF8(file: source, line: line)
            }
            let parsed: (examples: [Example], lines: [Int])
            switch format {
            case .jsonl: parsed = try readJSONL(buffer, source: source, options: options)
            case .csv: parsed = try readDelimited(buffer, delimiter: UInt8(ascii: ","), source: source, options: options)
            case .tsv: parsed = try readDelimited(buffer, delimiter: 0x09, source: source, options: options)
            case .amazonPolarity: parsed = try readAmazonPolarity(buffer, source: source, options: options)
            case .parquet: throw DatasetError.unknownFormat(file: source)  // binary: read by `load(path:)`
            case .conll: parsed = try readCoNLL(buffer, source: source)
            }
            guard !parsed.examples.isEmpty else { throw DatasetError.emptyDataset(file: source) }
            return LabeledDataset(source: source, format: format, examples: parsed.examples, lines: parsed.lines)
        }
    }

    // MARK: JSONL

    private static func readJSONL(_ bytes: UnsafeBufferPointer<UInt8>, source: String,
                                  options: DatasetOptions) throws -> (examples: [Example], lines: [Int]) {
        var examples: [Example] = []
        var lines: [Int] = []
        var start = 0
        var line = 1
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        let n = bytes.count
        while start < n {
            var end = start
            while end < n, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<lineEnd])
            if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                examples.append(try jsonExample(slice, source: source, line: line, options: options))
                lines.append(line)
            }
            start = end + 1
            line += 1
        }
        return (examples, lines)
    }

    private static func jsonExample(_ slice: UnsafeBufferPointer<UInt8>, source: String, line: Int,
                                    options: DatasetOptions) throws -> Example {
        let object: (members: [String: JSONValue], keys: [String])
        do {
            object = try JSONLineParser.parseObject(slice)
        } catch JSONLineParser.Failure.notAnObject {
            throw DatasetError.notAnObject(file: source, line: line)
        } catch JSONLineParser.Failure.syntax(let detail) {
            throw DatasetError.invalidJSON(file: source, line: line, detail: detail)
        }
        func field(_ name: String) throws -> JSONValue {
            guard let v = object.members[name] else {
                throw DatasetError.missingField(file: source, line: line, field: name, available: object.keys)
            }
            return v
        }
        func text(_ name: String) throws -> String {
            guard case .string(let s) = try field(name) else {
                throw DatasetError.invalidText(file: source, line: line, field: name)
            }
            return s
        }
        switch options.task {
        case .classification:
            let label: String
            switch try field(options.labelField) {
            case .string(let s): label = try checkedLabel(s, source: source, line: line, field: options.labelField)
            case .integer(let s): label = s
            case let other:
                throw DatasetError.invalidLabel(file: source, line: line, field: options.labelField,
                                                detail: "\(other.kindName); expected a string or an integer")
            }
            return Example(text: try text(options.textField), textPair: try options.textPairField.map(text), label: label)
        case .regression:
            let raw: String
            switch try field(options.labelField) {
            case .integer(let s), .number(let s), .string(let s): raw = s
            case let other:
                throw DatasetError.invalidLabel(file: source, line: line, field: options.labelField,
                                                detail: "\(other.kindName); expected a number")
            }
            let label = try checkedTarget(raw, source: source, line: line, field: options.labelField)
            return Example(text: try text(options.textField), textPair: try options.textPairField.map(text), label: label)
        case .multilabelClassification:
            let labels = try labelArray(try field(options.labelField), source: source, line: line, field: options.labelField)
            return Example(text: try text(options.textField), textPair: try options.textPairField.map(text), label: "",
                           labels: labels)
        case .questionAnswering:
            throw DatasetError.unsupportedTask(file: source, detail: "question answering reads SQuAD data (QuestionAnsweringReader)")
        case .multipleChoice:
            guard case .array(let items) = try field(options.choicesField) else {
                throw DatasetError.invalidWords(file: source, line: line, field: options.choicesField)
            }
            var choices: [String] = []
            for item in items {
                guard case .string(let c) = item else {
                    throw DatasetError.invalidWords(file: source, line: line, field: options.choicesField)
                }
                choices.append(c)
            }
            guard choices.count >= 2 else {
                throw DatasetError.invalidLabel(
                    file: source, line: line, field: options.choicesField, detail: "\(choices.count) choice(s); at least 2 are needed")
            }
            let label: String
            switch try field(options.labelField) {
            case .integer(let s): label = s
            case .string(let s) where Int(s.trimmingCharacters(in: .whitespaces)) != nil:
                label = s.trimmingCharacters(in: .whitespaces)
            case let other:
                throw DatasetError.invalidLabel(
                    file: source, line: line, field: options.labelField, detail: "\(other.kindName); expected the index of the right choice")
            }
            guard let index = Int(label), index >= 0, index < choices.count else {
                throw DatasetError.invalidLabel(
                    file: source, line: line, field: options.labelField,
                    detail: "choice \(label) of \(choices.count) (indices start at 0)")
            }
            return Example(text: try text(options.textField), label: String(index), choices: choices)
        case .tagging:
            guard case .array(let items) = try field(options.textField) else {
                throw DatasetError.invalidWords(file: source, line: line, field: options.textField)
            }
            var words: [String] = []
            words.reserveCapacity(items.count)
            for item in items {
                guard case .string(let w) = item else {
                    throw DatasetError.invalidWords(file: source, line: line, field: options.textField)
                }
                words.append(w)
            }
            let tags = try labelArray(try field(options.labelField), source: source, line: line, field: options.labelField)
            guard tags.count == words.count else {
                throw DatasetError.invalidLabel(file: source, line: line, field: options.labelField,
                                                detail: "\(tags.count) tags for \(words.count) words")
            }
            return Example(words: words, tags: tags)
        }
    }

    /// A JSON array of labels (strings or integers; multi-label names, or tags).
    private static func labelArray(_ value: JSONValue, source: String, line: Int, field: String) throws -> [String] {
        guard case .array(let items) = value else {
            throw DatasetError.invalidLabel(file: source, line: line, field: field,
                                            detail: "\(value.kindName); expected an array of labels")
        }
        return try items.enumerated().map { k, item in
            switch item {
            case .string(let s): return try checkedLabel(s, source: source, line: line, field: field)
            case .integer(let s): return s
            default:
                throw DatasetError.invalidLabel(file: source, line: line, field: field,
                                                detail: "element \(k) is \(item.kindName); expected a string or an integer")
            }
        }
    }

    /// A regression target: a finite number, kept as written (trimmed).
    static func checkedTarget(_ raw: String, source: String, line: Int, field: String) throws -> String {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Double(text), value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else {
            throw DatasetError.invalidLabel(file: source, line: line, field: field,
                                            detail: "\"\(raw)\" is not a finite number (a regression target)")
        }
        return text
    }

    /// Refuses a format that cannot carry the task's labels.
    static func requireFormat(_ format: DatasetFormat, fits task: DatasetTask, source: String) throws {
        switch (format, task) {
        case (_, .questionAnswering):
            throw DatasetError.unsupportedTask(
                file: source, detail: "question answering reads SQuAD JSON or JSON lines through QuestionAnsweringReader")
        case (.jsonl, _), (.csv, .classification), (.csv, .regression), (.tsv, .classification), (.tsv, .regression),
             (.amazonPolarity, .classification), (.parquet, .classification), (.conll, .tagging):
            return
        case (.conll, _):
            throw DatasetError.unsupportedTask(file: source, detail: "a CoNLL file holds tags: use it with the tagging task")
        default:
            throw DatasetError.unsupportedTask(
                file: source,
                detail: "\(format.rawValue) files cannot hold \(task.rawValue) labels (use JSONL\(task == .tagging ? " or CoNLL" : ""))")
        }
    }

    /// Trims spaces around a label and rejects an empty one.
    private static func checkedLabel(_ raw: String, source: String, line: Int, field: String) throws -> String {
        let label = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !label.isEmpty else {
            throw DatasetError.invalidLabel(file: source, line: line, field: field, detail: "empty label")
        }
        return label
    }

    // MARK: CSV / TSV

    private static func readDelimited(_ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, source: String,
                                      options: DatasetOptions) throws -> (examples: [Example], lines: [Int]) {
        var records = try CSVReader(file: source, delimiter: delimiter).records(bytes)
        guard let first = records.first else { throw DatasetError.emptyDataset(file: source) }
        let columns: [String]
        if options.hasHeader {
            columns = first.fields
            records.removeFirst()
        } else {
            columns = first.fields.indices.map(String.init)
        }
        func column(_ name: String) throws -> Int {
            guard let index = columns.firstIndex(of: name) else {
                throw DatasetError.unknownColumn(file: source, column: name, available: columns)
            }
            return index
        }
        let textColumn = try column(options.textField)
        let labelColumn = try column(options.labelField)
        let pairColumn = try options.textPairField.map(column)
        var examples: [Example] = []
        var lines: [Int] = []
        examples.reserveCapacity(records.count)
        lines.reserveCapacity(records.count)
        for record in records {
            guard record.fields.count == columns.count else {
                throw DatasetError.raggedRow(file: source, line: record.line, expected: columns.count,
                                             found: record.fields.count)
            }
            var label = try checkedLabel(record.fields[labelColumn], source: source, line: record.line,
                                         field: options.labelField)
            if options.task == .regression {
                label = try checkedTarget(label, source: source, line: record.line, field: options.labelField)
            }
            examples.append(Example(text: record.fields[textColumn], textPair: pairColumn.map { record.fields[$0] },
                                    label: label))
            lines.append(record.line)
        }
        return (examples, lines)
    }

    // MARK: Amazon Polarity

    /// The class names of Amazon Polarity, in class-id order (HF's `ClassLabel(names=[...])`).
    static let amazonPolarityNames = ["negative", "positive"]

    private static func readAmazonPolarity(_ bytes: UnsafeBufferPointer<UInt8>, source: String,
                                           options: DatasetOptions) throws -> (examples: [Example], lines: [Int]) {
        let records = try CSVReader(file: source, delimiter: UInt8(ascii: ",")).records(bytes)
        var examples: [Example] = []
        var lines: [Int] = []
        examples.reserveCapacity(records.count)
        lines.reserveCapacity(records.count)
        for record in records {
            guard record.fields.count == 3 else {
                throw DatasetError.raggedRow(file: source, line: record.line, expected: 3, found: record.fields.count)
            }
            let raw = record.fields[0].trimmingCharacters(in: .whitespaces)
            let label: String
            switch raw {
            case "1": label = amazonPolarityNames[0]
            case "2": label = amazonPolarityNames[1]
            default:
                throw DatasetError.invalidLabel(file: source, line: record.line, field: "label",
                                                detail: "\"\(raw)\"; Amazon Polarity labels are 1 (negative) or 2 (positive)")
            }
            let title = record.fields[1], content = record.fields[2]
            let text: String
            if options.amazonTitle, !title.isEmpty {
                text = content.isEmpty ? title : title + " " + content
            } else {
                text = content
            }
            examples.append(Example(text: text, label: label))
            lines.append(record.line)
        }
        return (examples, lines)
    }
}
