import Foundation

/// Everything that can be wrong with a PyTorch pickle checkpoint (`torch.save` output, e.g.
/// AdapterHub's `pytorch_adapter.bin`); each case names the file. Opening a missing or unreadable
/// file throws `ModelIOError.fileNotFound` / `.unreadable` like the safetensors reader.
public enum PickleError: Error, CustomStringConvertible, Equatable {
    /// The pickle imports a callable or class outside the allow-list (`os.system`, `builtins.eval`, …).
    /// Thrown when the GLOBAL / STACK_GLOBAL / INST opcode is read: nothing is ever called or imported.
    case forbiddenGlobal(path: String, module: String, name: String)
    /// The file (or a record or the pickle inside it) ends before its structure says it should.
    case truncated(path: String, detail: String)
    /// The ZIP container is malformed: bad signatures, sizes or offsets out of bounds, duplicate names.
    case invalidArchive(path: String, detail: String)
    /// A record we need is compressed (torch always stores them); only stored records are read.
    case compressedEntry(path: String, entry: String, method: Int)
    /// A record whose CRC-32 does not match its bytes.
    case checksumMismatch(path: String, entry: String)
    /// A required record (`<archive>/data.pkl`) is absent.
    case missingRecord(path: String, record: String)
    /// A tensor's storage record (`<archive>/data/<key>`) is absent.
    case missingStorage(path: String, tensor: String, record: String)
    /// The pickle is malformed or uses an allow-listed value in an unsupported way; `offset` is the
    /// opcode's byte position inside data.pkl.
    case invalidPickle(path: String, offset: Int, detail: String)
    /// An opcode the reader does not interpret (e.g. EXT1, NEWOBJ, PERSID, out-of-band buffers).
    case unsupportedOpcode(path: String, offset: Int, opcode: UInt8)
    /// A size or count past the reader's limits (pickle size, stack, memo, MARK nesting).
    case limitExceeded(path: String, detail: String)
    /// A well-formed file in a layout not read here (legacy pre-1.6 `torch.save`, big-endian data).
    case unsupportedFormat(path: String, detail: String)
    /// A tensor whose shape, strides or offset do not fit its storage.
    case invalidTensor(path: String, tensor: String, detail: String)
    case missingTensor(path: String, tensor: String)
    /// `readFloats` on an integer tensor or `readIntegers` on a floating-point one.
    case wrongDType(path: String, tensor: String, dtype: String, expected: String)

    public var description: String {
        switch self {
        case .forbiddenGlobal(let path, let module, let name):
            "\(path): refusing to load: the pickle references \(Self.printable(module)).\(Self.printable(name)), "
                + "which is not a tensor-rebuilding function (only torch state dicts are read; nothing was executed)"
        case .truncated(let path, let detail): "\(path): truncated PyTorch checkpoint: \(detail)"
        case .invalidArchive(let path, let detail): "\(path): invalid PyTorch checkpoint archive: \(detail)"
        case .compressedEntry(let path, let entry, let method):
            "\(path): record '\(Self.printable(entry))' is compressed (ZIP method \(method)); only stored (uncompressed) records are read, as torch.save writes them"
        case .checksumMismatch(let path, let entry):
            "\(path): record '\(Self.printable(entry))' does not match its CRC-32 (the file is corrupt)"
        case .missingRecord(let path, let record): "\(path): the archive has no record '\(Self.printable(record))'"
        case .missingStorage(let path, let tensor, let record):
            "\(path): tensor '\(Self.printable(tensor))' refers to storage '\(Self.printable(record))', which is not in the archive"
        case .invalidPickle(let path, let offset, let detail):
            "\(path): invalid pickle at byte \(offset) of data.pkl: \(detail)"
        case .unsupportedOpcode(let path, let offset, let opcode):
            "\(path): unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) of data.pkl"
        case .limitExceeded(let path, let detail): "\(path): PyTorch checkpoint exceeds a reader limit: \(detail)"
        case .unsupportedFormat(let path, let detail): "\(path): unsupported PyTorch checkpoint format: \(detail)"
        case .invalidTensor(let path, let tensor, let detail): "\(path): tensor '\(Self.printable(tensor))': \(detail)"
        case .missingTensor(let path, let tensor): "\(path): no tensor named '\(Self.printable(tensor))'"
        case .wrongDType(let path, let tensor, let dtype, let expected):
            "\(path): tensor '\(Self.printable(tensor))' has dtype \(dtype), expected \(expected)"
        }
    }

    /// Names taken from a hostile file, with control characters escaped and the length capped, so
    /// that printing an error cannot drive a terminal.
    static func printable(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(200) {
            if scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return s.unicodeScalars.count > 200 ? out + "…" : out
    }
}
