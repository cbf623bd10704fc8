import CSnappy
import CZlib
import CZstd

/// A decompression failure, before the caller adds file and column.
struct DecompressionFailure: Error {
    var detail: String
}

/// Page decompression through the system codec libraries. Each function fills `destination`
/// completely or throws: a page must inflate to exactly the size its header declares, which also
/// caps what a corrupt page can make us allocate.
enum Decompression {
    static func decompress(
        _ codec: ParquetCodec, _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(DecompressionFailure) {
        switch codec {
        case .uncompressed:
            guard source.count == destination.count else {
                throw DecompressionFailure(detail: "uncompressed page holds \(source.count) bytes, "
                    + "header says \(destination.count)")
            }
            if let to = destination.baseAddress, let from = source.baseAddress {
                to.copyMemory(from: from, byteCount: source.count)
            }
        case .snappy: try snappy(source, into: destination)
        case .gzip: try gzip(source, into: destination)
        case .zstd: try zstd(source, into: destination)
        case .lzo, .brotli, .lz4, .lz4Raw:
            throw DecompressionFailure(detail: "\(codec) is not supported")
        }
    }

    private static func snappy(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(DecompressionFailure) {
        let input = source.baseAddress?.assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(input, source.count, &length) == SNAPPY_OK else {
            throw DecompressionFailure(detail: "invalid Snappy header")
        }
        guard length == destination.count else {
            throw DecompressionFailure(
                detail: "Snappy data inflates to \(length) bytes, header says \(destination.count)")
        }
        if length == 0 { return }
        var outLength = destination.count
        let output = destination.baseAddress?.assumingMemoryBound(to: CChar.self)
        guard snappy_uncompress(input, source.count, output, &outLength) == SNAPPY_OK, outLength == length else {
            throw DecompressionFailure(detail: "corrupt Snappy data")
        }
    }

    private static func gzip(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(DecompressionFailure) {
        var stream = z_stream()
        guard parquet_inflate_init(&stream) == Z_OK else {
            throw DecompressionFailure(detail: "cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var inputLeft = source.count
        var outputDone = 0
        var inputPointer = UnsafeMutablePointer(
            mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
        let output = destination.baseAddress?.assumingMemoryBound(to: Bytef.self)
        // zlib counts in 32-bit uInt, so feed very large buffers in slices.
        while true {
            let inChunk = min(inputLeft, Int(UInt32.max))
            let outChunk = min(destination.count - outputDone, Int(UInt32.max))
            stream.next_in = inputPointer
            stream.avail_in = uInt(inChunk)
            stream.next_out = output.map { $0 + outputDone }
            stream.avail_out = uInt(outChunk)
            let status = inflate(&stream, Z_NO_FLUSH)
            let consumed = inChunk - Int(stream.avail_in)
            let produced = outChunk - Int(stream.avail_out)
            inputLeft -= consumed
            inputPointer = inputPointer.map { $0 + consumed }
            outputDone += produced
            if status == Z_STREAM_END {
                // Some writers concatenate gzip members; continue with the next one if input remains.
                if inputLeft > 0 && outputDone < destination.count {
                    guard inflateReset(&stream) == Z_OK else {
                        throw DecompressionFailure(detail: "cannot reset zlib")
                    }
                    continue
                }
                break
            }
            // Z_BUF_ERROR only means no progress was possible; the check below says why.
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw DecompressionFailure(detail: "corrupt GZIP data (\(message))")
            }
            if produced == 0 && consumed == 0 {
                throw DecompressionFailure(detail: outputDone == destination.count
                    ? "GZIP data inflates to more than the \(destination.count) bytes the header says"
                    : "GZIP data ends after \(outputDone) of \(destination.count) bytes")
            }
        }
        guard outputDone == destination.count else {
            throw DecompressionFailure(
                detail: "GZIP data inflates to \(outputDone) bytes, header says \(destination.count)")
        }
    }

    private static func zstd(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(DecompressionFailure) {
        let result = ZSTD_decompress(destination.baseAddress, destination.count, source.baseAddress, source.count)
        if ZSTD_isError(result) != 0 {
            let name = ZSTD_getErrorName(result).map { String(cString: $0) } ?? "error \(result)"
            throw DecompressionFailure(detail: "corrupt ZSTD data (\(name))")
        }
        guard result == destination.count else {
            throw DecompressionFailure(
                detail: "ZSTD data inflates to \(result) bytes, header says \(destination.count)")
        }
    }
}

/// CRC-32 (the gzip polynomial) of `bytes`, as stored in `PageHeader.crc`.
func crc32(of bytes: UnsafeRawBufferPointer) -> UInt32 {
    let start = crc32_z(0, nil, 0)
    guard let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: start) }
    return UInt32(truncatingIfNeeded: crc32_z(start, base.assumingMemoryBound(to: Bytef.self), bytes.count))
}
