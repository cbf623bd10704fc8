import FileMapping
import Foundation
import Kernels
import TestSupport
import Testing

@testable import ModelIO

/// PyTorch `.bin` checkpoints (fixtures from tools/make_pickle_fixtures.py): values against
/// safetensors references, dtype conversion, strided views, and refusal of hostile or broken files.
@Suite("PyTorch pickle checkpoints")
struct PickleTests {
    static func fixture(_ name: String) -> String { Fixtures.url("pickle/\(name)").path }

    /// Runs `body` and returns the PickleError it throws (records an issue otherwise).
    static func pickleError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation)
        -> PickleError?
    {
        do {
            try body()
            Issue.record("expected a PickleError, nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as PickleError {
            return error
        } catch {
            Issue.record("expected a PickleError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Loads every tensor a checkpoint lists, as floats or integers.
    static func readAll(_ checkpoint: PyTorchCheckpoint) throws {
        for name in checkpoint.tensorNames {
            if checkpoint.dtype(of: name)!.isFloatingPoint {
                _ = try checkpoint.floats(name)
            } else {
                _ = try checkpoint.readIntegers(name)
            }
        }
    }

    // MARK: - Real AdapterHub files

    @Test("AdapterHub .bin tensors equal the safetensors reference exactly", arguments: ["seq_bn_bin", "lora_bin"])
    func adapterHubMatchesReference(folder: String) throws {
        let reference = try SafetensorsFile(path: Self.fixture("\(folder)/reference.safetensors"))
        let adapter = try PyTorchCheckpoint(path: Self.fixture("\(folder)/pytorch_adapter.bin"))
        let head = try PyTorchCheckpoint(path: Self.fixture("\(folder)/pytorch_model_head.bin"))
        #expect(adapter.archiveName == "pytorch_adapter")
        #expect(head.archiveName == "pytorch_model_head")
        #expect(adapter.ignoredKeys.isEmpty && head.ignoredKeys.isEmpty)
        #expect(Set(adapter.tensorNames).isDisjoint(with: head.tensorNames))
        #expect((adapter.tensorNames + head.tensorNames).sorted() == reference.tensorNames)
        #expect(adapter.tensorNames.allSatisfy { $0.contains(".rt.") })
        #expect(head.tensorNames.allSatisfy { $0.hasPrefix("heads.rt.") })
        for (source, names) in [(adapter, adapter.tensorNames), (head, head.tensorNames)] {
            for name in names {
                #expect(source.dtype(of: name) == .f32)
                #expect(source.shape(of: name) == reference.shape(of: name), "\(name)")
                #expect(source.entries[name]!.isContiguous)
                let count = reference.shape(of: name)!.reduce(1, *)
                var expected = [Float](repeating: .nan, count: count)
                try reference.readFloats(name, into: &expected)
                let got = try source.floats(name)
                #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(name)")
            }
        }
    }

    @Test("A module's state_dict() (OrderedDict with _metadata, set by BUILD) loads")
    func moduleStateDict() throws {
        let reference = try SafetensorsFile(path: Self.fixture("state_dict.safetensors"))
        let checkpoint = try PyTorchCheckpoint(path: Self.fixture("state_dict.bin"))
        #expect(checkpoint.tensorNames == reference.tensorNames)
        #expect(checkpoint.tensorNames == ["0.bias", "0.weight", "1.bias", "1.weight"])
        for name in checkpoint.tensorNames {
            var expected = [Float](repeating: .nan, count: reference.shape(of: name)!.reduce(1, *))
            try reference.readFloats(name, into: &expected)
            #expect(try checkpoint.floats(name).map(\.bitPattern) == expected.map(\.bitPattern), "\(name)")
        }
    }

    @Test("A checkpoint works as a TensorSource")
    func tensorSourceConformance() throws {
        let source: TensorSource = try PyTorchCheckpoint(path: Self.fixture("seq_bn_bin/pytorch_model_head.bin"))
        let name = source.tensorNames.first { $0.hasSuffix("weight") }!
        let shape = try #require(source.shape(of: name))
        var buffer = [Float](repeating: 0, count: shape.reduce(1, *))
        try source.readFloats(name, into: &buffer)
        #expect(buffer.contains { $0 != 0 })
        #expect(source.shape(of: "nope") == nil && source.dtype(of: "nope") == nil)
        let error = Self.pickleError { try source.readFloats("nope", into: &buffer) }
        #expect(error == .missingTensor(path: Self.fixture("seq_bn_bin/pytorch_model_head.bin"), tensor: "nope"))
    }

    // MARK: - Dtypes and strides

    @Test("float16, bfloat16, float64, int64, int32 and strided views convert exactly")
    func dtypes() throws {
        let checkpoint = try PyTorchCheckpoint(path: Self.fixture("dtypes.bin"))
        let expected = try Fixtures.json("pickle/dtypes.json")
        #expect(checkpoint.tensorNames == expected.keys.sorted())
        let dtypeNames: [String: TensorDType] = [
            "float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64, "int32": .i32,
        ]
        for (name, value) in expected {
            let spec = try #require(value as? [String: Any])
            let dtype = try #require(dtypeNames[spec["dtype"] as! String])
            #expect(checkpoint.dtype(of: name) == dtype, "\(name)")
            #expect(checkpoint.shape(of: name) == (spec["shape"] as! [NSNumber]).map(\.intValue), "\(name)")
            if dtype.isFloatingPoint {
                let want = (spec["values"] as! [String]).map { Float(Double($0)!) }
                let got = try checkpoint.floats(name)
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(name): \(got) vs \(want)")
                let error = Self.pickleError { _ = try checkpoint.readIntegers(name) }
                #expect(
                    error
                        == .wrongDType(
                            path: checkpoint.path, tensor: name, dtype: dtype.rawValue, expected: "an integer dtype"))
            } else {
                let want = (spec["values"] as! [NSNumber]).map(\.int64Value).map(Int.init)
                #expect(try checkpoint.readIntegers(name) == want, "\(name)")
                var sink = [Float](repeating: 0, count: max(1, want.count))
                #expect(Self.pickleError { try checkpoint.readFloats(name, into: &sink) } != nil)
            }
        }
        // The strided views really are strided.
        let transposed = checkpoint.entries["transposed"]!
        #expect(transposed.shape == [5, 3] && transposed.strides == [1, 5] && !transposed.isContiguous)
        let slice = checkpoint.entries["col_slice"]!
        #expect(slice.storageOffset == 1 && slice.strides == [4, 1] && !slice.isContiguous)
        #expect(checkpoint.entries["row_view"]!.storageOffset == 4 && checkpoint.entries["row_view"]!.isContiguous)
        #expect(checkpoint.entries["shared_a"]!.storageRecord == checkpoint.entries["shared_b"]!.storageRecord)
        #expect(checkpoint.entries["shared_b"]!.storageOffset == 6)
        #expect(checkpoint.shape(of: "scalar") == [] && checkpoint.shape(of: "empty") == [0, 4])
    }

    // MARK: - Hostile pickles

    @Test("Pickles that would run code are refused by name, and run nothing")
    func evilPickles() throws {
        let manifest = try Fixtures.json("pickle/evil.json")
        #expect(manifest.count == 5)
        for (file, value) in manifest.sorted(by: { $0.key < $1.key }) {
            let spec = try #require(value as? [String: String])
            let marker = spec["marker"]!
            try? FileManager.default.removeItem(atPath: marker)
            let path = Self.fixture(file)
            let error = Self.pickleError { _ = try PyTorchCheckpoint(path: path) }
            #expect(error == .forbiddenGlobal(path: path, module: spec["module"]!, name: spec["name"]!), "\(file)")
            #expect(error?.description.contains(path) == true)
            #expect(error?.description.contains("\(spec["module"]!).\(spec["name"]!)") == true)
            // Also with checksums off (the parse is the same either way).
            #expect(Self.pickleError { _ = try PyTorchCheckpoint(path: path, verifyChecksums: false) } == error)
            #expect(!FileManager.default.fileExists(atPath: marker), "\(file) created \(marker)")
        }
    }

    @Test("Any global outside the allow-list is forbidden, whatever the opcode")
    func allowList() throws {
        func run(_ bytes: [UInt8]) -> PickleError? {
            bytes.withUnsafeBytes { raw in
                var u = SafeUnpickler(path: "mem.pkl", bytes: raw)
                do {
                    _ = try u.run()
                    return nil
                } catch {
                    return error as? PickleError
                }
            }
        }
        func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
        for (module, name) in [
            ("__builtin__", "eval"), ("builtins", "getattr"), ("torch", "load"), ("torch.serialization", "load"),
            ("collections", "defaultdict"), ("torch._utils", "_rebuild_qtensor"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("torch", "FloatStorag"), ("torch ", "FloatStorage"), ("posix", "system"), ("nt", "system"),
        ] {
            #expect(
                run([0x80, 0x02] + global(module, name) + [0x2e])
                    == .forbiddenGlobal(path: "mem.pkl", module: module, name: name))
        }
        // Allowed names only push a tag.
        #expect(run([0x80, 0x02] + global("torch._utils", "_rebuild_tensor_v2") + [0x2e]) == nil)
        // Refused at the opcode, even if the pickle is broken right after it.
        #expect(
            run(global("os", "system") + [0xff, 0xff])
                == .forbiddenGlobal(path: "mem.pkl", module: "os", name: "system"))
        // STACK_GLOBAL and INST are checked too.
        let sg: [UInt8] = [0x80, 0x04, 0x8c, 2] + Array("os".utf8) + [0x8c, 6] + Array("system".utf8) + [0x93, 0x2e]
        #expect(run(sg) == .forbiddenGlobal(path: "mem.pkl", module: "os", name: "system"))
        #expect(
            run([0x28, 0x69] + Array("os\nsystem\n.".utf8))
                == .forbiddenGlobal(path: "mem.pkl", module: "os", name: "system"))
        // INST of an allowed name still instantiates nothing.
        if case .unsupportedOpcode = run([0x28, 0x69] + Array("collections\nOrderedDict\n.".utf8)) {
        } else {
            Issue.record("INST")
        }
        // Calling an allowed non-function (a storage class) is an error, not a call.
        if case .invalidPickle = run(global("torch", "FloatStorage") + [0x29, 0x52, 0x2e]) {
        } else {
            Issue.record("REDUCE storage")
        }
        // Extension-registry and instantiation opcodes are refused outright.
        for op: UInt8 in [0x82, 0x83, 0x84, 0x81, 0x92, 0x6f, 0x50, 0x53, 0x56, 0x97, 0x98, 0x00, 0xff] {
            if case .unsupportedOpcode(_, 0, op) = run([op, 1, 0, 0, 0, 0x2e]) {} else { Issue.record("opcode \(op)") }
        }
        // Names from a hostile file are printed with control characters escaped.
        let shown = PickleError.forbiddenGlobal(path: "p", module: "os\u{1b}[2J", name: "x").description
        #expect(!shown.contains("\u{1b}") && shown.contains("\\u{1b}"))
    }

    @Test("Deep, cyclic and oversized pickles end in typed errors, without recursion or hangs")
    func parserLimits() throws {
        func run(_ bytes: [UInt8]) -> (PickleValue?, PickleError?) {
            bytes.withUnsafeBytes { raw in
                var u = SafeUnpickler(path: "mem.pkl", bytes: raw)
                do {
                    return (try u.run().value, nil)
                } catch {
                    return (nil, error as? PickleError)
                }
            }
        }
        // 2,000 nested MARKs: over the nesting limit.
        if case .limitExceeded? = run([UInt8](repeating: 0x28, count: 2_000) + [0x2e]).1 {
        } else {
            Issue.record("marks")
        }
        // 200,000 nested 1-tuples: fine (containers are arena indices, nothing recurses).
        let deep = [0x4e] + [UInt8](repeating: 0x85, count: 200_000) + [0x2e]
        if case .tuple? = run(deep).0 {} else { Issue.record("deep tuples") }
        // A list that contains itself: EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP.
        if case .list? = run([0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]).0 {} else { Issue.record("cyclic list") }
        // Lengths far past the end.
        if case .truncated? = run([0x58, 0xff, 0xff, 0xff, 0xff, 0x61]).1 {} else { Issue.record("BINUNICODE") }
        if case .truncated? = run([0x8d] + [UInt8](repeating: 0x7f, count: 7) + [0]).1 {
        } else {
            Issue.record("BINUNICODE8")
        }
        if case .invalidPickle? = run([0x8e] + [UInt8](repeating: 0xff, count: 8)).1 {
        } else {
            Issue.record("BINBYTES8")
        }
        if case .truncated? = run([0x8b, 0xff, 0xff, 0xff, 0x7f]).1 {} else { Issue.record("LONG4") }
        // Stack underflow, unset memo, no STOP, MARK misuse.
        if case .invalidPickle? = run([0x52]).1 {} else { Issue.record("underflow") }
        if case .invalidPickle? = run([0x68, 9, 0x2e]).1 {} else { Issue.record("memo") }
        if case .truncated? = run([0x4e, 0x4e]).1 {} else { Issue.record("no STOP") }
        if case .invalidPickle? = run([0x4e, 0x28, 0x61, 0x2e]).1 {} else { Issue.record("APPEND across MARK") }
        if case .invalidPickle? = run([0x80, 0x09]).1 {} else { Issue.record("protocol") }
        // Integers.
        if case .int(-2)? = run([0x8a, 1, 0xfe, 0x2e]).0 {} else { Issue.record("LONG1") }
        if case .int(Int.min)? = run([0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e]).0 {
        } else {
            Issue.record("LONG1 min")
        }
        if case .bigInt? = run([0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2e]).0 {} else { Issue.record("big LONG1") }
        if case .int(-7)? = run([0x4a, 0xf9, 0xff, 0xff, 0xff, 0x2e]).0 {} else { Issue.record("BININT") }
    }

    // MARK: - Broken files

    @Test("Broken files end in typed errors naming the file")
    func brokenFiles() throws {
        func expectError(_ file: String, _ check: (PickleError) -> Bool) {
            let path = Self.fixture(file)
            let error = Self.pickleError { _ = try PyTorchCheckpoint(path: path) }
            #expect(error.map(check) == true, "\(file): \(String(describing: error))")
            #expect(error?.description.hasPrefix(path) == true, "\(file)")
        }
        expectError("truncated.bin") { if case .truncated = $0 { true } else { false } }
        expectError("compressed.bin") {
            $0 == .compressedEntry(path: Self.fixture("compressed.bin"), entry: "dtypes/data.pkl", method: 8)
        }
        expectError("missing_pkl.bin") {
            $0 == .missingRecord(path: Self.fixture("missing_pkl.bin"), record: "archive/data.pkl")
        }
        expectError("missing_storage.bin") {
            $0 == .missingStorage(path: Self.fixture("missing_storage.bin"), tensor: "w", record: "archive/data/0")
        }
        expectError("bad_extent.bin") { if case .invalidTensor(_, "w", _) = $0 { true } else { false } }
        expectError("big_endian.bin") { if case .unsupportedFormat = $0 { true } else { false } }
        expectError("legacy.bin") { if case .unsupportedFormat = $0 { true } else { false } }
        expectError("not_a_tensor_call.bin") { if case .invalidPickle = $0 { true } else { false } }

        #expect(throws: ModelIOError.fileNotFound(path: Self.fixture("absent.bin"))) {
            _ = try PyTorchCheckpoint(path: Self.fixture("absent.bin"))
        }
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, bytes) in [("empty.bin", [UInt8]()), ("text.bin", Array("not a checkpoint".utf8))] {
            let path = folder.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let error = Self.pickleError { _ = try PyTorchCheckpoint(path: path) }
            #expect(error?.description.hasPrefix(path) == true)
        }
    }

    /// Every tensor of a checkpoint: dtype, shape and the values' exact bits.
    static func contents(_ checkpoint: PyTorchCheckpoint) throws -> [String: String] {
        var all: [String: String] = [:]
        for name in checkpoint.tensorNames {
            let dtype = checkpoint.dtype(of: name)!
            let values =
                dtype.isFloatingPoint
                ? try checkpoint.floats(name).map { String($0.bitPattern, radix: 16) } : try checkpoint.readIntegers(name).map(String.init)
            all[name] = "\(dtype) \(checkpoint.shape(of: name)!) \(values.joined(separator: ","))"
        }
        return all
    }

    @Test("A flipped byte in a storage fails its CRC-32; without checks it loads")
    func checksum() throws {
        let source = Self.fixture("seq_bn_bin/pytorch_model_head.bin")
        let good = try PyTorchCheckpoint(path: source)
        let name = good.tensorNames.first { $0.hasSuffix("weight") }!
        let record = good.entries[name]!.storageRecord
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source)))
        let archive = try ZipArchive(file: try MappedFile(path: source), path: source)
        let offset = archive.entry(record)!.dataOffset + 5
        bytes[offset] ^= 0x40
        let path = folder.appendingPathComponent("flipped.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(
            Self.pickleError { _ = try PyTorchCheckpoint(path: path) } == .checksumMismatch(path: path, entry: record))
        let unchecked = try PyTorchCheckpoint(path: path, verifyChecksums: false)
        #expect(try unchecked.floats(name) != good.floats(name))
    }

    @Test("200 random byte flips each load or throw; truncations throw")
    func fuzz() throws {
        let source = Self.fixture("seq_bn_bin/pytorch_adapter.bin")
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source)))
        let reference = try Self.contents(try PyTorchCheckpoint(path: source))
        #expect(!reference.isEmpty)
        let archive = try ZipArchive(file: try MappedFile(path: source), path: source)
        let pkl = archive.entry("pytorch_adapter/data.pkl")!
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("fuzz.bin").path
        var state: UInt64 = 0x5eed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        // Per half: loaded unchanged, loaded with other contents, refused with a PickleError.
        var pickleFlips = (same: 0, changed: 0, refused: 0)
        var anywhereFlips = (same: 0, changed: 0, refused: 0)
        for round in 0..<200 {
            var bytes = original
            // Half the flips land in data.pkl (checked with CRCs off, so the parser sees them),
            // half anywhere (CRCs on).
            let inPickle = round % 2 == 0
            let flips = 1 + next() % 3
            for _ in 0..<flips {
                let at = inPickle ? pkl.dataOffset + next() % pkl.size : next() % bytes.count
                bytes[at] ^= UInt8(1 + next() % 255)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let checkpoint = try PyTorchCheckpoint(path: path, verifyChecksums: !inPickle)
                let loaded = try Self.contents(checkpoint)
                if inPickle {
                    if loaded == reference { pickleFlips.same += 1 } else { pickleFlips.changed += 1 }
                } else if loaded == reference {
                    anywhereFlips.same += 1
                } else {
                    // With CRCs on, a flip that gets through must be one that changes nothing read.
                    anywhereFlips.changed += 1
                    Issue.record("round \(round): loaded with checksums on, but the tensors differ from the original")
                }
            } catch let error as PickleError {
                if inPickle { pickleFlips.refused += 1 } else { anywhereFlips.refused += 1 }
                #expect(error.description.hasPrefix(path + ": "), "round \(round): \(error)")
            } catch {
                Issue.record("round \(round): not a PickleError: \(error)")
            }
        }
        // Both outcomes occur in each half (so the flips reach the parser and the CRC checks).
        #expect(pickleFlips.refused >= 20 && pickleFlips.same + pickleFlips.changed >= 5, "\(pickleFlips)")
        #expect(anywhereFlips.refused >= 20 && anywhereFlips.same >= 5, "\(anywhereFlips)")
        #expect(anywhereFlips.changed == 0)
        // The file cut short anywhere is refused: every 23rd length, and every other length that
        // cuts the central directory and end records (the last 1,200 bytes).
        let cuts = Set(
            Array(stride(from: 0, to: original.count, by: 23))
                + Array(stride(from: max(0, original.count - 1_200), to: original.count, by: 2)))
        var accepted: [Int] = []
        for length in cuts.sorted() {
            try Data(original[..<length]).write(to: URL(fileURLWithPath: path))
            do {
                _ = try PyTorchCheckpoint(path: path)
                accepted.append(length)
            } catch is PickleError {}
        }
        #expect(accepted.isEmpty)
    }
}
