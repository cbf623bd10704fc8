import Foundation
import Parquet
import Tokenizers

/// Labelled examples from Parquet files (how the Hub serves datasets such as `amazon_polarity`),
/// read one row group at a time: the columns the seed keeps (`content`, optionally `title`, `label`)
/// are selected and renamed to text/label, everything else is never decoded.
///
/// Integer labels with a `ClassLabel` feature in the file's `huggingface` metadata become their
/// class names (`amazon_polarity`: 0 → negative, 1 → positive); other integer labels stay decimal.
public struct ParquetExamples: Sendable {
    public let files: [URL]
    public var textColumn: String
    /// Joined before the text as `title + " " + text` (Amazon polarity's `--amazon-title`).
    public var titleColumn: String?
    public var textPairColumn: String?
    public var labelColumn: String
    /// Stop after this many rows (nil: all).
    public var limit: Int?

    public init(
        files: [URL], textColumn: String = "content", titleColumn: String? = nil, textPairColumn: String? = nil,
        labelColumn: String = "label", limit: Int? = nil
    ) {
        self.files = files
        self.textColumn = textColumn
        self.titleColumn = titleColumn
        self.textPairColumn = textPairColumn
        self.labelColumn = labelColumn
        self.limit = limit
    }

    /// Total rows over the files (from the footers; nothing is decoded), capped by `limit`.
    public func rowCount() throws -> Int {
        let total = try files.reduce(0) { $0 + (try open($1)).numRows }
        return limit.map { min($0, total) } ?? total
    }

    /// The label column's `ClassLabel` names from the first file's HF metadata, or nil.
    public func classLabelNames() throws -> [String]? {
        guard let first = files.first else { return nil }
        return Self.classLabelNames(in: try open(first), column: labelColumn)
    }

    /// The label map: the `ClassLabel` names, else the distinct labels (reading only that column).
    public func labelMap() throws -> LabelMap {
        if let names = try classLabelNames() { return LabelMap(names: names) }
        var examples: [Example] = []
        var distinct = Set<String>()
        var seen = 0
        for url in files {
            let file = try open(url)
            for g in file.rowGroups.indices {
                let column = try readColumn(file, labelColumn, rowGroup: g)
                for row in 0..<column.count {
                    if let limit, seen >= limit { break }
                    distinct.insert(try Self.label(column, row: row, file: file.path))
                    seen += 1
                }
            }
        }
        for label in distinct { examples.append(Example(text: "", label: label)) }
        return LabelMap.derive(from: examples)
    }

    /// A reader handing out one row group's examples per call, nil at the end.
    public func chunks() -> () throws -> [Example]? {
        var fileIndex = 0
        var file: ParquetFile?
        var rowGroup = 0
        var names: [String]?
        var produced = 0
        return {
            while true {
                if let limit, produced >= limit { return nil }
                if file == nil {
                    guard fileIndex < files.count else { return nil }
                    let opened = try open(files[fileIndex])
                    file = opened
                    names = Self.classLabelNames(in: opened, column: labelColumn)
                    rowGroup = 0
                }
                guard let current = file, rowGroup < current.rowGroups.count else {
                    file = nil
                    fileIndex += 1
                    continue
                }
                let g = rowGroup
                rowGroup += 1
                var examples = try readRowGroup(current, g, classNames: names)
                if let limit, produced + examples.count > limit {
                    examples.removeLast(produced + examples.count - limit)
                }
                produced += examples.count
                if !examples.isEmpty { return examples }
            }
        }
    }

    /// Everything in memory, for small files (`LabeledDataset` API).
    public func load() throws -> LabeledDataset {
        var examples: [Example] = []
        let next = chunks()
        while let chunk = try next() { examples.append(contentsOf: chunk) }
        let source = files.map(\.path).joined(separator: ", ")
        guard !examples.isEmpty else { throw DatasetError.emptyDataset(file: source) }
        return LabeledDataset(source: source, format: .parquet, examples: examples)
    }

    func open(_ url: URL) throws -> ParquetFile {
        do {
            return try ParquetFile(contentsOf: url)
        } catch {
            throw DatasetError.unreadableFile(file: url.path, reason: error.description)
        }
    }

    func readColumn(_ file: ParquetFile, _ name: String, rowGroup: Int) throws -> ParquetColumn {
        guard let index = file.column(named: name) else {
            throw DatasetError.unknownColumn(file: file.path, column: name, available: file.schema.columns.map(\.name))
        }
        do {
            return try file.readColumn(index, rowGroup: rowGroup)
        } catch {
            throw DatasetError.unreadableFile(file: file.path, reason: error.description)
        }
    }

    func readRowGroup(_ file: ParquetFile, _ g: Int, classNames: [String]?) throws -> [Example] {
        let text = try readColumn(file, textColumn, rowGroup: g)
        let title = try titleColumn.map { try readColumn(file, $0, rowGroup: g) }
        let pair = try textPairColumn.map { try readColumn(file, $0, rowGroup: g) }
        let label = try readColumn(file, labelColumn, rowGroup: g)
        let firstRow = file.rowGroups[..<g].reduce(0) { $0 + $1.numRows }
        var examples: [Example] = []
        examples.reserveCapacity(text.count)
        for row in 0..<text.count {
            // Rows count from 1 in errors, as lines do.
            guard let body = text.string(at: row) else {
                throw DatasetError.invalidText(file: file.path, line: firstRow + row + 1, field: textColumn)
            }
            var value = body
            if let title, let t = title.string(at: row), !t.isEmpty {
                value = body.isEmpty ? t : t + " " + body
            }
            var raw = try Self.label(label, row: row, file: file.path, line: firstRow + row + 1)
            if let classNames, let id = Int(raw) {
                guard classNames.indices.contains(id) else {
                    throw DatasetError.invalidLabel(
                        file: file.path, line: firstRow + row + 1, field: labelColumn,
                        detail: "class \(id) is outside the ClassLabel names \(classNames)")
                }
                raw = classNames[id]
            }
            examples.append(Example(text: value, textPair: pair?.string(at: row), label: raw))
        }
        return examples
    }

    static func label(_ column: ParquetColumn, row: Int, file: String, line: Int? = nil) throws -> String {
        if let v = column.int64(at: row) { return String(v) }
        if let s = column.string(at: row), !s.isEmpty { return s }
        throw DatasetError.invalidLabel(
            file: file, line: line ?? row + 1, field: column.descriptor.name,
            detail: column.isNull(row) ? "null" : "not an integer or a string")
    }

    /// `ClassLabel` names of `column` in the `huggingface` key-value metadata that the `datasets`
    /// library writes (`{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}`), also for a
    /// list of them (`{"feature": {"names": [...], "_type": "ClassLabel"}, "_type": "Sequence"}`, or `"List"`).
    static func classLabelNames(in file: ParquetFile, column: String) -> [String]? {
        guard let text = file.keyValueMetadata["huggingface"],
            let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let info = json["info"] as? [String: Any], let features = info["features"] as? [String: Any],
            var feature = features[column] as? [String: Any]
        else { return nil }
        if ["Sequence", "List", "LargeList"].contains(feature["_type"] as? String ?? ""),
            let inner = feature["feature"] as? [String: Any]
        {
            feature = inner
        }
        guard (feature["_type"] as? String) == "ClassLabel", let names = feature["names"] as? [String], !names.isEmpty
        else { return nil }
        return names
    }
}

extension TokenizedDataset {
    /// The examples of `source` tokenized through the on-disk cache in `cacheDirectory`: loaded
    /// (memory-mapped) when a cache for the same files (path, size, modification time), columns,
    /// row limit, labels, tokenizer and `maxLength` exists, built once otherwise. A damaged cache is
    /// rebuilt.
    ///
    /// - Parameters:
    ///   - tokenizerFingerprint: changes whenever the tokenizer does (`TokenCache.fingerprint`).
    ///   - progress: `(examplesDone, examplesTotal)` while building.
    /// - Returns: the dataset and whether it came from an existing cache.
    public static func cached(
        _ source: ParquetExamples, tokenizer: Tokenizer, tokenizerFingerprint: String, labelMap: LabelMap,
        maxLength: Int, cacheDirectory: URL, progress: ((Int, Int) -> Void)? = nil
    ) throws -> (dataset: TokenizedDataset, reused: Bool) {
        var parts = [
            "parquet-v1", source.textColumn, source.titleColumn ?? "-", source.textPairColumn ?? "-",
            source.labelColumn, source.limit.map(String.init) ?? "all", tokenizerFingerprint, String(maxLength),
        ]
        parts.append(labelMap.names.joined(separator: "\u{1f}"))
        for url in source.files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let size = (attributes?[.size] as? Int) ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            parts.append("\(url.standardizedFileURL.path):\(size):\(modified)")
        }
        let key = TokenCache.key(parts)
        let url = cacheDirectory.appendingPathComponent(TokenCache.fileName(key: key))
        do {
            if let existing = try TokenCache.load(url, key: key, numLabels: labelMap.count) { return (existing, true) }
        } catch DatasetError.corruptCache {
            try? FileManager.default.removeItem(at: url)
        }
        let total = try source.rowCount()
        let built = try TokenCache.build(
            at: url, key: key, tokenizer: tokenizer, labelMap: labelMap, maxLength: maxLength,
            source: source.files.map(\.path).joined(separator: ", "), progress: { progress?($0, total) },
            next: source.chunks())
        return (built, false)
    }
}
