import Foundation
import Parquet

/// Examples of the other tasks from Parquet files, in the layouts the Hub serves them (HF `datasets`): tagging as
/// `tokens` + `ner_tags` lists (wnut_17, conll2003), regression as a float label (stsb), multi-label as a list of
/// labels, multiple choice as a list of choices and the right one's index, and extractive QA as `id`, `question`,
/// `context` and an `answers` struct of `text` and `answer_start` lists (squad). Integer labels and tags with
/// `ClassLabel` names in the file's `huggingface` metadata (`Sequence(ClassLabel)` / `List(ClassLabel)` for lists)
/// become those names. Read into memory, one row group at a time.
extension ParquetExamples {
    /// Every row as an example of `task` (not classification, which `chunks()` streams; not QA:
    /// `questionAnsweringExamples`). Rows count from 1 in errors, over the files.
    public func taskExamples(_ task: DatasetTask, choicesColumn: String = "choices") throws -> [Example] {
        guard task != .classification, task != .questionAnswering else {
            throw DatasetError.unsupportedTask(
                file: files.first?.path ?? "",
                detail: "taskExamples reads regression, multi-label, tagging and multiple-choice rows")
        }
        var examples: [Example] = []
        for url in files {
            let file = try open(url)
            let names = Self.classLabelNames(in: file, column: labelColumn)
            var firstRow = 0
            for g in file.rowGroups.indices {
                let label = try readColumn(file, labelColumn, rowGroup: g)
                let text = try readColumn(file, textColumn, rowGroup: g)
                let pair = try textPairColumn.map { try readColumn(file, $0, rowGroup: g) }
                let choices = task == .multipleChoice ? try readColumn(file, choicesColumn, rowGroup: g) : nil
                for row in 0..<text.count {
                    if let limit, examples.count >= limit { return examples }
                    let line = firstRow + row + 1
                    examples.append(
                        try example(
                            task, row: row, line: line, text: text, pair: pair, label: label, choices: choices,
                            names: names,
                            file: file.path))
                }
                firstRow += text.count
            }
        }
        guard !examples.isEmpty else {
            throw DatasetError.emptyDataset(file: files.map(\.path).joined(separator: ", "))
        }
        return examples
    }

    private func example(
        _ task: DatasetTask, row: Int, line: Int, text: ParquetColumn, pair: ParquetColumn?, label: ParquetColumn,
        choices: ParquetColumn?, names: [String]?, file: String
    ) throws -> Example {
        func invalid(_ detail: String, _ column: String? = nil) -> DatasetError {
            .invalidLabel(file: file, line: line, field: column ?? labelColumn, detail: detail)
        }
        /// Texts of a list column's row, every element present.
        func strings(_ column: ParquetColumn, _ field: String) throws -> [String] {
            guard column.offsets != nil else { throw DatasetError.invalidWords(file: file, line: line, field: field) }
            let values = column.strings(at: row)
            guard values.allSatisfy({ $0 != nil }) else {
                throw DatasetError.invalidWords(file: file, line: line, field: field)
            }
            return values.compactMap { $0 }
        }
        /// A list of labels: names for ClassLabel integers, else the integers or texts themselves.
        func labelList() throws -> [String] {
            guard label.offsets != nil else { throw invalid("not a list of labels") }
            return try label.slots(of: row).map { slot in
                if let id = label.int64(at: slot) {
                    guard let names else { return String(id) }
                    guard id >= 0, Int(id) < names.count else {
                        throw invalid("class \(id) is outside the ClassLabel names \(names)")
                    }
                    return names[Int(id)]
                }
                if let s = label.string(at: slot), !s.isEmpty { return s }
                throw invalid("a null or empty label in the list")
            }
        }
        func flatText(_ column: ParquetColumn, _ field: String) throws -> String {
            guard column.offsets == nil, let s = column.string(at: row) else {
                throw DatasetError.invalidText(file: file, line: line, field: field)
            }
            return s
        }
        switch task {
        case .tagging:
            let words = try strings(text, textColumn)
            let tags = try labelList()
            guard tags.count == words.count else { throw invalid("\(tags.count) tags for \(words.count) words") }
            return Example(words: words, tags: tags)
        case .multilabelClassification:
            return Example(
                text: try flatText(text, textColumn), textPair: try pair.map { try flatText($0, textPairColumn ?? "") },
                label: "",
                labels: try labelList())
        case .regression:
            let value: String
            switch label.values {
            case .float(let v) where !label.isNull(row): value = String(v[row])
            case .double(let v) where !label.isNull(row): value = String(v[row])
            case .int32, .int64: value = try label.int64(at: row).map(String.init) ?? { throw invalid("null") }()
            default: throw invalid(label.isNull(row) ? "null" : "not a number (a regression target)")
            }
            let target = try LabeledDataset.checkedTarget(value, source: file, line: line, field: labelColumn)
            return Example(
                text: try flatText(text, textColumn), textPair: try pair.map { try flatText($0, textPairColumn ?? "") },
                label: target)
        case .multipleChoice:
            guard let choices else { throw invalid("no choices column") }
            let options = try strings(choices, "choices")
            guard options.count >= 2 else {
                throw invalid("\(options.count) choice(s); at least 2 are needed", "choices")
            }
            guard let index = label.int64(at: row), index >= 0, Int(index) < options.count else {
                throw invalid("not the index of one of the \(options.count) choices (indices start at 0)")
            }
            return Example(text: try flatText(text, textColumn), label: String(index), choices: options)
        case .classification, .questionAnswering:
            throw DatasetError.unsupportedTask(file: file, detail: "not read here")
        }
    }

    /// Extractive-QA rows (squad's layout: `id`, `question`, `context`, `answers` with `text` and `answer_start`
    /// lists; `answers` may be absent for prediction input), checked as `QuestionAnsweringReader` checks its files.
    public static func questionAnsweringExamples(
        files: [URL], requireAnswers: Bool = false, limit: Int? = nil
    ) throws -> [QuestionAnsweringExample] {
        let reader = ParquetExamples(files: files)
        var examples: [QuestionAnsweringExample] = []
        for url in files {
            let file = try reader.open(url)
            let hasAnswers = file.schema.columns.contains { $0.name == "answers.text.list.element" }
            let hasID = file.column(named: "id") != nil
            var firstRow = 0
            for g in file.rowGroups.indices {
                let question = try reader.readColumn(file, "question", rowGroup: g)
                let context = try reader.readColumn(file, "context", rowGroup: g)
                let id = hasID ? try reader.readColumn(file, "id", rowGroup: g) : nil
                let texts = hasAnswers ? try reader.readColumn(file, "answers.text.list.element", rowGroup: g) : nil
                let starts =
                    hasAnswers ? try reader.readColumn(file, "answers.answer_start.list.element", rowGroup: g) : nil
                for row in 0..<question.count {
                    if let limit, examples.count >= limit { return examples }
                    var object: [String: Any] = [:]
                    object["question"] = question.string(at: row)
                    object["context"] = context.string(at: row)
                    if let id { object["id"] = id.string(at: row) ?? id.int64(at: row).map { String($0) } }
                    if let texts, let starts {
                        let answerTexts: [String] = texts.strings(at: row).map { $0 ?? "" }
                        let answerStarts: [NSNumber] = starts.int64s(at: row).map { NSNumber(value: $0 ?? -1) }
                        object["answers"] = ["text": answerTexts, "answer_start": answerStarts] as [String: Any]
                    }
                    examples.append(
                        try QuestionAnsweringReader.example(
                            object, location: "row \(firstRow + row + 1)", source: file.path,
                            requireAnswers: requireAnswers))
                }
                firstRow += question.count
            }
        }
        guard !examples.isEmpty else {
            throw DatasetError.emptyDataset(file: files.map(\.path).joined(separator: ", "))
        }
        return examples
    }
}
