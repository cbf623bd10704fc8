import Datasets
import Foundation
import Tokenizers

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
        let bytes = [UInt8](data)
        if let line = UTF8Check.firstInvalidLine(bytes) {
            throw InferenceError.invalidInput(path: path, line: line, detail: "not valid UTF-8")
        }
        let isJSONL = path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".ndjson")
        var records: [InputRecord] = []
        try bytes.withUnsafeBufferPointer { all in
            for (number, line) in lines(all) {
                if isJSONL {
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                    records.append(try parseJSONLine(line, path: path, line: number, options: options))
                } else {
                    // Decoded as is: `String(bytes:encoding:)` would drop a U+FEFF that starts the line.
                    var text = line
                    if text.last == 0x0D { text = UnsafeBufferPointer(rebasing: text.dropLast()) }
                    records.append(.text(String(decoding: text, as: UTF8.self), pair: nil))
                }
            }
        }
        if records.isEmpty {
            throw InferenceError.invalidInput(path: path, line: nil, detail: "no inputs (the file is empty)")
        }
        return records
    }

    /// Multiple-choice inputs, one example a JSONL line, each as its choices' records in order: text
    /// `{"text": context, "choices": [c₀, c₁, …]}` (each choice paired with the context; `choicesField` names
    /// the array) or pre-tokenized `{"input_ids": [[…choice 0…], […choice 1…]], "attention_mask": [[…], […]]}`
    /// (lists may differ in length; `token_type_ids` the same way for BERT pairs). Every example must have the same number of choices, at least 2.
    public static func readChoices(_ path: String, options: Options = .init(), choicesField: String = "choices") throws
        -> [[InputRecord]]
    {
        guard path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".ndjson") else {
            throw InferenceError.invalidInput(path: path, line: nil, detail: "multiple-choice inputs are JSONL (.jsonl) lines")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InferenceError.invalidInput(path: path, line: nil, detail: "no such file or not readable")
        }
        let bytes = [UInt8](data)
        if let line = UTF8Check.firstInvalidLine(bytes) {
            throw InferenceError.invalidInput(path: path, line: line, detail: "not valid UTF-8")
        }
        var examples: [[InputRecord]] = []
        try bytes.withUnsafeBufferPointer { all in
            for (number, line) in lines(all) where !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                let object: [String: JSONValue]
                do {
                    object = try JSONLineParser.parseObject(line).members
                } catch {
                    throw InferenceError.invalidInput(path: path, line: number, detail: "not a JSON object")
                }
                var choices: [InputRecord] = []
                if case .array(let rows)? = object["input_ids"] {
                    func lists(_ field: String) -> [JSONValue]? {
                        if case .array(let m)? = object[field] { return m } else { return nil }
                    }
                    let masks = lists("attention_mask")
                    let types = lists("token_type_ids")
                    guard masks.map({ $0.count == rows.count }) ?? true, types.map({ $0.count == rows.count }) ?? true else {
                        throw InferenceError.invalidInput(
                            path: path, line: number,
                            detail: "input_ids, attention_mask and token_type_ids list different numbers of choices")
                    }
                    for (k, row) in rows.enumerated() {
                        let ids = try integers(row, field: "input_ids[\(k)]", path: path, line: number)
                        let mask = try masks.map { try integers($0[k], field: "attention_mask[\(k)]", path: path, line: number) }
                            ?? Array(repeating: 1, count: ids.count)
                        let typeIds = try types.map { try integers($0[k], field: "token_type_ids[\(k)]", path: path, line: number) }
                        guard !ids.isEmpty, mask.count == ids.count, typeIds.map({ $0.count == ids.count }) ?? true else {
                            throw InferenceError.invalidInput(
                                path: path, line: number,
                                detail: "choice \(k): input_ids is empty, or its attention_mask or token_type_ids differs in length")
                        }
                        choices.append(.tokens(ids: ids, attentionMask: mask, tokenTypeIds: typeIds))
                    }
                } else {
                    guard case .array(let items)? = object[choicesField] else {
                        throw InferenceError.invalidInput(
                            path: path, line: number, detail: "no '\(choicesField)' array (or input_ids as one list per choice)")
                    }
                    var context = ""
                    if let value = object[options.textField] {
                        guard case .string(let t) = value else {
                            throw InferenceError.invalidInput(path: path, line: number, detail: "'\(options.textField)' is not a string")
                        }
                        context = t
                    }
                    for item in items {
                        guard case .string(let c) = item else {
                            throw InferenceError.invalidInput(path: path, line: number, detail: "'\(choicesField)' holds a non-string")
                        }
                        choices.append(.text(context, pair: c))
                    }
                }
                guard choices.count >= 2 else {
                    throw InferenceError.invalidInput(path: path, line: number, detail: "\(choices.count) choice(s); at least 2 are needed")
                }
                if let first = examples.first, first.count != choices.count {
                    throw InferenceError.invalidInput(
                        path: path, line: number, detail: "\(choices.count) choices; the first example has \(first.count)")
                }
                examples.append(choices)
            }
        }
        if examples.isEmpty { throw InferenceError.invalidInput(path: path, line: nil, detail: "no inputs (the file is empty)") }
        return examples
    }

    /// The file's lines (split at LF) with their 1-based numbers, after a UTF-8 byte-order mark at the
    /// very start of the file — an encoding mark, not text — and without the empty piece after a final LF.
    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [(Int, UnsafeBufferPointer<UInt8>)] {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var result: [(Int, UnsafeBufferPointer<UInt8>)] = []
        var number = 1
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            result.append((number, UnsafeBufferPointer(rebasing: bytes[start..<end])))
            start = end + 1
            number += 1
        }
        return result
    }

    static func parseJSONLine(
        _ line: UnsafeBufferPointer<UInt8>, path: String, line number: Int, options: Options
    ) throws -> InputRecord {
        let object: [String: JSONValue]
        do {
            object = try JSONLineParser.parseObject(line).members
        } catch JSONLineParser.Failure.syntax(let detail) {
            throw InferenceError.invalidInput(path: path, line: number, detail: "not a JSON object: \(detail)")
        } catch {
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
        guard case .string(let text) = value else {
            throw InferenceError.invalidInput(path: path, line: number, detail: "'\(options.textField)' is not a string")
        }
        var pair: String? = nil
        if let pairField = options.textPairField {
            guard case .string(let p)? = object[pairField] else {
                throw InferenceError.invalidInput(path: path, line: number, detail: "no string field '\(pairField)'")
            }
            pair = p
        }
        return .text(text, pair: pair)
    }

    static func integers(_ value: JSONValue, field: String, path: String, line: Int) throws -> [Int32] {
        guard case .array(let elements) = value else {
            throw InferenceError.invalidInput(path: path, line: line, detail: "'\(field)' is not an array")
        }
        return try elements.map { element in
            guard case .integer(let digits) = element, let v = Int32(digits) else {
                throw InferenceError.invalidInput(path: path, line: line, detail: "'\(field)' holds a non-integer")
            }
            return v
        }
    }
}
