import Foundation
import Kernels

/// The only globals a checkpoint's pickle may name. Each one is a tag, never imported or called:
/// REDUCE on the tensor-rebuilding functions builds a `PickleTensorRef`, REDUCE on OrderedDict
/// builds an empty dict, storage classes only tag a persistent id with its dtype.
enum TorchGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case rebuildFromTypeV2
    case tensorClass
    case parameterClass
    case storage(TensorDType)

    static let allowList: [String: [String: TorchGlobal]] = [
        "collections": ["OrderedDict": .orderedDict],
        "torch._utils": [
            "_rebuild_tensor_v2": .rebuildTensorV2,
            "_rebuild_tensor": .rebuildTensor,
            "_rebuild_parameter": .rebuildParameter,
            "_rebuild_parameter_with_state": .rebuildParameterWithState,
        ],
        "torch._tensor": ["_rebuild_from_type_v2": .rebuildFromTypeV2],
        "torch.nn.parameter": ["Parameter": .parameterClass],
        "torch": [
            "Tensor": .tensorClass,
            "FloatStorage": .storage(.f32),
            "HalfStorage": .storage(.f16),
            "BFloat16Storage": .storage(.bf16),
            "DoubleStorage": .storage(.f64),
            "LongStorage": .storage(.i64),
            "IntStorage": .storage(.i32),
            "ShortStorage": .storage(.i16),
            "CharStorage": .storage(.i8),
            "ByteStorage": .storage(.u8),
            "BoolStorage": .storage(.bool),
        ],
    ]

    static func lookup(module: String, name: String) -> TorchGlobal? { allowList[module]?[name] }

    var label: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: "torch._utils._rebuild_tensor"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: "torch._tensor._rebuild_from_type_v2"
        case .tensorClass: "torch.Tensor"
        case .parameterClass: "torch.nn.parameter.Parameter"
        case .storage(let d): "torch storage class (\(d.rawValue))"
        }
    }
}

/// A storage named by a persistent id `('storage', <storage class>, key, location, numel)`.
struct PickleStorageRef: Equatable {
    let key: String
    let dtype: TensorDType
    /// Elements (of `dtype`) the storage holds, as the pickle states it.
    let numel: Int
}

/// A strided view of a storage, as `_rebuild_tensor_v2(storage, offset, size, stride, …)` describes it.
struct PickleTensorRef: Equatable {
    let storage: PickleStorageRef
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// A value on the unpickler's stack. Containers live in arenas owned by the unpickler and are
/// referred to by index, so values never nest as Swift objects: no recursion when they are built,
/// compared or freed, and self-referencing containers (via the memo) are harmless.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside Int64 (only its existence matters here).
    case bigInt
    case float(Double)
    case string(String)
    case bytes(Int)
    case global(TorchGlobal)
    case tuple(Int)
    case list(Int)
    case set(Int)
    case dict(Int)
    case storage(PickleStorageRef)
    case tensor(Int)

    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .global(let g): g.label
        case .tuple: "tuple"
        case .list: "list"
        case .set: "set"
        case .dict: "dict"
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

/// A pickle *parser*: a stack machine over the opcodes of protocols 0–5 that only builds values.
/// Nothing is imported, instantiated or called. GLOBAL, STACK_GLOBAL and INST are checked against
/// `TorchGlobal.allowList` the moment they are read; any other name throws
/// `PickleError.forbiddenGlobal` before a single further byte is interpreted. REDUCE is only
/// understood on the allow-listed callables. Every length is checked against the bytes that
/// remain, and the stack, memo and MARK nesting are bounded, so a corrupt or hostile pickle ends in
/// a typed error in time linear in its size.
struct SafeUnpickler {
    struct Limits {
        var maxStack = 1 << 22
        var maxMemo = 1 << 22
        /// Open MARKs at once (the nesting depth of tuples/lists/dicts built from marks).
        var maxMarkDepth = 1_000
        var maxGlobalLength = 1_024
        /// Containers plus their elements, all together (about 64 bytes each at worst): bounds the
        /// memory a hostile pickle can make us allocate to a few hundred MB.
        var maxArenaItems = 1 << 22
    }

    let path: String
    let bytes: UnsafeRawBufferPointer
    let limits: Limits

    private(set) var sequences: [[PickleValue]] = []
    private(set) var dicts: [[(key: PickleValue, value: PickleValue)]] = []
    private(set) var tensors: [PickleTensorRef] = []
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var arenaItems = 0
    private var pos = 0
    private var opStart = 0

    init(path: String, bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) {
        self.path = path
        self.bytes = bytes
        self.limits = limits
    }

    /// Runs to STOP and returns the top of the stack; `end` is the byte after STOP.
    mutating func run() throws -> (value: PickleValue, end: Int) {
        while true {
            guard pos < bytes.count else { throw truncated("no STOP opcode") }
            opStart = pos
            let op = bytes[pos]
            pos += 1
            switch op {
            // --- framing, protocol
            case 0x80:  // PROTO
                let v = try readByte()
                guard v <= 5 else { throw invalid("unknown protocol \(v)") }
            case 0x95:  // FRAME: a length hint only
                _ = try readLE(8)
            case 0x2e:  // STOP '.'
                let v = try pop()
                return (v, pos)

            // --- stack manipulation
            case 0x28:  // MARK '('
                guard marks.count < limits.maxMarkDepth else {
                    throw PickleError.limitExceeded(path: path, detail: "more than \(limits.maxMarkDepth) nested MARKs")
                }
                marks.append(stack.count)
            case 0x30:  // POP '0'
                if let m = marks.last, m == stack.count {
                    marks.removeLast()  // Python pops a mark when the stack top is one
                } else {
                    _ = try pop()
                }
            case 0x31:  // POP_MARK '1'
                _ = try popMark()
            case 0x32:  // DUP '2'
                try push(try top())

            // --- constants and numbers
            case 0x4e: try push(.none)  // NONE 'N'
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4b: try push(.int(try readByte()))  // BININT1 'K'
            case 0x4d: try push(.int(try readLE(2)))  // BININT2 'M'
            case 0x4a:  // BININT 'J'
                try push(.int(Int(Int32(truncatingIfNeeded: try readLE(4)))))
            case 0x8a:  // LONG1
                let n = try readByte()
                try push(try readLong(n))
            case 0x8b:  // LONG4
                let n = Int(Int32(truncatingIfNeeded: try readLE(4)))
                guard n >= 0 else { throw invalid("negative LONG4 length") }
                try push(try readLong(n))
            case 0x49:  // INT 'I' (text; I01/I00 are booleans)
                let line = try readLine()
                if line == "01" {
                    try push(.bool(true))
                } else if line == "00" {
                    try push(.bool(false))
                } else if let v = Int(line) {
                    try push(.int(v))
                } else {
                    throw invalid("bad INT literal")
                }
            case 0x4c:  // LONG 'L' (text)
                var line = try readLine()
                if line.hasSuffix("L") { line.removeLast() }
                guard !line.isEmpty, line.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }) else {
                    throw invalid("bad LONG literal")
                }
                try push(Int(line).map { .int($0) } ?? .bigInt)
            case 0x47:  // BINFLOAT 'G': big-endian double
                let raw = try readBytes(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x46:  // FLOAT 'F' (text)
                guard let v = Double(try readLine()) else { throw invalid("bad FLOAT literal") }
                try push(.float(v))

            // --- strings and bytes
            case 0x58: try push(.string(try readUTF8(try readLE(4))))  // BINUNICODE 'X'
            case 0x8c: try push(.string(try readUTF8(try readByte())))  // SHORT_BINUNICODE
            case 0x8d: try push(.string(try readUTF8(try readLE(8))))  // BINUNICODE8
            case 0x54:  // BINSTRING 'T' (Python 2 str, decoded as UTF-8 like torch.load)
                let n = Int(Int32(truncatingIfNeeded: try readLE(4)))
                guard n >= 0 else { throw invalid("negative BINSTRING length") }
                try push(.string(try readUTF8(n)))
            case 0x55: try push(.string(try readUTF8(try readByte())))  // SHORT_BINSTRING 'U'
            case 0x42: try push(.bytes(try skip(try readLE(4))))  // BINBYTES 'B'
            case 0x43: try push(.bytes(try skip(try readByte())))  // SHORT_BINBYTES 'C'
            case 0x8e, 0x96: try push(.bytes(try skip(try readLE(8))))  // BINBYTES8, BYTEARRAY8

            // --- containers
            case 0x29: try push(.tuple(try newSequence([])))  // EMPTY_TUPLE ')'
            case 0x74: try push(.tuple(try newSequence(try popMark())))  // TUPLE 't'
            case 0x85:  // TUPLE1
                let a = try pop()
                try push(.tuple(try newSequence([a])))
            case 0x86:  // TUPLE2
                let b = try pop(), a = try pop()
                try push(.tuple(try newSequence([a, b])))
            case 0x87:  // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(.tuple(try newSequence([a, b, c])))
            case 0x5d: try push(.list(try newSequence([])))  // EMPTY_LIST ']'
            case 0x6c: try push(.list(try newSequence(try popMark())))  // LIST 'l'
            case 0x8f: try push(.set(try newSequence([])))  // EMPTY_SET
            case 0x91: try push(.set(try newSequence(try popMark())))  // FROZENSET
            case 0x7d: try push(.dict(try newDict([])))  // EMPTY_DICT '}'
            case 0x64:  // DICT 'd'
                try push(.dict(try newDict(try pairs(try popMark()))))
            case 0x61:  // APPEND 'a'
                let v = try pop()
                try appendItems([v], to: try pop(), keep: true)
            case 0x65:  // APPENDS 'e'
                let items = try popMark()
                try appendItems(items, to: try top(), keep: false)
            case 0x90:  // ADDITEMS
                let items = try popMark()
                try appendItems(items, to: try top(), keep: false)
            case 0x73:  // SETITEM 's'
                let v = try pop(), k = try pop()
                try setItems([(k, v)], in: try top())
            case 0x75:  // SETITEMS 'u'
                let items = try pairs(try popMark())
                try setItems(items, in: try top())

            // --- memo
            case 0x71: try put(try readByte())  // BINPUT 'q'
            case 0x72: try put(try readLE(4))  // LONG_BINPUT 'r'
            case 0x70:  // PUT 'p' (text)
                guard let i = Int(try readLine()), i >= 0 else { throw invalid("bad PUT index") }
                try put(i)
            case 0x94: try put(memo.count)  // MEMOIZE
            case 0x68: try push(try get(try readByte()))  // BINGET 'h'
            case 0x6a: try push(try get(try readLE(4)))  // LONG_BINGET 'j'
            case 0x67:  // GET 'g' (text)
                guard let i = Int(try readLine()) else { throw invalid("bad GET index") }
                try push(try get(i))

            // --- globals: checked against the allow-list as soon as they are read
            case 0x63:  // GLOBAL 'c'
                let module = try readLine(max: limits.maxGlobalLength)
                let name = try readLine(max: limits.maxGlobalLength)
                try push(.global(try allowed(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(), moduleValue = try pop()
                guard case .string(let name) = nameValue, case .string(let module) = moduleValue else {
                    throw invalid("STACK_GLOBAL needs two strings, got \(moduleValue.kind) and \(nameValue.kind)")
                }
                try push(.global(try allowed(module: module, name: name)))
            case 0x69:  // INST 'i': would import and instantiate; allowed names are still never instantiated this way
                let module = try readLine(max: limits.maxGlobalLength)
                let name = try readLine(max: limits.maxGlobalLength)
                _ = try allowed(module: module, name: name)
                throw PickleError.unsupportedOpcode(path: path, offset: opStart, opcode: op)

            // --- calls: only on allow-listed callables, and only to build tensors and dicts
            case 0x52:  // REDUCE 'R'
                let args = try pop()
                let callable = try pop()
                try push(try reduce(callable, args))
            case 0x62:  // BUILD 'b': __setstate__ / __dict__ update; dropped for dicts and tensors
                let state = try pop()
                let target = try top()
                switch target {
                case .dict, .tensor: break
                default: throw invalid("BUILD on \(target.kind) with \(state.kind) state is not supported")
                }
            case 0x51:  // BINPERSID 'Q'
                let pid = try pop()
                try push(.storage(try persistentStorage(pid)))

            default:
                // OBJ, NEWOBJ, NEWOBJ_EX (instantiation), EXT1/2/4 (the copyreg extension registry can
                // name any global), PERSID (text ids), STRING/UNICODE (text escapes), NEXT_BUFFER,
                // READONLY_BUFFER, and bytes that are no opcode at all.
                throw PickleError.unsupportedOpcode(path: path, offset: opStart, opcode: op)
            }
        }
    }

    func sequence(_ i: Int) -> [PickleValue] { sequences[i] }
    func dict(_ i: Int) -> [(key: PickleValue, value: PickleValue)] { dicts[i] }
    func tensor(_ i: Int) -> PickleTensorRef { tensors[i] }

    // MARK: - Allow-list and calls

    private func allowed(module: String, name: String) throws -> TorchGlobal {
        guard let g = TorchGlobal.lookup(module: module, name: name) else {
            throw PickleError.forbiddenGlobal(path: path, module: module, name: name)
        }
        return g
    }

    private mutating func reduce(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else {
            throw invalid("REDUCE on a \(callable.kind), not an allow-listed callable")
        }
        guard case .tuple(let ai) = argsValue else {
            throw invalid("REDUCE on \(g.label) with \(argsValue.kind) arguments")
        }
        let args = sequences[ai]
        switch g {
        case .orderedDict:
            guard args.isEmpty else { throw invalid("OrderedDict with arguments is not supported") }
            return .dict(try newDict([]))
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw invalid("_rebuild_tensor_v2 takes 6 or 7 arguments, got \(args.count)")
            }
            return try rebuildTensor(args)
        case .rebuildTensor:
            guard args.count == 4 else { throw invalid("_rebuild_tensor takes 4 arguments, got \(args.count)") }
            return try rebuildTensor(args)
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data.
            guard args.count == (g == .rebuildParameter ? 3 : 4), case .tensor = args[0] else {
                throw invalid("\(g.label) needs a tensor and \(g == .rebuildParameter ? 2 : 3) more arguments")
            }
            return args[0]
        case .rebuildFromTypeV2:
            // (func, new_type, args, state): a tensor subclass or a tensor with Python attributes.
            guard args.count == 4, case .global(let f) = args[0], case .global(let type) = args[1],
                type == .tensorClass || type == .parameterClass
            else {
                throw invalid("_rebuild_from_type_v2 is only read for plain tensors and parameters")
            }
            switch f {
            case .rebuildTensorV2, .rebuildTensor, .rebuildParameter: return try reduce(args[0], args[2])
            default: throw invalid("_rebuild_from_type_v2 with \(f.label) is not supported")
            }
        case .tensorClass, .parameterClass, .storage:
            throw invalid("calling \(g.label) is not supported")
        }
    }

    private mutating func rebuildTensor(_ args: [PickleValue]) throws -> PickleValue {
        guard case .storage(let storage) = args[0] else { throw invalid("tensor storage is a \(args[0].kind)") }
        guard case .int(let offset) = args[1] else { throw invalid("tensor storage offset is a \(args[1].kind)") }
        let shape = try intTuple(args[2], what: "size")
        let strides = try intTuple(args[3], what: "stride")
        guard shape.count == strides.count else {
            throw invalid("tensor size has \(shape.count) dimensions but stride has \(strides.count)")
        }
        tensors.append(PickleTensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        return .tensor(tensors.count - 1)
    }

    private func intTuple(_ v: PickleValue, what: String) throws -> [Int] {
        guard case .tuple(let i) = v else { throw invalid("tensor \(what) is a \(v.kind), expected a tuple") }
        return try sequences[i].map {
            guard case .int(let n) = $0 else { throw invalid("tensor \(what) holds a \($0.kind)") }
            return n
        }
    }

    private func persistentStorage(_ pid: PickleValue) throws -> PickleStorageRef {
        // ('storage', storage class, key, location, numel)
        guard case .tuple(let i) = pid else { throw invalid("persistent id is a \(pid.kind), expected a tuple") }
        let t = sequences[i]
        guard t.count == 5, case .string("storage") = t[0] else {
            throw invalid("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case .global(.storage(let dtype)) = t[1] else {
            throw invalid("persistent id names a \(t[1].kind), not a storage class")
        }
        guard case .string(let key) = t[2], case .string = t[3], case .int(let numel) = t[4], numel >= 0 else {
            throw invalid("persistent id has a malformed key, location or size")
        }
        return PickleStorageRef(key: key, dtype: dtype, numel: numel)
    }

    // MARK: - Containers

    private mutating func newSequence(_ items: [PickleValue]) throws -> Int {
        try count(items.count + 1)
        sequences.append(items)
        return sequences.count - 1
    }

    private mutating func newDict(_ items: [(key: PickleValue, value: PickleValue)]) throws -> Int {
        try count(items.count + 1)
        dicts.append(items)
        return dicts.count - 1
    }

    private mutating func count(_ n: Int) throws {
        arenaItems += n
        guard arenaItems <= limits.maxArenaItems else {
            throw PickleError.limitExceeded(
                path: path, detail: "more than \(limits.maxArenaItems) containers and elements")
        }
    }

    private func pairs(_ items: [PickleValue]) throws -> [(key: PickleValue, value: PickleValue)] {
        guard items.count % 2 == 0 else { throw invalid("odd number of items for a dict") }
        return stride(from: 0, to: items.count, by: 2).map { (key: items[$0], value: items[$0 + 1]) }
    }

    private mutating func appendItems(_ items: [PickleValue], to target: PickleValue, keep: Bool) throws {
        switch target {
        case .list(let i), .set(let i):
            try count(items.count)
            sequences[i].append(contentsOf: items)
        default:
            throw invalid("APPEND to a \(target.kind)")
        }
        if keep { try push(target) }
    }

    private mutating func setItems(_ items: [(key: PickleValue, value: PickleValue)], in target: PickleValue) throws {
        guard case .dict(let i) = target else { throw invalid("SETITEM on a \(target.kind)") }
        try count(items.count)
        dicts[i].append(contentsOf: items)
    }

    // MARK: - Stack and memo

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else {
            throw PickleError.limitExceeded(path: path, detail: "pickle stack deeper than \(limits.maxStack)")
        }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw invalid("stack underflow") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw invalid("stack underflow") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw invalid("no MARK") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func put(_ i: Int) throws {
        let v = try top()
        if memo[i] == nil && memo.count >= limits.maxMemo {
            throw PickleError.limitExceeded(path: path, detail: "more than \(limits.maxMemo) memo entries")
        }
        memo[i] = v
    }

    private func get(_ i: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw invalid("memo entry \(i) is not set") }
        return v
    }

    // MARK: - Reading

    private mutating func readByte() throws -> Int {
        guard pos < bytes.count else { throw truncated("opcode argument past the end") }
        defer { pos += 1 }
        return Int(bytes[pos])
    }

    /// An unsigned little-endian integer of `n` (≤ 8) bytes; 8-byte values above Int.max are refused.
    private mutating func readLE(_ n: Int) throws -> Int {
        guard bytes.count - pos >= n else { throw truncated("opcode argument past the end") }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(bytes[pos + k]) << (8 * UInt64(k)) }
        pos += n
        guard v <= UInt64(Int.max) else { throw invalid("length \(v) out of range") }
        return Int(v)
    }

    private mutating func readBytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, bytes.count - pos >= n else {
            throw truncated("a \(n)-byte argument runs past the end (\(bytes.count - pos) bytes left)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<pos + n])
    }

    private mutating func skip(_ n: Int) throws -> Int {
        _ = try readBytes(n)
        return n
    }

    private mutating func readUTF8(_ n: Int) throws -> String {
        let raw = try readBytes(n)
        guard let s = String(bytes: raw, encoding: .utf8) else { throw invalid("string is not UTF-8") }
        return s
    }

    /// A newline-terminated ASCII/UTF-8 argument of a text opcode (GLOBAL, INT, GET, …).
    private mutating func readLine(max: Int = 64) throws -> String {
        var end = pos
        while end < bytes.count && bytes[end] != 0x0a {
            end += 1
            guard end - pos <= max else { throw invalid("text argument longer than \(max) bytes") }
        }
        guard end < bytes.count else { throw truncated("unterminated text argument") }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[pos..<end])
        pos = end + 1
        guard var s = String(bytes: raw, encoding: .utf8) else { throw invalid("text argument is not UTF-8") }
        if s.hasSuffix("\r") { s.removeLast() }
        return s
    }

    /// Two's-complement little-endian integer of `n` bytes (LONG1/LONG4).
    private mutating func readLong(_ n: Int) throws -> PickleValue {
        let raw = try readBytes(n)
        if n == 0 { return .int(0) }
        guard n <= 8 else { return .bigInt }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(raw[k]) << (8 * UInt64(k)) }
        if n < 8 && raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }  // sign-extend
        return .int(Int(Int64(bitPattern: v)))
    }

    private func invalid(_ detail: String) -> PickleError {
        .invalidPickle(path: path, offset: opStart, detail: detail)
    }

    private func truncated(_ detail: String) -> PickleError {
        .truncated(path: path, detail: "data.pkl at byte \(opStart): \(detail)")
    }
}
