import FileMapping
import Foundation
import Kernels

/// A PyTorch checkpoint written by `torch.save(state_dict)` (e.g. AdapterHub's
/// `pytorch_adapter.bin` / `pytorch_model_head.bin`), read without executing anything.
///
/// The file is a ZIP archive (memory-mapped) holding `<archive>/data.pkl`, a pickle of the state
/// dict whose tensors point at `<archive>/data/<key>` storage records, plus `version` and
/// `byteorder`. `data.pkl` is interpreted by `SafeUnpickler`, which only builds values and accepts
/// no global outside a small allow-list (`collections.OrderedDict`, torch's tensor-rebuilding
/// functions and storage classes): a pickle naming `os.system`, `builtins.eval` or anything else
/// throws `PickleError.forbiddenGlobal` as that opcode is read. Everything is validated on open —
/// archive structure, CRC-32s, storage records, each tensor's extent inside its storage — and
/// tensor bytes are read (converted to f32) only when asked for.
///
/// Tensors are the top-level dict's entries whose key is a string and whose value is a tensor;
/// other entries are listed in `ignoredKeys`. Strided views (transposes, slices, shared storages)
/// are read element by element into row-major order.
///
/// Not read: compressed records, the legacy pre-1.6 format, big-endian archives (all refused with
/// `PickleError`), nested dicts.
public final class PyTorchCheckpoint: TensorSource, @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let dtype: TensorDType
        public let shape: [Int]
        /// In elements, as torch stores them.
        public let strides: [Int]
        /// In elements, from the start of the storage.
        public let storageOffset: Int
        /// The archive record holding the storage, e.g. `pytorch_adapter/data/3`.
        public let storageRecord: String

        public var count: Int { shape.reduce(1, *) }

        /// Whether the elements lie row-major and gap-free from `storageOffset`.
        public var isContiguous: Bool {
            var expected = 1
            for (size, stride) in zip(shape, strides).reversed() {
                if size != 1 && stride != expected { return false }
                expected *= size
            }
            return true
        }
    }

    public let path: String
    public let entries: [String: Entry]
    public let tensorNames: [String]
    /// Top-level keys whose values are not tensors (or keys that are not strings, described).
    public let ignoredKeys: [String]
    /// The archive's top folder name (torch uses the file's stem).
    public let archiveName: String

    private let file: MappedFile
    /// Byte offset in the mapped file of each storage record's data.
    private let storageStart: [String: Int]

    /// `data.pkl` larger than this is refused before it is parsed (a state dict's pickle holds
    /// about 150 bytes per tensor).
    public static let maxPickleBytes = 256 << 20

    /// Opens and validates `path`. With `verifyChecksums` (the default), `data.pkl` and every
    /// storage record a tensor uses are checked against their CRC-32 (skipped for records whose
    /// stored CRC is 0, as torch writes with `set_crc32_options(False)`).
    public init(path: String, verifyChecksums: Bool = true) throws {
        let file = try MappedFile.open(path)
        self.file = file
        self.path = path
        let archive = try ZipArchive(file: file, path: path)

        // torch names every record `<archive>/…`, the archive name being the first record's folder.
        guard let first = archive.entries.first else {
            throw PickleError.missingRecord(path: path, record: "data.pkl (the archive is empty)")
        }
        let prefix: String
        if let slash = first.name.firstIndex(of: "/") {
            prefix = String(first.name[..<slash])
        } else {
            prefix = ""
        }
        archiveName = prefix
        let folder = prefix.isEmpty ? "" : prefix + "/"
        guard let pklEntry = archive.entry(folder + "data.pkl") else {
            throw PickleError.missingRecord(path: path, record: folder + "data.pkl")
        }
        guard pklEntry.size <= Self.maxPickleBytes else {
            throw PickleError.limitExceeded(
                path: path, detail: "data.pkl is \(pklEntry.size) bytes (limit \(Self.maxPickleBytes))")
        }
        let pkl = try archive.bytes(of: pklEntry, verify: verifyChecksums)
        if let order = archive.entry(folder + "byteorder") {
            let raw = try archive.bytes(of: order, verify: verifyChecksums)
            switch String(bytes: raw, encoding: .utf8) {
            case "little": break
            case "big": throw PickleError.unsupportedFormat(path: path, detail: "big-endian storages (byteorder 'big')")
            default:
                throw PickleError.invalidArchive(path: path, detail: "byteorder record is neither 'little' nor 'big'")
            }
        }
        var unpickler = SafeUnpickler(path: path, bytes: pkl)
        let (root, _) = try unpickler.run()
        guard case .dict(let rootIndex) = root else {
            throw PickleError.invalidPickle(
                path: path, offset: 0,
                detail: "the pickled object is a \(root.kind), expected a dict of tensors (a state dict)")
        }

        var tensors: [String: PickleTensorRef] = [:]
        var ignored: [String] = []
        for (key, value) in unpickler.dict(rootIndex) {
            guard case .string(let name) = key else {
                ignored.append("<\(key.kind) key>")
                continue
            }
            if case .tensor(let t) = value {
                tensors[name] = unpickler.tensor(t)  // a repeated key replaces, as in Python
                ignored.removeAll { $0 == name }
            } else {
                tensors[name] = nil
                ignored.append(name)
            }
        }

        var entries: [String: Entry] = [:]
        var storageStart: [String: Int] = [:]
        var checked: Set<String> = []
        for (name, t) in tensors {
            let record = folder + "data/" + t.storage.key
            guard let storageEntry = archive.entry(record) else {
                throw PickleError.missingStorage(path: path, tensor: name, record: record)
            }
            if !checked.contains(record) {
                let buffer = try archive.bytes(of: storageEntry, verify: verifyChecksums)
                let (needed, overflow) = t.storage.numel.multipliedReportingOverflow(by: t.storage.dtype.byteSize)
                guard !overflow, needed == buffer.count else {
                    throw PickleError.invalidTensor(
                        path: path, tensor: name,
                        detail:
                            "storage '\(record)' holds \(buffer.count) bytes, but its header says \(t.storage.numel) × \(t.storage.dtype.byteSize)"
                    )
                }
                checked.insert(record)
                storageStart[record] = storageEntry.dataOffset
            }
            try Self.checkExtent(t, name: name, path: path)
            entries[name] = Entry(
                dtype: t.storage.dtype, shape: t.shape, strides: t.strides, storageOffset: t.offset,
                storageRecord: record)
        }
        // Two tensors naming one record must agree on its dtype and size.
        var storageKind: [String: (TensorDType, Int)] = [:]
        for (name, t) in tensors {
            let record = folder + "data/" + t.storage.key
            if let (d, n) = storageKind[record], d != t.storage.dtype || n != t.storage.numel {
                throw PickleError.invalidTensor(
                    path: path, tensor: name, detail: "storage '\(record)' is described two different ways")
            }
            storageKind[record] = (t.storage.dtype, t.storage.numel)
        }
        self.entries = entries
        self.storageStart = storageStart
        self.ignoredKeys = ignored.sorted()
        tensorNames = entries.keys.sorted()
    }

    /// Shape, strides and offset must be non-negative and every addressed element inside the storage.
    private static func checkExtent(_ t: PickleTensorRef, name: String, path: String) throws {
        guard t.offset >= 0, t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }) else {
            throw PickleError.invalidTensor(
                path: path, tensor: name,
                detail: "negative size, stride or offset (size \(t.shape), stride \(t.strides), offset \(t.offset))")
        }
        var count = 1
        var last = t.offset  // index of the last addressed element
        for (size, stride) in zip(t.shape, t.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1 else {
                throw PickleError.invalidTensor(path: path, tensor: name, detail: "size \(t.shape) overflows")
            }
            count = c
            if size > 0 {
                let (span, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                let (l, o3) = last.addingReportingOverflow(span)
                guard !o2, !o3 else {
                    throw PickleError.invalidTensor(path: path, tensor: name, detail: "stride \(t.strides) overflows")
                }
                last = l
            }
        }
        guard count == 0 || last < t.storage.numel else {
            throw PickleError.invalidTensor(
                path: path, tensor: name,
                detail:
                    "size \(t.shape), stride \(t.strides) and offset \(t.offset) reach element \(last), past the storage's \(t.storage.numel) elements"
            )
        }
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func dtype(of name: String) -> TensorDType? { entries[name]?.dtype }

    /// Copies tensor `name`, converted to f32 (exactly for F32/F16/BF16, rounded for F64), into
    /// `destination` in row-major order (`shape.product` floats).
    public func readFloats(_ name: String, into destination: UnsafeMutablePointer<Float>) throws {
        guard let e = entries[name] else { throw PickleError.missingTensor(path: path, tensor: name) }
        // Every record was checked on open; the guard only keeps a broken invariant from crashing.
        guard let start = storageStart[e.storageRecord] else {
            throw PickleError.missingStorage(path: path, tensor: name, record: "\(e.storageRecord)")
        }
        let src = file.base + start
        switch e.dtype {
        case .f32:
            if e.isContiguous {
                UnsafeMutableRawPointer(destination).copyMemory(from: src + 4 * e.storageOffset, byteCount: 4 * e.count)
                #if _endian(big)
                    for i in 0..<e.count {
                        destination[i] = Float(bitPattern: UInt32(littleEndian: destination[i].bitPattern))
                    }
                #endif
            } else {
                Self.gather(e) {
                    destination[$0] = Float(
                        bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $1, as: UInt32.self)))
                }
            }
        case .f16:
            Self.gather(e) {
                destination[$0] = floatFromHalfBits(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self)))
            }
        case .bf16:
            Self.gather(e) {
                destination[$0] = floatFromBFloat16Bits(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self)))
            }
        case .f64:
            Self.gather(e) {
                destination[$0] = Float(
                    Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $1, as: UInt64.self)))
                )
            }
        default:
            throw PickleError.wrongDType(
                path: path, tensor: name, dtype: e.dtype.rawValue, expected: "F32, F16, BF16 or F64")
        }
    }

    /// Reads tensor `name` as f32 into a new array.
    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw PickleError.missingTensor(path: path, tensor: name) }
        var out = [Float](repeating: 0, count: e.count)
        try out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try readFloats(name, into: base)
        }
        return out
    }

    /// Reads an integer tensor (I64, I32, I16, I8, U8, BOOL) as Int, in row-major order.
    public func readIntegers(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw PickleError.missingTensor(path: path, tensor: name) }
        // Every record was checked on open; the guard only keeps a broken invariant from crashing.
        guard let start = storageStart[e.storageRecord] else {
            throw PickleError.missingStorage(path: path, tensor: name, record: "\(e.storageRecord)")
        }
        let src = file.base + start
        var out = [Int](repeating: 0, count: e.count)
        switch e.dtype {
        case .i64:
            Self.gather(e) {
                out[$0] = Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $1, as: Int64.self)))
            }
        case .i32:
            Self.gather(e) {
                out[$0] = Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $1, as: Int32.self)))
            }
        case .i16:
            Self.gather(e) {
                out[$0] = Int(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * $1, as: Int16.self)))
            }
        case .i8: Self.gather(e) { out[$0] = Int(Int8(bitPattern: src.load(fromByteOffset: $1, as: UInt8.self))) }
        case .u8, .bool: Self.gather(e) { out[$0] = Int(src.load(fromByteOffset: $1, as: UInt8.self)) }
        default:
            throw PickleError.wrongDType(
                path: path, tensor: name, dtype: e.dtype.rawValue, expected: "an integer dtype")
        }
        return out
    }

    /// Calls `body(destinationIndex, storageElementIndex)` for every element in row-major order.
    /// `checkExtent` has proven every storage index in range.
    private static func gather(_ e: Entry, _ body: (Int, Int) -> Void) {
        let n = e.count
        guard n > 0 else { return }
        if e.isContiguous {
            for i in 0..<n { body(i, e.storageOffset + i) }
            return
        }
        let rank = e.shape.count
        let innerSize = e.shape[rank - 1]
        let innerStride = e.strides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var base = e.storageOffset
        var out = 0
        while out < n {
            for j in 0..<innerSize { body(out + j, base + j * innerStride) }
            out += innerSize
            // Odometer over the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                base += e.strides[d]
                if index[d] < e.shape[d] { break }
                base -= e.strides[d] * e.shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
