// The footer structures of parquet.thrift, reduced to the fields this reader uses. Field ids and
// types follow parquet-format's parquet.thrift; every other field is skipped.

/// `SchemaElement`: one node of the depth-first flattened schema tree.
struct SchemaElement {
    var type: Int32?
    var typeLength: Int32?
    var repetition: Int32?
    var name = ""
    var numChildren: Int32?
    var convertedType: Int32?
    var scale: Int32?
    var precision: Int32?
    var logicalType: ParquetLogicalType?
}

/// `ColumnMetaData` of one column chunk.
struct ColumnMetaData {
    var type: Int32 = 0
    var encodings: [Int32] = []
    var pathInSchema: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalUncompressedSize: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
}

/// `ColumnChunk`: where a column's data for one row group lives.
struct ColumnChunk {
    var filePath: String?
    var metaData: ColumnMetaData?
    var isEncrypted = false
}

/// `RowGroup`.
struct RowGroup {
    var columns: [ColumnChunk] = []
    var numRows: Int64 = 0
}

/// `FileMetaData`: the footer.
struct FileMetaData {
    var version: Int32 = 0
    var schema: [SchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [RowGroup] = []
    var keyValueMetadata: [(key: String, value: String?)] = []
    var createdBy: String?
    var isEncrypted = false

    /// Decodes the footer bytes (everything between the column data and the trailing length+magic).
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(CorruptData) -> FileMetaData {
        var reader = ThriftCompactReader(bytes)
        var meta = FileMetaData()
        let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
            switch (id, type) {
            case (1, .i32):
                meta.version = try reader.readI32()
            case (2, .list):
                meta.schema = try readList(&reader, "FileMetaData.schema") { r throws(CorruptData) in
                    try SchemaElement.decode(&r)
                }
            case (3, .i64):
                meta.numRows = try reader.readI64()
            case (4, .list):
                meta.rowGroups = try readList(&reader, "FileMetaData.row_groups") { r throws(CorruptData) in
                    try RowGroup.decode(&r)
                }
            case (5, .list):
                meta.keyValueMetadata = try readList(&reader, "FileMetaData.key_value_metadata") {
                    r throws(CorruptData) in try decodeKeyValue(&r)
                }
            case (6, .binary):
                meta.createdBy = try reader.readString()
            case (8, .structure):
                meta.isEncrypted = true
                try reader.skip(type)
            default: return false
            }
            return true
        }
        for (id, name) in [(1, "version"), (2, "schema"), (3, "num_rows"), (4, "row_groups")] where !seen.contains(id) {
            throw CorruptData("FileMetaData.\(name) is missing")
        }
        return meta
    }
}

/// Reads a Thrift list whose elements have wire type `elementType` (structs unless told), each read
/// by `element`.
func readList<T>(
    _ reader: inout ThriftCompactReader, _ what: String, of elementType: ThriftType = .structure,
    _ element: (inout ThriftCompactReader) throws(CorruptData) -> T
) throws(CorruptData) -> [T] {
    let (type, count) = try reader.readListHeader()
    guard type == elementType else { throw CorruptData("\(what): expected a list of \(elementType), got \(type)") }
    var result: [T] = []
    result.reserveCapacity(min(count, 4096))  // count is untrusted: grow past this as elements parse
    for _ in 0..<count { result.append(try element(&reader)) }
    return result
}

private func decodeKeyValue(_ reader: inout ThriftCompactReader) throws(CorruptData) -> (key: String, value: String?) {
    var key: String?
    var value: String?
    try reader.beginStruct()
    while let field = try reader.readFieldHeader() {
        switch (field.id, field.type) {
        case (1, .binary): key = try reader.readString()
        case (2, .binary): value = try reader.readString()
        default: try reader.skip(field.type)
        }
    }
    reader.endStruct()
    guard let key else { throw CorruptData("KeyValue.key is missing") }
    return (key, value)
}

extension SchemaElement {
    static func decode(_ reader: inout ThriftCompactReader) throws(CorruptData) -> SchemaElement {
        var element = SchemaElement()
        var hasName = false
        try reader.beginStruct()
        while let field = try reader.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i32): element.type = try reader.readI32()
            case (2, .i32): element.typeLength = try reader.readI32()
            case (3, .i32): element.repetition = try reader.readI32()
            case (4, .binary):
                element.name = try reader.readString()
                hasName = true
            case (5, .i32): element.numChildren = try reader.readI32()
            case (6, .i32): element.convertedType = try reader.readI32()
            case (7, .i32): element.scale = try reader.readI32()
            case (8, .i32): element.precision = try reader.readI32()
            case (10, .structure): element.logicalType = try decodeLogicalType(&reader)
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        guard hasName else { throw CorruptData("SchemaElement.name is missing") }
        return element
    }
}

/// The `LogicalType` union: exactly one field is set, and its id says which type it is.
private func decodeLogicalType(_ reader: inout ThriftCompactReader) throws(CorruptData) -> ParquetLogicalType? {
    var result: ParquetLogicalType?
    try reader.beginStruct()
    while let field = try reader.readFieldHeader() {
        guard field.type == .structure else {
            try reader.skip(field.type)
            continue
        }
        switch field.id {
        case 5:
            var scale: Int32 = 0
            var precision: Int32 = 0
            try reader.beginStruct()
            while let inner = try reader.readFieldHeader() {
                switch (inner.id, inner.type) {
                case (1, .i32): scale = try reader.readI32()
                case (2, .i32): precision = try reader.readI32()
                default: try reader.skip(inner.type)
                }
            }
            reader.endStruct()
            result = .decimal(precision: Int(precision), scale: Int(scale))
        case 7, 8:
            var utc = false
            var unit = ParquetTimeUnit.milliseconds
            try reader.beginStruct()
            while let inner = try reader.readFieldHeader() {
                switch (inner.id, inner.type) {
                case (1, .boolTrue), (1, .boolFalse): utc = inner.type == .boolTrue
                case (2, .structure): unit = try decodeTimeUnit(&reader)
                default: try reader.skip(inner.type)
                }
            }
            reader.endStruct()
            result = field.id == 7 ? .time(unit, isAdjustedToUTC: utc) : .timestamp(unit, isAdjustedToUTC: utc)
        case 10:
            var bitWidth: Int8 = 0
            var signed = true
            try reader.beginStruct()
            while let inner = try reader.readFieldHeader() {
                switch (inner.id, inner.type) {
                case (1, .byte): bitWidth = try reader.readI8()
                case (2, .boolTrue), (2, .boolFalse): signed = inner.type == .boolTrue
                default: try reader.skip(inner.type)
                }
            }
            reader.endStruct()
            result = .integer(bitWidth: Int(bitWidth), isSigned: signed)
        default:
            try reader.skip(field.type)
            let simple: [Int: ParquetLogicalType] = [
                1: .string, 2: .map, 3: .list, 4: .enumeration, 6: .date, 11: .null, 12: .json, 13: .bson,
                14: .uuid, 15: .float16, 16: .other("VARIANT"), 17: .other("GEOMETRY"),
                18: .other("GEOGRAPHY"), 19: .other("VECTOR"),
            ]
            result = simple[field.id] ?? .other("LogicalType field \(field.id)")
        }
    }
    reader.endStruct()
    return result
}

private func decodeTimeUnit(_ reader: inout ThriftCompactReader) throws(CorruptData) -> ParquetTimeUnit {
    var unit = ParquetTimeUnit.milliseconds
    try reader.beginStruct()
    while let field = try reader.readFieldHeader() {
        switch field.id {
        case 2: unit = .microseconds
        case 3: unit = .nanoseconds
        default: break
        }
        try reader.skip(field.type)
    }
    reader.endStruct()
    return unit
}

extension RowGroup {
    static func decode(_ reader: inout ThriftCompactReader) throws(CorruptData) -> RowGroup {
        var group = RowGroup()
        let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
            switch (id, type) {
            case (1, .list):
                group.columns = try readList(&reader, "RowGroup.columns") { r throws(CorruptData) in
                    try ColumnChunk.decode(&r)
                }
            case (3, .i64):
                group.numRows = try reader.readI64()
            default: return false
            }
            return true
        }
        guard seen.contains(1) else { throw CorruptData("RowGroup.columns is missing") }
        guard seen.contains(3) else { throw CorruptData("RowGroup.num_rows is missing") }
        return group
    }
}

extension ColumnChunk {
    static func decode(_ reader: inout ThriftCompactReader) throws(CorruptData) -> ColumnChunk {
        var chunk = ColumnChunk()
        try reader.beginStruct()
        while let field = try reader.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .binary): chunk.filePath = try reader.readString()
            case (3, .structure): chunk.metaData = try ColumnMetaData.decode(&reader)
            case (8, .structure), (9, .binary):
                chunk.isEncrypted = true
                try reader.skip(field.type)
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        return chunk
    }
}

extension ColumnMetaData {
    static func decode(_ reader: inout ThriftCompactReader) throws(CorruptData) -> ColumnMetaData {
        var meta = ColumnMetaData()
        let seen = try reader.readStruct { reader, id, type throws(CorruptData) in
            switch (id, type) {
            case (1, .i32): meta.type = try reader.readI32()
            case (2, .list):
                meta.encodings = try readList(&reader, "ColumnMetaData.encodings", of: .i32) { r throws(CorruptData) in
                    try r.readI32()
                }
            case (3, .list):
                meta.pathInSchema = try readList(&reader, "ColumnMetaData.path_in_schema", of: .binary) {
                    r throws(CorruptData) in try r.readString()
                }
            case (4, .i32): meta.codec = try reader.readI32()
            case (5, .i64): meta.numValues = try reader.readI64()
            case (6, .i64): meta.totalUncompressedSize = try reader.readI64()
            case (7, .i64): meta.totalCompressedSize = try reader.readI64()
            case (9, .i64): meta.dataPageOffset = try reader.readI64()
            case (11, .i64): meta.dictionaryPageOffset = try reader.readI64()
            default: return false
            }
            return true
        }
        let required = [
            (1, "type"), (4, "codec"), (5, "num_values"), (7, "total_compressed_size"),
            (9, "data_page_offset"),
        ]
        for (id, name) in required where !seen.contains(id) {
            throw CorruptData("ColumnMetaData.\(name) is missing")
        }
        return meta
    }
}
