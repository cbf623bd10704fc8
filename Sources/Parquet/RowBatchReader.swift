import Dispatch

/// The requested columns of one row group.
public struct ParquetRowBatch: Sendable {
    /// Index of the row group in the file.
    public let rowGroup: Int
    /// File-wide index of the batch's first row.
    public let firstRow: Int
    public let numRows: Int
    /// One column per requested name, in the order requested.
    public let columns: [ParquetColumn]

    /// The column whose dotted name is `name`, if it was requested.
    public subscript(name: String) -> ParquetColumn? {
        columns.first { $0.descriptor.name == name || $0.descriptor.path.first == name }
    }
}

/// Reads a file row group by row group: each `next()` decodes the requested columns of one row
/// group, so memory holds one row group's columns at a time however large the file is.
///
/// ```swift
/// var batches = try file.rowBatches(columns: ["label", "content"])
/// while let batch = try batches.next() {
///     ...
/// }
/// ```
public struct ParquetRowBatchReader: Sendable {
    public let file: ParquetFile
    /// Column indices, in the order requested.
    public let columns: [Int]
    /// Whether the columns of a row group are decoded on several threads.
    public let parallel: Bool
    private var nextRowGroup = 0
    private var nextRow = 0

    init(file: ParquetFile, columns: [Int], parallel: Bool) {
        self.file = file
        self.columns = columns
        self.parallel = parallel
    }

    /// Row groups not yet returned.
    public var remainingRowGroups: Int { file.rowGroups.count - nextRowGroup }

    /// The next row group's columns, or nil after the last one.
    public mutating func next() throws(ParquetError) -> ParquetRowBatch? {
        guard nextRowGroup < file.rowGroups.count else { return nil }
        let group = nextRowGroup
        let decoded = try readColumns(group)
        let rows = file.rowGroups[group].numRows
        let batch = ParquetRowBatch(rowGroup: group, firstRow: nextRow, numRows: rows, columns: decoded)
        nextRowGroup += 1
        nextRow += rows
        return batch
    }

    private func readColumns(_ group: Int) throws(ParquetError) -> [ParquetColumn] {
        guard parallel && columns.count > 1 else {
            var result: [ParquetColumn] = []
            for column in columns { result.append(try file.readColumn(column, rowGroup: group)) }
            return result
        }
        // Each iteration writes only its own slot, so the slots need no lock.
        let slots = UnsafeMutableBufferPointer<Result<ParquetColumn, ParquetError>?>.allocate(capacity: columns.count)
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let file = self.file
        let columns = self.columns
        DispatchQueue.concurrentPerform(iterations: columns.count) { i in
            do throws(ParquetError) {
                slots[i] = .success(try file.readColumn(columns[i], rowGroup: group))
            } catch {
                slots[i] = .failure(error)
            }
        }
        var result: [ParquetColumn] = []
        result.reserveCapacity(columns.count)
        for slot in slots {
            switch slot {
            case .success(let column): result.append(column)
            case .failure(let error): throw error
            case nil: break
            }
        }
        return result
    }
}
