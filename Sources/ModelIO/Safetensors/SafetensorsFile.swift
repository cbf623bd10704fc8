import FileMapping
import Foundation
import Kernels

/// A `.safetensors` file, memory-mapped: the header is parsed and fully validated on open, tensor
/// bytes are read (and converted to f32) only when asked for.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the data
/// section, offsets relative to its start.
public final class SafetensorsFile: TensorSource, @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let dtype: TensorDType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    public let tensorNames: [String]
    private let file: MappedFile
    private let dataStart: Int

    /// Header JSON larger than this is refused before it is parsed (the format's own limit is
    /// 100 MB); it guards against a corrupt length field asking for gigabytes.
    static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        let file = try MappedFile.open(path)
        self.file = file
        self.path = path
        guard file.size >= 8 else {
            throw ModelIOError.truncated(path: path, detail: "\(file.size) bytes, shorter than the 8-byte header length")
        }
        let headerLength = Int(clamping: file.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength <= Self.maxHeaderBytes else {
            throw ModelIOError.invalidHeader(path: path, detail: "header length \(headerLength) exceeds the 100 MB limit")
        }
        guard 8 + headerLength <= file.size else {
            throw ModelIOError.truncated(
                path: path, detail: "header length \(headerLength) runs past the end of the file (\(file.size) bytes)")
        }
        dataStart = 8 + headerLength
        let headerData = Data(bytes: file.base + 8, count: headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw ModelIOError.invalidHeader(path: path, detail: "header is not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw ModelIOError.invalidHeader(path: path, detail: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let dataLength = file.size - dataStart
        for (name, value) in object {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw ModelIOError.invalidHeader(path: path, detail: "__metadata__ is not an object")
                }
                for (k, v) in dict {
                    guard let s = v as? String else {
                        throw ModelIOError.invalidHeader(path: path, detail: "__metadata__ value for '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value: value, path: path, dataLength: dataLength)
        }
        // Sorted by start, every tensor must end before the next begins.
        let ordered = entries.sorted { ($0.value.begin, $0.key) < ($1.value.begin, $1.key) }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.value.begin < a.value.end {
            throw ModelIOError.overlappingTensors(path: path, first: a.key, second: b.key)
        }
        self.entries = entries
        self.metadata = metadata
        tensorNames = entries.keys.sorted()
    }

    private static func parseEntry(name: String, value: Any, path: String, dataLength: Int) throws -> Entry {
        guard let dict = value as? [String: Any] else {
            throw ModelIOError.invalidHeader(path: path, detail: "entry '\(name)' is not an object")
        }
        guard let dtypeName = dict["dtype"] as? String else {
            throw ModelIOError.invalidHeader(path: path, detail: "entry '\(name)' has no string 'dtype'")
        }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            throw ModelIOError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = dict["shape"] as? [Any],
            let shape = Self.integers(shapeValues), shape.allSatisfy({ $0 >= 0 })
        else {
            throw ModelIOError.invalidHeader(path: path, detail: "entry '\(name)' has no valid 'shape'")
        }
        guard let offsetValues = dict["data_offsets"] as? [Any], let offsets = Self.integers(offsetValues),
            offsets.count == 2
        else {
            throw ModelIOError.invalidHeader(path: path, detail: "entry '\(name)' has no valid 'data_offsets'")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end else {
            throw ModelIOError.offsetsOutOfRange(path: path, tensor: name, detail: "begin \(begin) > end \(end)")
        }
        guard end <= dataLength else {
            throw ModelIOError.offsetsOutOfRange(
                path: path, tensor: name, detail: "end \(end) past the data section's \(dataLength) bytes")
        }
        var (count, overflow) = (1, false)
        for d in shape where !overflow {
            (count, overflow) = count.multipliedReportingOverflow(by: d)
        }
        let (bytes, overflow2) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !overflow2, bytes == end - begin else {
            throw ModelIOError.sizeMismatch(
                path: path, tensor: name, expectedBytes: overflow || overflow2 ? Int.max : bytes,
                actualBytes: end - begin)
        }
        return Entry(dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// JSON numbers as exact non-fractional integers (JSONSerialization yields NSNumber).
    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let n = v as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            out.append(n.intValue)
        }
        return out
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func dtype(of name: String) -> TensorDType? { entries[name]?.dtype }

    /// Raw bytes of a tensor inside the map (valid while this object lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else { throw ModelIOError.missingTensor(path: path, tensor: name) }
        return UnsafeRawBufferPointer(start: file.base + dataStart + e.begin, count: e.end - e.begin)
    }

    public func didRead(_ name: String) {
        guard let e = entries[name] else { return }
        file.dropPages(offset: dataStart + e.begin, count: e.end - e.begin)
    }

    public func didRead(_ name: String, elements: Range<Int>) {
        guard let e = entries[name] else { return }
        let size = e.dtype.byteSize
        file.dropPages(offset: dataStart + e.begin + elements.lowerBound * size, count: elements.count * size)
    }

    public func readFloats(_ name: String, into destination: UnsafeMutablePointer<Float>) throws {
        guard let e = entries[name] else { throw ModelIOError.missingTensor(path: path, tensor: name) }
        guard copyFloats(e, from: 0, count: (e.end - e.begin) / e.dtype.byteSize, into: destination) else {
            throw ModelIOError.notFloatingPoint(path: path, tensor: name, dtype: e.dtype.rawValue)
        }
    }

    public func copyFloats(_ name: String, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) -> Bool {
        guard let e = entries[name], elements.lowerBound >= 0, elements.upperBound <= (e.end - e.begin) / e.dtype.byteSize
        else { return false }
        return copyFloats(e, from: elements.lowerBound, count: elements.count, into: destination)
    }

    /// Elements `first..<first + count` of `e` converted to f32; false for a non-float dtype.
    private func copyFloats(_ e: Entry, from first: Int, count: Int, into destination: UnsafeMutablePointer<Float>) -> Bool {
        let src = file.base + dataStart + e.begin + first * e.dtype.byteSize
        switch e.dtype {
        case .f32:
            // Offsets need not be 4-byte aligned (the header length is arbitrary): copy bytes.
            UnsafeMutableRawPointer(destination).copyMemory(from: src, byteCount: count * 4)
            #if _endian(big)
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(littleEndian: destination[i].bitPattern)) }
            #endif
        case .f16:
            for i in 0..<count {
                destination[i] = floatFromHalfBits(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<count {
                destination[i] = floatFromBFloat16Bits(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .f64:
            for i in 0..<count {
                destination[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            return false
        }
        return true
    }

    /// Reads an integer tensor (I64/I32) as Int, e.g. BERT's `position_ids` buffer.
    public func readIntegers(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw ModelIOError.missingTensor(path: path, tensor: name) }
        let src = file.base + dataStart + e.begin
        let count = (e.end - e.begin) / e.dtype.byteSize
        switch e.dtype {
        case .i64: return (0..<count).map { Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
        case .i32: return (0..<count).map { Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        default: throw ModelIOError.notFloatingPoint(path: path, tensor: name, dtype: e.dtype.rawValue)
        }
    }
}
