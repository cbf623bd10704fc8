/// Page kinds (`PageType` in parquet.thrift).
enum PageType: Int32 {
    case dataPage = 0
    case indexPage = 1
    case dictionaryPage = 2
    case dataPageV2 = 3
}

/// `DataPageHeader` (v1): levels and values are compressed together.
struct DataPageHeaderV1 {
    var numValues: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = 0
    var repetitionLevelEncoding: Int32 = 0
}

/// `DataPageHeaderV2`: levels come first and are never compressed.
struct DataPageHeaderV2 {
    var numValues: Int32 = 0
    var numNulls: Int32 = 0
    var numRows: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelsByteLength: Int32 = 0
    var repetitionLevelsByteLength: Int32 = 0
    /// Absent means compressed (the Thrift default is true).
    var isCompressed = true
}

/// `DictionaryPageHeader`.
struct DictionaryPageHeader {
    var numValues: Int32 = 0
    var encoding: Int32 = 0
}

/// `PageHeader`, which precedes every page of a column chunk.
struct PageHeader {
    /// Raw `PageType`; kept raw so that unknown page kinds can be skipped rather than rejected.
    var type: Int32 = 0
    var uncompressedPageSize: Int32 = 0
    var compressedPageSize: Int32 = 0
    var crc: UInt32?
    var dataPage: DataPageHeaderV1?
    var dataPageV2: DataPageHeaderV2?
    var dictionaryPage: DictionaryPageHeader?

    /// Decodes a header from the start of `bytes`; returns it with the number of bytes it took.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(CorruptData) -> (header: PageHeader, size: Int) {
        var reader = ThriftCompactReader(bytes)
        var header = PageHeader()
        let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
            switch (id, type) {
            case (1, .i32): header.type = try reader.readI32()
            case (2, .i32): header.uncompressedPageSize = try reader.readI32()
            case (3, .i32): header.compressedPageSize = try reader.readI32()
            case (4, .i32): header.crc = UInt32(bitPattern: try reader.readI32())
            case (5, .structure): header.dataPage = try decodeDataPageHeader(&reader)
            case (7, .structure): header.dictionaryPage = try decodeDictionaryPageHeader(&reader)
            case (8, .structure): header.dataPageV2 = try decodeDataPageHeaderV2(&reader)
            default: return false
            }
            return true
        }
        for (id, name) in [(1, "type"), (2, "uncompressed_page_size"), (3, "compressed_page_size")]
        where !seen.contains(id) {
            throw CorruptData("PageHeader.\(name) is missing")
        }
        guard header.uncompressedPageSize >= 0, header.compressedPageSize >= 0 else {
            throw CorruptData("negative page size (compressed \(header.compressedPageSize), "
                + "uncompressed \(header.uncompressedPageSize))")
        }
        return (header, reader.position)
    }
}

private func decodeDataPageHeader(_ reader: inout ThriftCompactReader) throws(CorruptData) -> DataPageHeaderV1 {
    var page = DataPageHeaderV1()
    let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
        switch (id, type) {
        case (1, .i32): page.numValues = try reader.readI32()
        case (2, .i32): page.encoding = try reader.readI32()
        case (3, .i32): page.definitionLevelEncoding = try reader.readI32()
        case (4, .i32): page.repetitionLevelEncoding = try reader.readI32()
        default: return false
        }
        return true
    }
    guard seen.isSuperset(of: [1, 2, 3, 4]) else { throw CorruptData("DataPageHeader is missing required fields") }
    guard page.numValues >= 0 else { throw CorruptData("DataPageHeader.num_values is negative") }
    return page
}

private func decodeDataPageHeaderV2(_ reader: inout ThriftCompactReader) throws(CorruptData) -> DataPageHeaderV2 {
    var page = DataPageHeaderV2()
    let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
        switch (id, type) {
        case (1, .i32): page.numValues = try reader.readI32()
        case (2, .i32): page.numNulls = try reader.readI32()
        case (3, .i32): page.numRows = try reader.readI32()
        case (4, .i32): page.encoding = try reader.readI32()
        case (5, .i32): page.definitionLevelsByteLength = try reader.readI32()
        case (6, .i32): page.repetitionLevelsByteLength = try reader.readI32()
        case (7, .boolTrue), (7, .boolFalse): page.isCompressed = type == .boolTrue
        default: return false
        }
        return true
    }
    guard seen.isSuperset(of: [1, 2, 3, 4, 5, 6]) else {
        throw CorruptData("DataPageHeaderV2 is missing required fields")
    }
    guard page.numValues >= 0, page.numNulls >= 0, page.numNulls <= page.numValues,
          page.definitionLevelsByteLength >= 0, page.repetitionLevelsByteLength >= 0
    else { throw CorruptData("DataPageHeaderV2 has negative or inconsistent counts") }
    return page
}

private func decodeDictionaryPageHeader(
    _ reader: inout ThriftCompactReader
) throws(CorruptData) -> DictionaryPageHeader {
    var page = DictionaryPageHeader()
    let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
        switch (id, type) {
        case (1, .i32): page.numValues = try reader.readI32()
        case (2, .i32): page.encoding = try reader.readI32()
        default: return false
        }
        return true
    }
    guard seen.isSuperset(of: [1, 2]) else { throw CorruptData("DictionaryPageHeader is missing required fields") }
    guard page.numValues >= 0 else { throw CorruptData("DictionaryPageHeader.num_values is negative") }
    return page
}
