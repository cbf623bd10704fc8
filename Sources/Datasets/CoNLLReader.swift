extension LabeledDataset {
    /// CoNLL-2003 style text: one token a line, columns separated by spaces or tabs, the word first and its
    /// tag last (`EU NNP B-NP B-ORG`, or just `EU B-ORG`); a blank line ends a sentence; `-DOCSTART-` lines
    /// (document breaks) are skipped. Each sentence is one example, numbered by the line it starts on.
    static func readCoNLL(_ bytes: UnsafeBufferPointer<UInt8>, source: String) throws -> (
        examples: [Example], lines: [Int]
    ) {
        var examples: [Example] = []
        var lines: [Int] = []
        var words: [String] = []
        var tags: [String] = []
        var sentenceLine = 0
        func finish() {
            if !words.isEmpty {
                examples.append(Example(words: words, tags: tags))
                lines.append(sentenceLine)
            }
            words = []
            tags = []
        }
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        var line = 1
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            let columns = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if columns.isEmpty {
                finish()
            } else if columns[0] == "-DOCSTART-" {
                finish()
            } else {
                guard columns.count >= 2 else {
                    throw DatasetError.invalidLabel(
                        file: source, line: line, field: "tag",
                        detail: "\"\(text)\" has no tag column (expected the word first and its tag last)")
                }
                if words.isEmpty { sentenceLine = line }
                words.append(columns[0])
                tags.append(columns[columns.count - 1])
            }
            start = end + 1
            line += 1
        }
        finish()
        return (examples, lines)
    }
}
