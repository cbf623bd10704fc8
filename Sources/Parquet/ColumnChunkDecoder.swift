/// Decodes all pages of one column chunk into a `ParquetColumn`: dictionary page first (if
/// any), then data pages v1 or v2, each with optional definition levels and PLAIN, dictionary or
/// (booleans) RLE values. A single-level list column also has repetition levels: its values are the
/// elements (a slot each, nulls included) and each row's elements are a range of them (`offsets`).
struct ColumnChunkDecoder<Buffer: ValueBuffer> {
    private let descriptor: ParquetColumnDescriptor
    private let context: ChunkContext
    private let expectedRows: Int
    private var values: Buffer
    /// Per row (flat) or per element (list).
    private var validity: [Bool] = []
    private var hasNulls = false
    /// A list column's first element of each row, in element slots.
    private var rowStarts: [Int] = []
    private var elements = 0
    private var dictionary: Buffer.Dictionary?
    /// Levels and dictionary indices of the current page.
    private let scratch = OwnedBytes(count: 0)

    init(descriptor: ParquetColumnDescriptor, context: ChunkContext, expectedRows: Int, byteHint: Int) {
        self.descriptor = descriptor
        self.context = context
        self.expectedRows = expectedRows
        // Reservations are only hints, capped so a corrupt row count cannot force a huge allocation
        // before any page has shown that the rows exist.
        let rowHint = min(expectedRows, 1 << 20)
        values = Buffer(reservingRows: rowHint, byteHint: min(byteHint, 1 << 28))
        if descriptor.isOptional { validity.reserveCapacity(rowHint) }
    }

    mutating func decode(_ pages: inout PageReader) throws(ParquetError) -> ParquetColumn {
        let isList = descriptor.isList
        // A list's rows are known only from its levels: every page of the chunk is read.
        while isList || values.count < expectedRows, let page = try pages.next() {
            switch PageType(rawValue: page.header.type) {
            case .dictionaryPage: try readDictionary(page)
            case .dataPage: try readDataPageV1(page)
            case .dataPageV2: try readDataPageV2(page)
            case .indexPage, nil: continue
            }
        }
        let rows = isList ? rowStarts.count : values.count
        guard rows == expectedRows else {
            throw .valueCountMismatch(path: context.path, column: context.column, rowGroup: context.rowGroup,
                                      expected: expectedRows, actual: rows)
        }
        return ParquetColumn(
            descriptor: descriptor, values: values.finish(), validity: hasNulls ? validity : nil,
            offsets: isList ? rowStarts + [elements] : nil)
    }

    private mutating func readDictionary(_ page: Page) throws(ParquetError) {
        guard let header = page.header.dictionaryPage else {
            throw context.corrupt("DICTIONARY_PAGE at byte \(page.fileOffset) has no DictionaryPageHeader")
        }
        guard dictionary == nil else {
            throw context.corrupt("second dictionary page at byte \(page.fileOffset)")
        }
        guard header.encoding == ParquetEncoding.plain || header.encoding == ParquetEncoding.plainDictionary else {
            throw context.unsupportedEncoding(header.encoding, "dictionary page")
        }
        var cursor = ByteCursor(page.body)
        do {
            dictionary = try Buffer.decodeDictionary(&cursor, count: Int(header.numValues))
        } catch {
            throw context.corrupt("dictionary page at byte \(page.fileOffset): \(error.detail)")
        }
    }

    private mutating func readDataPageV1(_ page: Page) throws(ParquetError) {
        guard let header = page.header.dataPage else {
            throw context.corrupt("DATA_PAGE at byte \(page.fileOffset) has no DataPageHeader")
        }
        if descriptor.isList {
            var cursor = ByteCursor(page.body)
            let entries = Int(header.numValues)
            let (slots, present): (Int, Int)
            do throws(CorruptData) {
                // In v1 pages each kind of levels carries its own 4-byte length, repetition levels first.
                let repetitionLength = Int(try cursor.readUInt32LE("repetition levels length"))
                let repetition = try cursor.take(repetitionLength, "repetition levels")
                let definitionLength = Int(try cursor.readUInt32LE("definition levels length"))
                let definition = try cursor.take(definitionLength, "definition levels")
                (slots, present) = try readListLevels(repetition, definition, entries: entries)
            } catch {
                throw context.corrupt("data page at byte \(page.fileOffset): \(error.detail)")
            }
            try readValues(encoding: header.encoding, &cursor, rows: slots, present: present, page: page)
            return
        }
        let rows = try checkedRowCount(Int(header.numValues), page)
        var cursor = ByteCursor(page.body)
        var present = rows
        if descriptor.maxDefinitionLevel > 0 {
            guard header.definitionLevelEncoding == ParquetEncoding.rle else {
                throw context.unsupportedEncoding(header.definitionLevelEncoding, "definition levels")
            }
            do {
                // In v1 pages the levels carry their own 4-byte length.
                let length = Int(try cursor.readUInt32LE("definition levels length"))
                let levels = try cursor.take(length, "definition levels")
                present = try readDefinitionLevels(levels, rows: rows)
            } catch {
                throw context.corrupt("data page at byte \(page.fileOffset): \(error.detail)")
            }
        }
        try readValues(encoding: header.encoding, &cursor, rows: rows, present: present, page: page)
    }

    private mutating func readDataPageV2(_ page: Page) throws(ParquetError) {
        guard let header = page.header.dataPageV2 else {
            throw context.corrupt("DATA_PAGE_V2 at byte \(page.fileOffset) has no DataPageHeaderV2")
        }
        if descriptor.isList {
            let repetitionBytes = Int(header.repetitionLevelsByteLength)
            guard repetitionBytes <= page.levels.count else {
                throw context.corrupt("data page at byte \(page.fileOffset): \(repetitionBytes) bytes of repetition levels in \(page.levels.count)")
            }
            let (slots, present): (Int, Int)
            do {
                (slots, present) = try readListLevels(
                    UnsafeRawBufferPointer(rebasing: page.levels[..<repetitionBytes]),
                    UnsafeRawBufferPointer(rebasing: page.levels[repetitionBytes...]), entries: Int(header.numValues))
            } catch {
                throw context.corrupt("data page at byte \(page.fileOffset): \(error.detail)")
            }
            var cursor = ByteCursor(page.body)
            try readValues(encoding: header.encoding, &cursor, rows: slots, present: present, page: page)
            return
        }
        let rows = try checkedRowCount(Int(header.numValues), page)
        var present = rows
        if descriptor.maxDefinitionLevel > 0 {
            // Levels are stored uncompressed ahead of the values, repetition levels first, without
            // a length prefix (the header has the lengths).
            let repetitionBytes = Int(header.repetitionLevelsByteLength)
            let levels = UnsafeRawBufferPointer(rebasing: page.levels[repetitionBytes...])
            do {
                present = try readDefinitionLevels(levels, rows: rows)
            } catch {
                throw context.corrupt("data page at byte \(page.fileOffset): \(error.detail)")
            }
        }
        guard present == rows - Int(header.numNulls) else {
            throw context.corrupt("data page at byte \(page.fileOffset): levels give \(rows - present) nulls, "
                + "header says \(header.numNulls)")
        }
        var cursor = ByteCursor(page.body)
        try readValues(encoding: header.encoding, &cursor, rows: rows, present: present, page: page)
    }

    private func checkedRowCount(_ rows: Int, _ page: Page) throws(ParquetError) -> Int {
        guard rows <= expectedRows - values.count else {
            throw .valueCountMismatch(path: context.path, column: context.column, rowGroup: context.rowGroup,
                                      expected: expectedRows, actual: values.count + rows)
        }
        return rows
    }

    /// Appends the page's validity and returns how many of its rows hold a value.
    private mutating func readDefinitionLevels(_ bytes: UnsafeRawBufferPointer, rows: Int) throws(CorruptData) -> Int {
        let maxLevel = descriptor.maxDefinitionLevel
        var decoder = try RLEHybridDecoder(bytes, bitWidth: bitWidth(forMaxValue: maxLevel))
        let levels = try decodeIntoScratch(&decoder, count: rows)
        var present = 0
        let maxLevel32 = UInt32(maxLevel)
        for level in levels {
            guard level <= maxLevel32 else { throw CorruptData("definition level \(level) exceeds \(maxLevel)") }
            let valid = level == maxLevel32
            validity.append(valid)
            if valid { present += 1 }
        }
        if present < rows { hasNulls = true }
        return present
    }

    /// A list page's levels: a repetition level of 0 starts a row; an entry whose definition level reaches the
    /// repeated node's is an element (valid at the maximum level, else null), one below it an empty or null list.
    /// Appends the rows and the elements' validity; returns the page's element slots and present values.
    private mutating func readListLevels(
        _ repetitionBytes: UnsafeRawBufferPointer, _ definitionBytes: UnsafeRawBufferPointer, entries: Int
    ) throws(CorruptData) -> (slots: Int, present: Int) {
        // Levels compress without bound (a run of zeros), so the page's count is capped outright: 64 Mi entries a
        // page is far beyond any writer's page size, and keeps a corrupt count from allocating without limit.
        guard entries >= 0, entries <= 1 << 26 else {
            throw CorruptData("\(entries) level entries in one page")
        }
        var decoder = try RLEHybridDecoder(repetitionBytes, bitWidth: bitWidth(forMaxValue: descriptor.maxRepetitionLevel))
        let repetition = Array(try decodeIntoScratch(&decoder, count: entries))
        var definitionDecoder = try RLEHybridDecoder(
            definitionBytes, bitWidth: bitWidth(forMaxValue: descriptor.maxDefinitionLevel))
        let definition = try decodeIntoScratch(&definitionDecoder, count: entries)
        let maxLevel = UInt32(descriptor.maxDefinitionLevel)
        let elementLevel = UInt32(descriptor.repeatedDefinitionLevel)
        var slots = 0
        var present = 0
        for i in 0..<entries {
            guard repetition[i] <= 1 else { throw CorruptData("repetition level \(repetition[i]) exceeds 1") }
            guard definition[i] <= maxLevel else {
                throw CorruptData("definition level \(definition[i]) exceeds \(maxLevel)")
            }
            if repetition[i] == 0 {
                rowStarts.append(elements + slots)
            } else if rowStarts.isEmpty {
                throw CorruptData("the first level entry continues a row (repetition level 1)")
            }
            guard definition[i] >= elementLevel else { continue }
            let valid = definition[i] == maxLevel
            validity.append(valid)
            slots += 1
            if valid { present += 1 } else { hasNulls = true }
        }
        elements += slots
        return (slots, present)
    }

    /// Decodes `count` values into the reusable scratch buffer and returns a view of them, valid
    /// until the next call.
    private func decodeIntoScratch(
        _ decoder: inout RLEHybridDecoder, count: Int
    ) throws(CorruptData) -> UnsafeBufferPointer<UInt32> {
        let buffer = scratch.reserve(count * MemoryLayout<UInt32>.stride).bindMemory(to: UInt32.self)
        if let base = buffer.baseAddress { try decoder.decode(into: base, count: count) }
        return UnsafeBufferPointer(buffer)
    }

    private mutating func readValues(
        encoding: Int32, _ cursor: inout ByteCursor, rows: Int, present: Int, page: Page
    ) throws(ParquetError) {
        switch encoding {
        case ParquetEncoding.plain, ParquetEncoding.plainDictionary, ParquetEncoding.rleDictionary: break
        case ParquetEncoding.rle where Buffer.acceptsRLEValues: break
        default: throw context.unsupportedEncoding(encoding)
        }
        let before = values.count
        do throws(CorruptData) {
            switch encoding {
            case ParquetEncoding.plain:
                try values.appendPlain(&cursor, count: present)
            case ParquetEncoding.rle:
                try values.appendRLE(&cursor, count: present)
            default:
                guard let dictionary else {
                    throw CorruptData("dictionary-encoded page without a dictionary page")
                }
                if present > 0 {
                    let width = Int(try cursor.readByte("dictionary index bit width"))
                    var decoder = try RLEHybridDecoder(
                        UnsafeRawBufferPointer(start: cursor.current, count: cursor.remaining), bitWidth: width)
                    let indices = try decodeIntoScratch(&decoder, count: present)
                    let entries = UInt32(truncatingIfNeeded: Buffer.entryCount(of: dictionary))
                    for index in indices where index >= entries {
                        throw CorruptData("dictionary index \(index) out of range (\(entries) entries)")
                    }
                    values.appendEntries(indices, of: dictionary)
                }
            }
        } catch {
            throw context.corrupt("data page at byte \(page.fileOffset): \(error.detail)")
        }
        guard values.count - before == present else {
            throw context.corrupt("data page at byte \(page.fileOffset) decoded \(values.count - before) values, "
                + "expected \(present)")
        }
        if present < rows {
            validity.withUnsafeBufferPointer { all in
                values.spreadNulls(validity: UnsafeBufferPointer(rebasing: all[(all.count - rows)...]), dense: present)
            }
        }
    }
}
