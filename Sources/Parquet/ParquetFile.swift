import Foundation

/// Where one column's data for one row group lives, as the footer describes it.
public struct ColumnChunkInfo: Sendable, Equatable {
    /// Raw `CompressionCodec` id; `codec` is nil for ids newer than this reader.
    public let codecID: Int32
    public var codec: ParquetCodec? { ParquetCodec(rawValue: codecID) }
    /// Values in the chunk, nulls included.
    public let numValues: Int
    /// Bytes of all its pages as stored (headers included), and after decompression.
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let dataPageOffset: Int
    public let dictionaryPageOffset: Int?
    /// Encodings the footer says the chunk uses (parquet.thrift names).
    public let encodings: [String]

    /// Where the chunk starts: its dictionary page if it has one, else its first data page.
    var startOffset: Int {
        // Some writers store 0 for "no dictionary"; a dictionary page always precedes the data pages.
        if let dictionary = dictionaryPageOffset, dictionary > 0, dictionary < dataPageOffset { return dictionary }
        return dataPageOffset
    }
}

/// One row group: a horizontal slice of the file, read one column chunk at a time.
public struct RowGroupInfo: Sendable, Equatable {
    public let numRows: Int
    /// Chunks in schema column order.
    public let columns: [ColumnChunkInfo]
}

/// A Parquet file opened for reading.
///
/// Opening reads only the footer; column data is read on demand, one column chunk (one column of
/// one row group) at a time, with `pread`, so memory stays bounded by the largest chunk read rather
/// than the file size. Reads are thread-safe: different columns or row groups may be read
/// concurrently from one `ParquetFile`.
///
/// Supported: flat schemas (required and optional columns); BOOLEAN, INT32, INT64, FLOAT, DOUBLE and
/// BYTE_ARRAY columns; data pages v1 and v2 and dictionary pages; PLAIN, PLAIN_DICTIONARY,
/// RLE_DICTIONARY and RLE (booleans) encodings; UNCOMPRESSED, SNAPPY, GZIP and ZSTD; page CRC32
/// checks when the writer stored them. Anything else raises a typed `ParquetError` naming the file
/// and column, when that column is read.
public struct ParquetFile: Sendable {
    /// The file's path, as used in error messages.
    public let path: String
    public let schema: ParquetSchema
    /// Rows in the file, as the footer states.
    public let numRows: Int
    public let rowGroups: [RowGroupInfo]
    /// The writer, e.g. `parquet-cpp-arrow version 22.0.0`.
    public let createdBy: String?
    /// Footer key/value metadata (pyarrow stores its schema as `ARROW:schema`, the Hugging Face
    /// datasets library its features as `huggingface`).
    public let keyValueMetadata: [String: String]

    private let file: RandomAccessFile
    /// Where the footer starts: column data must end before it.
    private let dataEnd: Int

    private static let magic: [UInt8] = Array("PAR1".utf8)
    private static let encryptedMagic: [UInt8] = Array("PARE".utf8)

    /// Opens the file at `url` and reads its footer.
    public init(contentsOf url: URL) throws(ParquetError) {
        try self.init(path: url.path)
    }

    /// Opens the file at `path` and reads its footer.
    public init(path: String) throws(ParquetError) {
        let file = try RandomAccessFile(path: path)
        let size = file.size
        guard size >= 12 else { throw .tooSmall(path: path, size: size) }

        let head = try file.read(at: 0, count: 4)
        let tail = try file.read(at: size - 8, count: 8)
        let headMagic = head.withBuffer { Array($0) }
        let tailMagic = tail.withBuffer { Array($0[4..<8]) }
        if tailMagic == Self.encryptedMagic {
            throw .unsupportedFeature(path: path, detail: "encrypted footer (PARE magic)")
        }
        guard headMagic == Self.magic else {
            throw .badMagic(path: path, detail: "the file does not start with PAR1 (found \(describe(headMagic)))")
        }
        guard tailMagic == Self.magic else {
            throw .badMagic(
                path: path,
                detail: "the file does not end with PAR1 (found \(describe(tailMagic))); "
                    + "truncated?")
        }
        let footerLength = Int(tail.withBuffer { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
        guard footerLength <= size - 12 else {
            throw .footerOutOfRange(path: path, footerLength: footerLength, fileSize: size)
        }
        let footerStart = size - 8 - footerLength
        let footer = try file.read(at: footerStart, count: footerLength)

        let meta: FileMetaData
        let schema: ParquetSchema
        do {
            meta = try footer.withBuffer { bytes throws(CorruptData) in try FileMetaData.decode(bytes) }
            schema = try ParquetSchema(elements: meta.schema)
        } catch {
            throw .corruptMetadata(path: path, detail: error.detail)
        }
        if meta.isEncrypted {
            throw .unsupportedFeature(path: path, detail: "encrypted columns (plaintext footer)")
        }
        guard meta.numRows >= 0 else {
            throw .corruptMetadata(path: path, detail: "negative row count \(meta.numRows)")
        }

        var groups: [RowGroupInfo] = []
        groups.reserveCapacity(meta.rowGroups.count)
        for (g, group) in meta.rowGroups.enumerated() {
            groups.append(try Self.rowGroupInfo(group, index: g, schema: schema, path: path))
        }

        self.path = path
        self.file = file
        self.dataEnd = footerStart
        self.schema = schema
        self.numRows = Int(meta.numRows)
        self.rowGroups = groups
        self.createdBy = meta.createdBy
        var keyValues: [String: String] = [:]
        for entry in meta.keyValueMetadata { keyValues[entry.key] = entry.value ?? "" }
        self.keyValueMetadata = keyValues
    }

    private static func rowGroupInfo(
        _ group: RowGroup, index: Int, schema: ParquetSchema, path: String
    ) throws(ParquetError) -> RowGroupInfo {
        guard group.numRows >= 0 else {
            throw .corruptMetadata(path: path, detail: "row group \(index) has \(group.numRows) rows")
        }
        guard group.columns.count == schema.columns.count else {
            throw .corruptMetadata(
                path: path,
                detail: "row group \(index) has \(group.columns.count) column "
                    + "chunks for \(schema.columns.count) schema columns")
        }
        var chunks: [ColumnChunkInfo] = []
        chunks.reserveCapacity(group.columns.count)
        for (c, chunk) in group.columns.enumerated() {
            let name = schema.columns[c].name
            if let filePath = chunk.filePath, !filePath.isEmpty {
                throw .unsupportedFeature(path: path, detail: "column '\(name)' stores its data in '\(filePath)'")
            }
            guard let meta = chunk.metaData else {
                if chunk.isEncrypted {
                    throw .unsupportedFeature(path: path, detail: "column '\(name)' is encrypted")
                }
                throw .corruptMetadata(path: path, detail: "row group \(index), column '\(name)' has no metadata")
            }
            guard meta.type == schema.columns[c].physicalType.rawValue else {
                throw .corruptMetadata(
                    path: path,
                    detail: "row group \(index), column '\(name)' has type "
                        + "\(meta.type), the schema says \(schema.columns[c].physicalType)")
            }
            guard meta.numValues >= 0, meta.totalCompressedSize >= 0, meta.totalUncompressedSize >= 0,
                meta.dataPageOffset >= 0
            else {
                throw .corruptMetadata(
                    path: path,
                    detail: "row group \(index), column '\(name)' has negative "
                        + "sizes or offsets")
            }
            chunks.append(
                ColumnChunkInfo(
                    codecID: meta.codec, numValues: Int(meta.numValues),
                    compressedSize: Int(meta.totalCompressedSize), uncompressedSize: Int(meta.totalUncompressedSize),
                    dataPageOffset: Int(meta.dataPageOffset),
                    dictionaryPageOffset: meta.dictionaryPageOffset.map(Int.init),
                    encodings: meta.encodings.map(ParquetEncoding.name)))
        }
        return RowGroupInfo(numRows: Int(group.numRows), columns: chunks)
    }

    /// Index of the column named `name` (see `ParquetSchema.column(named:)`).
    public func column(named name: String) -> Int? {
        schema.column(named: name)
    }

    /// Reads one column of one row group.
    public func readColumn(_ column: Int, rowGroup: Int) throws(ParquetError) -> ParquetColumn {
        guard schema.columns.indices.contains(column) else {
            throw .indexOutOfRange(
                path: path,
                detail: "column \(column) does not exist "
                    + "(\(schema.columns.count) columns)")
        }
        guard rowGroups.indices.contains(rowGroup) else {
            throw .indexOutOfRange(
                path: path,
                detail: "row group \(rowGroup) does not exist "
                    + "(\(rowGroups.count) row groups)")
        }
        let descriptor = schema.columns[column]
        let info = rowGroups[rowGroup].columns[column]
        let context = ChunkContext(path: path, column: descriptor.name, rowGroup: rowGroup)
        guard descriptor.isReadable else {
            throw .unsupportedNestedColumn(path: path, column: descriptor.name)
        }
        switch descriptor.physicalType {
        case .int96, .fixedLenByteArray:
            throw .unsupportedType(path: path, column: descriptor.name, type: descriptor.physicalType.description)
        default: break
        }
        guard let codec = info.codec, codec.isSupported else {
            throw .unsupportedCodec(
                path: path, column: descriptor.name,
                codec: info.codec?.description ?? "codec \(info.codecID)")
        }
        let start = info.startOffset
        guard start >= 4, start <= dataEnd, info.compressedSize <= dataEnd - start else {
            throw context.outOfRange(
                "column chunk at bytes \(start)..<\(start + info.compressedSize) is outside "
                    + "the data section 4..<\(dataEnd)")
        }
        let bytes = try file.read(at: start, count: info.compressedSize)
        var pages = PageReader(
            chunk: bytes, fileOffset: start, codec: codec, declaredSize: info.uncompressedSize,
            context: context)
        func decode<Buffer: ValueBuffer>(_: Buffer.Type) throws(ParquetError) -> ParquetColumn {
            var decoder = ColumnChunkDecoder<Buffer>(
                descriptor: descriptor, context: context, expectedRows: rowGroups[rowGroup].numRows,
                byteHint: info.uncompressedSize)
            return try decoder.decode(&pages)
        }
        let result: ParquetColumn
        switch descriptor.physicalType {
        case .boolean: result = try decode(BooleanBuffer.self)
        case .int32: result = try decode(FixedWidthBuffer<Int32>.self)
        case .int64: result = try decode(FixedWidthBuffer<Int64>.self)
        case .float: result = try decode(FixedWidthBuffer<Float>.self)
        case .double: result = try decode(FixedWidthBuffer<Double>.self)
        case .byteArray: result = try decode(ByteArrayBuffer.self)
        case .int96, .fixedLenByteArray:
            throw .unsupportedType(path: path, column: descriptor.name, type: descriptor.physicalType.description)
        }
        return result
    }

    /// Reads the column named `name` of one row group.
    public func readColumn(named name: String, rowGroup: Int) throws(ParquetError) -> ParquetColumn {
        try readColumn(try columnIndex(name), rowGroup: rowGroup)
    }

    /// The index of column `name`, or a typed error listing the columns that exist.
    func columnIndex(_ name: String) throws(ParquetError) -> Int {
        guard let index = column(named: name) else {
            throw .unknownColumn(path: path, name: name, available: schema.columns.map(\.name))
        }
        return index
    }

    /// Iterates the file one row group at a time, reading only `columns`.
    ///
    /// Column names are checked here, so an unknown or unreadable (repeated) column fails before any
    /// data is read. Memory is bounded by one row group of the requested columns.
    public func rowBatches(columns: [String], parallel: Bool = true) throws(ParquetError) -> ParquetRowBatchReader {
        var indices: [Int] = []
        for name in columns {
            let index = try columnIndex(name)
            guard schema.columns[index].isReadable else {
                throw .unsupportedNestedColumn(path: path, column: schema.columns[index].name)
            }
            indices.append(index)
        }
        return ParquetRowBatchReader(file: self, columns: indices, parallel: parallel)
    }
}

/// Printable form of 4 magic bytes (ASCII when printable, hex otherwise).
private func describe(_ bytes: [UInt8]) -> String {
    if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
        return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
    }
    return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}
