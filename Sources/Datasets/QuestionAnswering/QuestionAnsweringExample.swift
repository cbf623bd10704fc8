import Foundation
import Tokenizers

/// One extractive question: a question about a context, with the answers annotators marked in it (none for an
/// unanswerable SQuAD 2.0 question or for input to predict).
public struct QuestionAnsweringExample: Sendable, Equatable {
    /// A marked answer: its text and where it starts in the context, in characters as Python counts them
    /// (Unicode scalars).
    public struct Answer: Sendable, Equatable, Codable {
        public var text: String
        public var start: Int

        public init(text: String, start: Int) {
            self.text = text
            self.start = start
        }
    }

    public var id: String
    public var question: String
    public var context: String
    public var answers: [Answer]

    public init(id: String, question: String, context: String, answers: [Answer]) {
        self.id = id
        self.question = question
        self.context = context
        self.answers = answers
    }
}

/// Reads question-answering data: SQuAD JSON (`{"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
/// "answers": [{"text", "answer_start"}]}]}]}]}`, v1.1 or v2.0) or JSON lines as HF `datasets` stores SQuAD (one
/// object a line with `context`, `question`, optional `id` and `answers` as `{"text": [...], "answer_start":
/// [...]}` or a list of `{"text", "answer_start"}`).
public enum QuestionAnsweringReader {
    /// - Parameter requireAnswers: refuse examples without answers (training on SQuAD 1.1-style data); SQuAD 2.0's
    ///   `is_impossible` questions are always accepted.
    /// - Throws: ``DatasetError`` naming the file and the example: unreadable or malformed JSON, a missing
    ///   question or context, an answer whose start or end lies outside its context, no examples at all.
    public static func load(path: String, requireAnswers: Bool = false) throws -> [QuestionAnsweringExample] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw DatasetError.fileNotFound(file: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadableFile(file: path, reason: error.localizedDescription)
        }
        return try parse(data, source: path, requireAnswers: requireAnswers)
    }

    /// Parses bytes already in memory as ``load(path:requireAnswers:)`` does.
    public static func parse(_ data: Data, source: String, requireAnswers: Bool = false) throws
        -> [QuestionAnsweringExample]
    {
        let bytes = [UInt8](data)
        if let line = bytes.withUnsafeBufferPointer({ UTF8Check.firstInvalidLine($0) }) {
            throw DatasetError.invalidUTF8(file: source, line: line)
        }
        // One JSON document holding "data" is SQuAD's layout; anything else is read as JSON lines.
        let whole = try? JSONSerialization.jsonObject(with: data)
        var examples: [QuestionAnsweringExample] = []
        if let top = whole as? [String: Any], top["data"] != nil {
            guard let articles = top["data"] as? [[String: Any]] else {
                throw DatasetError.invalidQuestion(file: source, location: "data", detail: "must be a list of articles")
            }
            for (a, article) in articles.enumerated() {
                guard let paragraphs = article["paragraphs"] as? [[String: Any]] else {
                    throw DatasetError.invalidQuestion(
                        file: source, location: "data[\(a)]", detail: "has no list of \"paragraphs\"")
                }
                for (p, paragraph) in paragraphs.enumerated() {
                    let here = "data[\(a)].paragraphs[\(p)]"
                    guard let context = paragraph["context"] as? String else {
                        throw DatasetError.invalidQuestion(
                            file: source, location: here, detail: "has no \"context\" string")
                    }
                    guard let qas = paragraph["qas"] as? [[String: Any]] else {
                        throw DatasetError.invalidQuestion(
                            file: source, location: here, detail: "has no list of \"qas\"")
                    }
                    for (q, qa) in qas.enumerated() {
                        var object = qa
                        object["context"] = context
                        examples.append(
                            try example(
                                object, location: "\(here).qas[\(q)]", source: source, requireAnswers: requireAnswers))
                    }
                }
            }
        } else {
            var line = 0
            for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
                line += 1
                guard raw.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
                let object: Any
                do {
                    object = try JSONSerialization.jsonObject(with: Data(raw))
                } catch {
                    throw DatasetError.invalidJSON(
                        file: source, line: line, detail: "not JSON (nor a SQuAD file with a top-level \"data\")")
                }
                guard let dictionary = object as? [String: Any] else {
                    throw DatasetError.notAnObject(file: source, line: line)
                }
                examples.append(
                    try example(dictionary, location: "line \(line)", source: source, requireAnswers: requireAnswers))
            }
        }
        guard !examples.isEmpty else { throw DatasetError.emptyDataset(file: source) }
        return examples
    }

    static func example(_ object: [String: Any], location: String, source: String, requireAnswers: Bool) throws
        -> QuestionAnsweringExample
    {
        func fail(_ detail: String) -> DatasetError {
            .invalidQuestion(file: source, location: location, detail: detail)
        }
        guard let question = object["question"] as? String else { throw fail("has no \"question\" string") }
        guard let context = object["context"] as? String else { throw fail("has no \"context\" string") }
        let id = (object["id"] as? String) ?? (object["id"] as? NSNumber)?.stringValue ?? location
        var answers: [QuestionAnsweringExample.Answer] = []
        switch object["answers"] {
        case nil, is NSNull:
            break
        case let columns as [String: Any]:
            // HF datasets: {"text": [...], "answer_start": [...]}.
            guard let texts = columns["text"] as? [String], let starts = columns["answer_start"] as? [NSNumber],
                texts.count == starts.count
            else {
                throw fail("\"answers\" needs lists \"text\" and \"answer_start\" of the same length")
            }
            answers = zip(texts, starts).map { .init(text: $0, start: $1.intValue) }
        case let list as [[String: Any]]:
            for (k, a) in list.enumerated() {
                guard let text = a["text"] as? String, let start = a["answer_start"] as? NSNumber else {
                    throw fail("answer \(k) needs a \"text\" string and an integer \"answer_start\"")
                }
                answers.append(.init(text: text, start: start.intValue))
            }
        default:
            throw fail(
                "\"answers\" must be a list of {\"text\", \"answer_start\"} or {\"text\": [...], \"answer_start\": [...]}"
            )
        }
        let impossible = (object["is_impossible"] as? Bool) == true
        if impossible { answers = [] }
        if requireAnswers && answers.isEmpty && !impossible {
            throw fail("has no answers (training needs one; mark unanswerable questions \"is_impossible\": true)")
        }
        let length = context.unicodeScalars.count
        for a in answers {
            let end = a.start + a.text.unicodeScalars.count
            guard a.start >= 0, end <= length else {
                throw fail(
                    "answer \(String(reflecting: a.text)) at \(a.start)..<\(end) lies outside the \(length)-character context"
                )
            }
        }
        return QuestionAnsweringExample(id: id, question: question, context: context, answers: answers)
    }
}
