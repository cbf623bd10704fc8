/// File, column and row group of the chunk being read, for error messages.
struct ChunkContext {
    let path: String
    let column: String
    let rowGroup: Int

    func corrupt(_ detail: String) -> ParquetError {
        .corruptPage(path: path, column: column, rowGroup: rowGroup, detail: detail)
    }

    func outOfRange(_ detail: String) -> ParquetError {
        .pageOutOfRange(path: path, column: column, rowGroup: rowGroup, detail: detail)
    }

    func unsupportedEncoding(_ encoding: Int32, _ role: String = "") -> ParquetError {
        .unsupportedEncoding(path: path, column: column,
                             encoding: ParquetEncoding.name(encoding) + (role.isEmpty ? "" : " (\(role))"))
    }
}

/// One page of a column chunk, checksum-verified and decompressed.
struct Page {
    let header: PageHeader
    /// File offset of the page header, for messages.
    let fileOffset: Int
    /// Data page v2 only: the repetition and definition levels, which are stored uncompressed.
    let levels: UnsafeRawBufferPointer
    /// Everything else, decompressed: v1 levels and values, v2 values, or dictionary entries.
    let body: UnsafeRawBufferPointer
}

/// Walks the pages of one column chunk held in memory.
///
/// A page's `body` may point into a scratch buffer that the next call to `next()` overwrites, so a
/// page must be decoded before the next one is read.
struct PageReader {
    /// Holding the chunk's storage keeps every page pointer into it valid while the reader lives.
    private let storage: OwnedBytes
    private let chunk: UnsafeRawBufferPointer
    private let chunkFileOffset: Int
    private let codec: ParquetCodec
    private let context: ChunkContext
    private let maxPageSize: Int
    private let scratch = OwnedBytes(count: 0)
    private var position = 0

    /// `declaredSize` is the chunk's uncompressed size from the footer: no page may inflate past it,
    /// which keeps a corrupt page header from making us allocate gigabytes. Small chunks still get
    /// 64 MiB of slack in case a writer under-reports.
    init(chunk: OwnedBytes, fileOffset: Int, codec: ParquetCodec, declaredSize: Int, context: ChunkContext) {
        self.storage = chunk
        self.chunk = chunk.buffer
        self.chunkFileOffset = fileOffset
        self.codec = codec
        self.maxPageSize = max(declaredSize, 1 << 26)
        self.context = context
    }

    /// Whether the chunk's bytes are used up.
    var isAtEnd: Bool { position >= chunk.count }

    /// The next page, or nil at the end of the chunk.
    mutating func next() throws(ParquetError) -> Page? {
        guard position < chunk.count else { return nil }
        let pageOffset = chunkFileOffset + position
        let rest = UnsafeRawBufferPointer(rebasing: chunk[position...])
        let header: PageHeader
        let headerSize: Int
        do {
            (header, headerSize) = try PageHeader.decode(rest)
        } catch {
            throw context.corrupt("page header at byte \(pageOffset): \(error.detail)")
        }
        let size = Int(header.compressedPageSize)
        guard size <= rest.count - headerSize else {
            throw context.outOfRange("page at byte \(pageOffset) declares \(size) bytes but the column chunk "
                + "ends \(rest.count - headerSize) bytes after its header")
        }
        let stored = UnsafeRawBufferPointer(rebasing: rest[headerSize..<(headerSize + size)])
        position += headerSize + size

        if let expected = header.crc {
            let actual = crc32(of: stored)
            guard actual == expected else {
                throw .checksumMismatch(path: context.path, column: context.column, rowGroup: context.rowGroup,
                                        pageOffset: pageOffset, expected: expected, actual: actual)
            }
        }

        let uncompressedSize = Int(header.uncompressedPageSize)
        guard uncompressedSize <= maxPageSize else {
            throw context.corrupt("page at byte \(pageOffset) claims \(uncompressedSize) uncompressed bytes, more "
                + "than its column chunk (\(maxPageSize))")
        }
        switch PageType(rawValue: header.type) {
        case .dataPage, .dictionaryPage:
            let body = try decompress(stored, uncompressedSize: uncompressedSize, pageOffset: pageOffset)
            return Page(header: header, fileOffset: pageOffset, levels: UnsafeRawBufferPointer(start: nil, count: 0),
                        body: body)
        case .dataPageV2:
            guard let v2 = header.dataPageV2 else {
                throw context.corrupt("DATA_PAGE_V2 at byte \(pageOffset) has no DataPageHeaderV2")
            }
            let levelBytes = Int(v2.repetitionLevelsByteLength) + Int(v2.definitionLevelsByteLength)
            guard levelBytes <= size, levelBytes <= uncompressedSize else {
                throw context.corrupt("page at byte \(pageOffset): \(levelBytes) level bytes exceed the page size")
            }
            let levels = UnsafeRawBufferPointer(rebasing: stored[0..<levelBytes])
            let values = UnsafeRawBufferPointer(rebasing: stored[levelBytes...])
            let body: UnsafeRawBufferPointer
            if v2.isCompressed {
                body = try decompress(values, uncompressedSize: uncompressedSize - levelBytes, pageOffset: pageOffset)
            } else {
                guard values.count == uncompressedSize - levelBytes else {
                    throw context.corrupt("uncompressed page at byte \(pageOffset) holds \(values.count) value "
                        + "bytes, header says \(uncompressedSize - levelBytes)")
                }
                body = values
            }
            return Page(header: header, fileOffset: pageOffset, levels: levels, body: body)
        case .indexPage, nil:
            // Index pages and page kinds newer than this reader carry no values: skip them.
            return Page(header: header, fileOffset: pageOffset, levels: UnsafeRawBufferPointer(start: nil, count: 0),
                        body: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    private func decompress(
        _ stored: UnsafeRawBufferPointer, uncompressedSize: Int, pageOffset: Int
    ) throws(ParquetError) -> UnsafeRawBufferPointer {
        if codec == .uncompressed {
            guard stored.count == uncompressedSize else {
                throw context.corrupt("uncompressed page at byte \(pageOffset) holds \(stored.count) bytes, "
                    + "header says \(uncompressedSize)")
            }
            return stored
        }
        let destination = scratch.reserve(uncompressedSize)
        do {
            try Decompression.decompress(codec, stored, into: destination)
        } catch {
            throw .decompressionFailed(path: context.path, column: context.column, rowGroup: context.rowGroup,
                                       codec: codec.description, detail: "page at byte \(pageOffset): \(error.detail)")
        }
        return UnsafeRawBufferPointer(destination)
    }
}
