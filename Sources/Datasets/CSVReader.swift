/// An RFC 4180 reader over the bytes of a CSV or TSV file.
///
/// - Fields are separated by `delimiter` (`,` or tab); records end at LF, CRLF or a lone CR.
/// - A field that starts with `"` is quoted: it runs to the next lone `"`, may hold delimiters,
///   line breaks (kept as written, CRLF included) and doubled quotes (`""` → `"`), and must be
///   followed by a delimiter, a line break or the end of the file.
/// - A `"` inside an unquoted field is kept literally (as Python's `csv` does).
/// - Blank lines between records are skipped; a final line break is optional; a UTF-8 byte-order
///   mark at the start is dropped.
///
/// The input must already be valid UTF-8 (fields are decoded without further checks).
struct CSVReader {
    /// One record: its fields and the 1-based line it starts on.
    struct Record {
        var fields: [String]
        var line: Int
    }

    let file: String
    let delimiter: UInt8

    /// All records of `bytes`, in order.
    func records(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [Record] {
        let quote: UInt8 = 0x22, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
        let n = bytes.count
        var i = 0
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var line = 1
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var recordLine = 1

        /// Consumes a line break at `i` (LF, CRLF or CR), if any; true when one was consumed.
        func skipBreak(_ i: inout Int) -> Bool {
            if bytes[i] == lf { i += 1; return true }
            if bytes[i] == cr {
                i += 1
                if i < n, bytes[i] == lf { i += 1 }
                return true
            }
            return false
        }

        while i < n {
            // Start of a record: skip blank lines.
            if bytes[i] == lf || bytes[i] == cr {
                _ = skipBreak(&i)
                line += 1
                continue
            }
            recordLine = line
            fields.removeAll(keepingCapacity: true)
            recordLoop: while true {
                // Start of a field.
                field.removeAll(keepingCapacity: true)
                if i < n, bytes[i] == quote {
                    let openLine = line
                    i += 1
                    var closed = false
                    while i < n {
                        let c = bytes[i]
                        if c == quote {
                            if i + 1 < n, bytes[i + 1] == quote {
                                field.append(quote)
                                i += 2
                                continue
                            }
                            i += 1
                            closed = true
                            break
                        }
                        if c == lf { line += 1 }
                        else if c == cr, !(i + 1 < n && bytes[i + 1] == lf) { line += 1 }
                        field.append(c)
                        i += 1
                    }
                    guard closed else {
                        throw DatasetError.malformedQuotes(
                            file: file, line: openLine, detail: "a quoted field opened here is never closed")
                    }
                    fields.append(String(decoding: field, as: UTF8.self))
                    if i == n { break recordLoop }
                    if bytes[i] == delimiter { i += 1; continue recordLoop }
                    if skipBreak(&i) { line += 1; break recordLoop }
                    throw DatasetError.malformedQuotes(
                        file: file, line: line, detail: "unexpected character after a closing quote")
                } else {
                    let start = i
                    while i < n, bytes[i] != delimiter, bytes[i] != lf, bytes[i] != cr { i += 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
                    if i == n { break recordLoop }
                    if bytes[i] == delimiter {
                        i += 1
                        if i == n { fields.append(""); break recordLoop }
                        continue recordLoop
                    }
                    _ = skipBreak(&i)
                    line += 1
                    break recordLoop
                }
            }
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }
}
