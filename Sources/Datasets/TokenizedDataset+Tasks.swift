import Tokenizers

extension TokenizedDataset {
    /// Tokenizes a dataset for any task: classification as `init(dataset:tokenizer:labelMap:maxLength:)`;
    /// regression with each example's number as its target; multi-label with a 0/1 vector over `labelMap`'s
    /// classes; tagging by encoding the words (`Tokenizer.encode(words:)`) and giving each word's tag to its
    /// first token, `-100` to its other tokens and to the special tokens (transformers' token-classification
    /// recipe, `label_all_tokens=False`).
    ///
    /// - Throws: ``DatasetError/labelOutsideHead(file:line:label:)`` for a label the map does not know,
    ///   ``DatasetError/invalidLabel(file:line:field:detail:)`` for a regression target that is not a number.
    public init(
        dataset: LabeledDataset, tokenizer: Tokenizer, task: DatasetTask, labelMap: LabelMap,
        maxLength: Int = TokenizedDataset.defaultMaxLength
    ) throws {
        precondition(maxLength > 0, "maxLength must be positive")
        let examples = dataset.examples
        switch task {
        case .classification:
            try self.init(dataset: dataset, tokenizer: tokenizer, labelMap: labelMap, maxLength: maxLength)
            return
        case .questionAnswering:
            throw DatasetError.unsupportedTask(
                file: dataset.source,
                detail: "question answering reads SQuAD-style files (QuestionAnsweringReader, init(questionAnswering:))")
        case .regression:
            var values: [Float] = []
            values.reserveCapacity(examples.count)
            for (k, e) in examples.enumerated() {
                let text = try LabeledDataset.checkedTarget(
                    e.label, source: dataset.source, line: dataset.lines[k], field: "label")
                values.append(Float(text) ?? .nan)
            }
            self.init(
                encoded: dataset, tokenizer: tokenizer, maxLength: maxLength, task: task, values: values, width: 1)
        case .multilabelClassification:
            let lookup = labelMap.lookup()
            var values = [Float](repeating: 0, count: examples.count * labelMap.count)
            for (k, e) in examples.enumerated() {
                for label in e.labels {
                    guard let id = lookup(label) else {
                        throw DatasetError.labelOutsideHead(file: dataset.source, line: dataset.lines[k], label: label)
                    }
                    values[k * labelMap.count + id] = 1
                }
            }
            self.init(
                encoded: dataset, tokenizer: tokenizer, maxLength: maxLength, task: task, values: values,
                width: labelMap.count)
        case .multipleChoice:
            // Each choice paired with the context, as transformers' multiple-choice recipe (SWAG) does.
            let k = labelMap.count
            var firsts: [String] = []
            var seconds: [String] = []
            var labels: [Int32] = []
            for (i, e) in examples.enumerated() {
                let choices = e.choices ?? []
                guard choices.count == k else {
                    throw DatasetError.invalidLabel(
                        file: dataset.source, line: dataset.lines[i], field: "choices",
                        detail: "\(choices.count) choices; the head has \(k) (every example needs as many)")
                }
                guard let y = Int(e.label), y >= 0, y < k else {
                    throw DatasetError.labelOutsideHead(file: dataset.source, line: dataset.lines[i], label: e.label)
                }
                labels.append(Int32(y))
                firsts += repeatElement(e.text, count: k)
                seconds += choices
            }
            let options = EncodeOptions(addSpecialTokens: true, maxLength: maxLength, truncation: true, padding: .none)
            let encodings = tokenizer.encodeBatch(firsts, pairs: seconds, options: options)
            let store = Self.flatten(
                encodings.map(\.ids), typeIds: tokenizer.usesTokenTypeIds ? encodings.map(\.typeIds) : nil,
                labels: labels)
            store.choices = k
            self.init(store: store, maxLength: maxLength, task: task)
        case .tagging:
            let lookup = labelMap.lookup()
            let options = EncodeOptions(addSpecialTokens: true, maxLength: maxLength, truncation: true, padding: .none)
            var ids: [[Int32]] = []
            var types: [[Int32]] = []
            var tokenLabels: [Int32] = []
            ids.reserveCapacity(examples.count)
            for (k, e) in examples.enumerated() {
                let words = e.words ?? e.text.split(separator: " ").map(String.init)
                var tags: [Int32] = []
                tags.reserveCapacity(e.labels.count)
                for tag in e.labels {
                    guard let id = lookup(tag) else {
                        throw DatasetError.labelOutsideHead(file: dataset.source, line: dataset.lines[k], label: tag)
                    }
                    tags.append(Int32(id))
                }
                let encoded = tokenizer.encode(words: words, options: options)
                var previous: Int? = nil
                for word in encoded.wordIds {
                    if let word, word != previous, word < tags.count {
                        tokenLabels.append(tags[word])
                    } else {
                        tokenLabels.append(-100)
                    }
                    previous = word
                }
                ids.append(encoded.encoding.ids)
                types.append(encoded.encoding.typeIds)
            }
            let store = Self.flatten(
                ids, typeIds: tokenizer.usesTokenTypeIds ? types : nil,
                labels: [Int32](repeating: 0, count: examples.count))
            store.tokenLabels = tokenLabels
            self.init(store: store, maxLength: maxLength, task: task)
        }
    }

    /// Texts encoded as for classification, with real-valued targets `width` per example.
    private init(
        encoded dataset: LabeledDataset, tokenizer: Tokenizer, maxLength: Int, task: DatasetTask, values: [Float],
        width: Int
    ) {
        let encodings = Self.encodeTexts(dataset.examples, tokenizer: tokenizer, maxLength: maxLength)
        let store = Self.flatten(
            encodings.map(\.ids), typeIds: tokenizer.usesTokenTypeIds ? encodings.map(\.typeIds) : nil,
            labels: [Int32](repeating: 0, count: dataset.count))
        store.values = values
        store.valueWidth = width
        self.init(store: store, maxLength: maxLength, task: task)
    }

    /// Example `i`'s regression target or multi-label 0/1 vector (empty for the other tasks).
    public func values(_ i: Int) -> ArraySlice<Float> {
        let w = store.valueWidth
        return w == 0 ? [] : store.values[(i * w)..<((i + 1) * w)]
    }

    /// Multiple choice: choices per example (each a sequence of its own); 0 for the other tasks.
    public var choicesPerExample: Int { store.choices }

    /// Example `i`'s token labels, one per token id (`-100` where none applies); empty unless tagging.
    public func tokenLabels(_ i: Int) -> ArraySlice<Int32> {
        store.tokenLabels.isEmpty ? [] : store.tokenLabels[store.range(i)]
    }
}
