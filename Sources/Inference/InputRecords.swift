import Foundation

/// One input to `predict`, `embed` or `tokenize`: text (optionally a pair) or pre-tokenized ids.
public enum InputRecord: Sendable, Equatable {
    case text(String, pair: String?)
    case tokens(ids: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?)
}

/// Reads input files: `.txt` (one text a line), `.jsonl` (a text field per line, or pre-tokenized
/// `{"input_ids": [...], "attention_mask": [...]}` lines). Every problem names the file and line.
public enum InputReader {
    public struct Options: Sendable {
        /// JSONL field holding the text.
        public var textField = "text"
        /// Optional JSONL field holding the second text of a pair.
        public var textPairField: String? = nil
        public init(textField: String = "text", textPairField: String? = nil) {
            self.textField = textField
            self.textPairField = textPairField
        }
    }

    public static func read(_ path: String, options: Options = .init()) throws -> [InputRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                throw InferenceError.invalidInput(path: path, line: nil, detail: isDir.boolValue ? "is a directory" : "cannot be read")
            }
            throw InferenceError.invalidInput(path: path, line: nil, detail: "no such file")
        }
        let lines = try splitLines(data, path: path)
        let records: [InputRecord]
        if path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".ndjson") {
            records = try lines.enumerated().compactMap { index, line in
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { return nil }
                return try parseJSONLine(line, path: path, line: index + 1, options: options)
            }
        } else {
            records = lines.map { .text($0.hasSuffix("\r") ? String($0.dropLast()) : $0, pair: nil) }
        }
        if records.isEmpty {
            throw InferenceError.invalidInput(path: path, line: nil, detail: "no inputs (the file is empty)")
        }
        return records
    }

    /// Splits into lines, validating UTF-8 line by line so the error names the line.
    static func splitLines(_ data: Data, path: String) throws -> [String] {
        var lines: [String] = []
        var lineNumber = 0
        var parts = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        for part in parts {
            lineNumber += 1
            guard let s = String(bytes: part, encoding: .utf8) else {
                throw InferenceError.invalidInput(path: path, line: lineNumber, detail: "not valid UTF-8")
            }
            lines.append(s)
        }
        return lines
    }

    static func parseJSONLine(_ line: String, path: String, line number: Int, options: Options) throws -> InputRecord {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw InferenceError.invalidInput(path: path, line: number, detail: "not a JSON object")
        }
        if let rawIds = object["input_ids"] {
            let ids = try integers(rawIds, field: "input_ids", path: path, line: number)
            let mask = try object["attention_mask"].map { try integers($0, field: "attention_mask", path: path, line: number) }
                ?? Array(repeating: 1, count: ids.count)
            let types = try object["token_type_ids"].map { try integers($0, field: "token_type_ids", path: path, line: number) }
            guard mask.count == ids.count, types.map({ $0.count == ids.count }) ?? true else {
                throw InferenceError.invalidInput(
                    path: path, line: number, detail: "input_ids, attention_mask and token_type_ids differ in length")
            }
            guard !ids.isEmpty else {
                throw InferenceError.invalidInput(path: path, line: number, detail: "input_ids is empty")
            }
            return .tokens(ids: ids, attentionMask: mask, tokenTypeIds: types)
        }
        guard let value = object[options.textField] else {
            throw InferenceError.invalidInput(
                path: path, line: number,
                detail: "no '\(options.textField)' field (choose another with --text-field, or give input_ids)")
        }
        guard let text = value as? String else {
            throw InferenceError.invalidInput(path: path, line: number, detail: "'\(options.textField)' is not a string")
        }
        var pair: String? = nil
        if let pairField = options.textPairField {
            guard let p = object[pairField] as? String else {
                throw InferenceError.invalidInput(path: path, line: number, detail: "no string field '\(pairField)'")
            }
            pair = p
        }
        return .text(text, pair: pair)
    }

    static func integers(_ value: Any, field: String, path: String, line: Int) throws -> [Int32] {
        guard let array = value as? [Any] else {
            throw InferenceError.invalidInput(path: path, line: line, detail: "'\(field)' is not an array")
        }
        return try array.map { element in
            guard let n = element as? NSNumber, n.doubleValue.rounded() == n.doubleValue,
                let v = Int32(exactly: n.doubleValue)
            else {
                throw InferenceError.invalidInput(path: path, line: line, detail: "'\(field)' holds a non-integer")
            }
            return v
        }
    }
}
