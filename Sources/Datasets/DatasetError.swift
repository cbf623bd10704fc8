/// A dataset file that cannot be used, naming the file and (where it applies) the 1-based line
/// and the column or field. For CSV records spanning several lines the line is the one where the
/// record starts, unless the problem sits further in (an unterminated quote names its opening line).
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// No file at that path.
    case fileNotFound(file: String)
    /// The file exists but could not be read.
    case unreadableFile(file: String, reason: String)
    /// No format was given and the extension does not name one.
    case unknownFormat(file: String)
    /// The bytes at that line are not valid UTF-8.
    case invalidUTF8(file: String, line: Int)
    /// The file holds no examples (nothing but a header, blank lines, or nothing at all).
    case emptyDataset(file: String)
    /// A CSV/TSV column named in the options is not in the header (or, without a header, out of range).
    case unknownColumn(file: String, column: String, available: [String])
    /// A JSONL line lacks a field named in the options.
    case missingField(file: String, line: Int, field: String, available: [String])
    /// A CSV/TSV record with a different number of fields than the header (or first row).
    case raggedRow(file: String, line: Int, expected: Int, found: Int)
    /// Broken CSV quoting: an unterminated quoted field, or characters after a closing quote.
    case malformedQuotes(file: String, line: Int, detail: String)
    /// A JSONL line that is not valid JSON.
    case invalidJSON(file: String, line: Int, detail: String)
    /// A JSONL line that is valid JSON but not an object.
    case notAnObject(file: String, line: Int)
    /// A text field that is not a JSON string.
    case invalidText(file: String, line: Int, field: String)
    /// A tagging example's word field (or a multiple-choice example's choices) that is not an array of strings.
    case invalidWords(file: String, line: Int, field: String)
    /// A label that is neither a string nor an integer (JSON booleans, floats, null, arrays...),
    /// an empty label, or an Amazon Polarity label other than 1 or 2; for the other tasks a target
    /// that is not a finite number, not an array of labels, or a tag list whose length differs
    /// from its words'.
    case invalidLabel(file: String, line: Int, field: String, detail: String)
    /// A label that the classification head does not know.
    case labelOutsideHead(file: String, line: Int, label: String)
    /// A token cache file that is truncated, corrupt, or was written by another version.
    case corruptCache(file: String, detail: String)
    /// A token cache that cannot be written (disk full, permissions).
    case cacheWriteFailed(file: String, reason: String)
    /// A format that cannot hold the task's labels (multi-label or tagging in CSV, a CoNLL file for
    /// classification, …).
    case unsupportedTask(file: String, detail: String)
    /// A question-answering example that cannot be used: missing question or context, an answer outside its
    /// context, a file that is neither SQuAD JSON nor JSON lines. `location` names the example
    /// (`data[0].paragraphs[2].qas[1]`, or `line 7`).
    case invalidQuestion(file: String, location: String, detail: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .fileNotFound(let f), .unreadableFile(let f, _), .unknownFormat(let f), .invalidUTF8(let f, _),
             .emptyDataset(let f), .unknownColumn(let f, _, _), .missingField(let f, _, _, _),
             .raggedRow(let f, _, _, _), .malformedQuotes(let f, _, _), .invalidJSON(let f, _, _),
             .notAnObject(let f, _), .invalidText(let f, _, _), .invalidWords(let f, _, _), .invalidLabel(let f, _, _, _),
             .labelOutsideHead(let f, _, _), .corruptCache(let f, _), .cacheWriteFailed(let f, _),
             .unsupportedTask(let f, _), .invalidQuestion(let f, _, _):
            return f
        }
    }

    /// The 1-based line the error is about, when it is about one.
    public var line: Int? {
        switch self {
        case .invalidUTF8(_, let l), .missingField(_, let l, _, _), .raggedRow(_, let l, _, _),
             .malformedQuotes(_, let l, _), .invalidJSON(_, let l, _), .notAnObject(_, let l),
             .invalidText(_, let l, _), .invalidWords(_, let l, _), .invalidLabel(_, let l, _, _), .labelOutsideHead(_, let l, _):
            return l
        case .fileNotFound, .unreadableFile, .unknownFormat, .emptyDataset, .unknownColumn, .corruptCache, .cacheWriteFailed,
             .unsupportedTask, .invalidQuestion:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let f):
            return "\(f): no such file"
        case .unreadableFile(let f, let reason):
            return "\(f): cannot be read (\(reason))"
        case .unknownFormat(let f):
            return "\(f): unknown dataset format (use .jsonl/.ndjson, .csv or .tsv, or name the format: "
                + DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .invalidUTF8(let f, let l):
            return "\(f):\(l): invalid UTF-8"
        case .emptyDataset(let f):
            return "\(f): the dataset is empty (no examples)"
        case .unknownColumn(let f, let c, let available):
            return "\(f): no column \"\(c)\"; available columns: \(Self.list(available))"
        case .missingField(let f, let l, let field, let available):
            return "\(f):\(l): no field \"\(field)\"; fields on this line: \(Self.list(available))"
        case .raggedRow(let f, let l, let expected, let found):
            return "\(f):\(l): \(found) fields, expected \(expected)"
        case .malformedQuotes(let f, let l, let detail):
            return "\(f):\(l): malformed quoting: \(detail)"
        case .invalidJSON(let f, let l, let detail):
            return "\(f):\(l): invalid JSON: \(detail)"
        case .notAnObject(let f, let l):
            return "\(f):\(l): expected a JSON object"
        case .invalidText(let f, let l, let field):
            return "\(f):\(l): field \"\(field)\" is not a string"
        case .invalidWords(let f, let l, let field):
            return "\(f):\(l): field \"\(field)\" is not an array of strings (a tagging example's words, or the choices)"
        case .invalidLabel(let f, let l, let field, let detail):
            return "\(f):\(l): invalid label in \"\(field)\": \(detail)"
        case .labelOutsideHead(let f, let l, let label):
            return "\(f):\(l): label \"\(label)\" is not one of the head's labels"
        case .corruptCache(let f, let detail):
            return "\(f): not a usable token cache (\(detail)); delete it to rebuild"
        case .cacheWriteFailed(let f, let reason):
            return "\(f): cannot write the token cache: \(reason)"
        case .unsupportedTask(let f, let detail):
            return "\(f): \(detail)"
        case .invalidQuestion(let f, let location, let detail):
            return "\(f): \(location): \(detail)"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "(none)" : names.map { "\"\($0)\"" }.joined(separator: ", ")
    }
}
