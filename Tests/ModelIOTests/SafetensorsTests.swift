import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing

/// Builds a safetensors file from a raw header string and a data section.
func rawSafetensors(header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> Data {
    var out = Data()
    var length = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

@Suite("Safetensors")
struct SafetensorsTests {
    func withFile<T>(_ bytes: Data, _ body: (String) throws -> T) throws -> T {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    @Test func roundTripThroughWriter() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.safetensors")
        try SafetensorsWriter.write(
            [.init(name: "b", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), .init(name: "a", shape: [1], values: [-7.5])],
            metadata: ["format": "pt"], to: url)
        let file = try SafetensorsFile(path: url.path)
        #expect(file.tensorNames == ["a", "b"])
        #expect(file.shape(of: "b") == [2, 3])
        #expect(file.metadata["format"] == "pt")
        var out = [Float](repeating: 0, count: 6)
        try out.withUnsafeMutableBufferPointer { try file.readFloats("b", into: $0.baseAddress!) }
        #expect(out == [1, 2, 3, 4, 5, 6])
        // No temporary file is left beside the target.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["t.safetensors"])
    }

    @Test func halfAndBFloat16AreConvertedExactly() throws {
        let file = try SafetensorsFile(path: Fixtures.url("encoders/dtypes.safetensors").path)
        let expected = try Fixtures.json("encoders/dtypes.json")
        for (name, key) in [("a_f32", "f32"), ("a_f16", "f16"), ("a_bf16", "bf16")] {
            let count = file.shape(of: name)?.reduce(1, *) ?? 0
            var out = [Float](repeating: .nan, count: count)
            try out.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0.baseAddress!) }
            #expect(out == floats(expected[key]), "\(name)")
        }
        #expect(file.dtype(of: "a_f16") == .f16)
        #expect(try file.readIntegers("ids_i64") == [0, 1, 2, 3, 4])
        #expect(throws: ModelIOError.self) {
            var x = [Float](repeating: 0, count: 5)
            try x.withUnsafeMutableBufferPointer { try file.readFloats("ids_i64", into: $0.baseAddress!) }
        }
    }

    /// Streaming reads (bf16 loading goes through them): any range of any float dtype equals the same
    /// slice of the whole read, pages dropped after a read are read again correctly, and a range outside
    /// the tensor or an integer tensor is refused.
    @Test func rangesOfATensorMatchTheWholeRead() throws {
        let file = try SafetensorsFile(path: Fixtures.url("encoders/dtypes.safetensors").path)
        for name in ["a_f32", "a_f16", "a_bf16"] {
            let count = file.shape(of: name)?.reduce(1, *) ?? 0
            #expect(count >= 3)
            var whole = [Float](repeating: .nan, count: count)
            try whole.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0.baseAddress!) }
            for range in [0..<count, 1..<count, 0..<1, 1..<(count - 1)] {
                var part = [Float](repeating: .nan, count: range.count)
                let ok = part.withUnsafeMutableBufferPointer { file.copyFloats(name, elements: range, into: $0.baseAddress!) }
                #expect(ok)
                #expect(part == Array(whole[range]), "\(name) \(range)")
                file.didRead(name, elements: range)
            }
            file.didRead(name)
            var again = [Float](repeating: .nan, count: count)
            try again.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0.baseAddress!) }
            #expect(again == whole)
            var x = [Float](repeating: 0, count: count + 1)
            #expect(!x.withUnsafeMutableBufferPointer { file.copyFloats(name, elements: 0..<(count + 1), into: $0.baseAddress!) })
        }
        var x = [Float](repeating: 0, count: 5)
        #expect(!x.withUnsafeMutableBufferPointer { file.copyFloats("ids_i64", elements: 0..<5, into: $0.baseAddress!) })
        #expect(!x.withUnsafeMutableBufferPointer { file.copyFloats("missing", elements: 0..<1, into: $0.baseAddress!) })
    }

    static let good = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    @Test func rejectsBrokenFiles() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, Data, (ModelIOError) -> Bool)] = [
            ("empty file", Data(), { if case .truncated = $0 { true } else { false } }),
            ("shorter than the length field", Data([1, 2, 3]), { if case .truncated = $0 { true } else { false } }),
            ("header length past end of file", rawSafetensors(header: Self.good, data: eight, lengthOverride: 10_000),
             { if case .truncated = $0 { true } else { false } }),
            ("header length absurd", rawSafetensors(header: Self.good, data: eight, lengthOverride: UInt64.max),
             { if case .invalidHeader = $0 { true } else { false } }),
            ("header not JSON", rawSafetensors(header: "{not json", data: eight), { if case .invalidHeader = $0 { true } else { false } }),
            ("header an array", rawSafetensors(header: "[1,2]", data: eight), { if case .invalidHeader = $0 { true } else { false } }),
            ("unknown dtype", rawSafetensors(header: #"{"w":{"dtype":"F8_E4M3X","shape":[2],"data_offsets":[0,8]}}"#, data: eight),
             { $0 == .unknownDType(path: "", tensor: "w", dtype: "F8_E4M3X") || { if case .unknownDType(_, "w", "F8_E4M3X") = $0 { true } else { false } }($0) }),
            ("offsets past data", rawSafetensors(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight),
             { if case .offsetsOutOfRange(_, "w", _) = $0 { true } else { false } }),
            ("reversed offsets", rawSafetensors(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight),
             { if case .offsetsOutOfRange(_, "w", _) = $0 { true } else { false } }),
            ("size does not match shape", rawSafetensors(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight),
             { if case .sizeMismatch(_, "w", 12, 8) = $0 { true } else { false } }),
            ("overlapping tensors", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
             { if case .overlappingTensors(_, "a", "b") = $0 { true } else { false } }),
            ("negative shape", rawSafetensors(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight),
             { if case .invalidHeader = $0 { true } else { false } }),
            ("missing offsets", rawSafetensors(header: #"{"w":{"dtype":"F32","shape":[2]}}"#, data: eight),
             { if case .invalidHeader = $0 { true } else { false } }),
        ]
        for (label, bytes, matches) in cases {
            try withFile(bytes) { path in
                do {
                    _ = try SafetensorsFile(path: path)
                    Issue.record("\(label): accepted")
                } catch let error as ModelIOError {
                    #expect(matches(error), "\(label): got \(error)")
                    #expect(error.description.hasPrefix(path), "\(label): message must name the file")
                }
            }
        }
    }

    @Test func missingFileAndFolder() throws {
        #expect(throws: ModelIOError.fileNotFound(path: "/nonexistent/model.safetensors")) {
            try SafetensorsFile(path: "/nonexistent/model.safetensors")
        }
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ModelIOError.self) { try SafetensorsFile(path: folder.path) }
    }

    @Test func shardIndexErrors() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"weight_map": {"w": "../escape.safetensors"}}"#.utf8).write(to: index)
        #expect(throws: ModelIOError.self) { try ShardedSafetensors(indexPath: index.path) }
        try Data(#"{"weight_map": {"w": "absent.safetensors"}}"#.utf8).write(to: index)
        #expect(throws: ModelIOError.fileNotFound(path: folder.appendingPathComponent("absent.safetensors").path)) {
            try ShardedSafetensors(indexPath: index.path)
        }
        try Data(#"{"metadata": {}}"#.utf8).write(to: index)
        #expect(throws: ModelIOError.self) { try ShardedSafetensors(indexPath: index.path) }
    }
}

@Suite("Loading checks every key and shape")
struct WeightCheckTests {
    func config() throws -> (EncoderConfig, String) {
        let path = Fixtures.url("encoders/tiny-bert-cls/config.json").path
        return (try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: path)), path: path), path)
    }

    /// The tiny BERT's tensors, with `edit` applied, written to a temp file and loaded; also the file's path.
    func load(editing edit: (inout [SafetensorsWriter.Tensor]) -> Void) throws -> (Result<EncoderModel, Error>, String) {
        let source = try SafetensorsFile(path: Fixtures.url("encoders/tiny-bert-cls/model.safetensors").path)
        var tensors: [SafetensorsWriter.Tensor] = try source.tensorNames.compactMap { name in
            guard source.dtype(of: name)?.isFloatingPoint == true, let shape = source.shape(of: name) else { return nil }
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { try source.readFloats(name, into: $0.baseAddress!) }
            return .init(name: name, shape: shape, values: values)
        }
        edit(&tensors)
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try SafetensorsWriter.write(tensors, to: url)
        let (cfg, _) = try config()
        return (Result { try EncoderModel.load(config: cfg, source: try SafetensorsFile(path: url.path), sourceName: url.path) }, url.path)
    }

    @Test func missingTensorIsNamed() throws {
        let (result, path) = try load { $0.removeAll { $0.name == "bert.encoder.layer.1.attention.self.key.weight" } }
        guard case .failure(let error as EncoderError) = result else {
            Issue.record("expected missingWeight, got \(result)")
            return
        }
        #expect(error == .missingWeight(source: path, name: "bert.encoder.layer.1.attention.self.key.weight"))
    }

    @Test func misshapenTensorIsNamed() throws {
        var edited = false
        let (result, path) = try load { tensors in
            if let i = tensors.firstIndex(where: { $0.name == "bert.encoder.layer.0.intermediate.dense.weight" }) {
                tensors[i] = .init(name: tensors[i].name, shape: [48, 96], values: tensors[i].values)
                edited = true
            }
        }
        #expect(edited)
        guard case .failure(let error as EncoderError) = result else {
            Issue.record("expected weightShapeMismatch, got \(result)")
            return
        }
        #expect(
            error
                == .weightShapeMismatch(
                    source: path, name: "bert.encoder.layer.0.intermediate.dense.weight", expected: [96, 48], found: [48, 96]))
    }

    @Test func extraTensorsAreSkipped() throws {
        let (result, _) = try load { $0.append(.init(name: "lm_head.dense.weight", shape: [2], values: [1, 2])) }
        let model = try result.get()
        // The extra tensor changes nothing: the logits are transformers' (and those of the file without it).
        let expected = try Fixtures.json("encoders/tiny-bert-cls/expected.json")
        let b = expected["batch"] as? Int ?? 0
        let t = expected["seq_len"] as? Int ?? 0
        let types = expected["token_type_ids"].flatMap { $0 is NSNull ? nil : int32s($0) }
        let batch = try TokenBatch(
            batchSize: b, sequenceLength: t, inputIds: int32s(expected["input_ids"]),
            attentionMask: int32s(expected["attention_mask"]), tokenTypeIds: types)
        let logits = try model.classify(batch)
        let reference = floats(expected["logits"])
        #expect(reference.count == b * 3 && b > 0)
        #expect(maxAbsDifference(logits, reference) <= 1e-4)
        let plain = try load { _ in }.0.get()
        #expect(try plain.classify(batch) == logits)
        #expect(model.head?.labels == plain.head?.labels)
    }
}

@Suite("config.json")
struct ConfigTests {
    func decode(_ json: String) -> Result<EncoderConfig, Error> {
        Result { try EncoderConfig.decode(Data(json.utf8), path: "/m/config.json") }
    }

    static let base = #""model_type":"bert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2"#

    @Test func defaultsAndUnknownKeys() throws {
        let config = try decode("{\(Self.base),\"intermediate_size\":16,\"some_future_key\":[1,2],\"id2label\":{\"0\":\"neg\",\"1\":\"pos\"}}").get()
        #expect(config.layerNormEps == 1e-12)
        #expect(config.hiddenAct == .gelu)
        #expect(config.id2label == [0: "neg", 1: "pos"])
        #expect(config.padTokenId == 0)
    }

    @Test(arguments: [
        ("{\(base)}", "missing required key 'intermediate_size'"),
        ("{\(base),\"intermediate_size\":\"16\"}", "'intermediate_size' has the wrong type"),
        ("{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":3,\"intermediate_size\":16}", "not a multiple"),
        ("[1]", "wrong type"),
        ("not json", "not valid JSON"),
    ])
    func invalidConfigsNameTheProblem(json: String, fragment: String) {
        guard case .failure(let error as EncoderError) = decode(json), case .invalidConfig(let path, let detail) = error else {
            Issue.record("accepted: \(json)")
            return
        }
        #expect(path == "/m/config.json")
        #expect(detail.contains(fragment), "\(detail)")
    }

    /// Valid values of a family we do not run are "unsupported", not "invalid".
    @Test(arguments: [
        ("{\(base),\"intermediate_size\":16,\"hidden_act\":\"swish\"}",
         "hidden_act 'swish' (this version runs gelu, gelu_new, gelu_pytorch_tanh)"),
        ("{\(base),\"intermediate_size\":16,\"position_embedding_type\":\"relative_key\"}",
         "position_embedding_type 'relative_key' (this version runs absolute)"),
        ("{\"model_type\":\"gpt2\"}", "model_type 'gpt2' (this version runs bert, roberta)"),
    ])
    func unsupportedValuesAreNamed(json: String, detail: String) {
        #expect(throws: EncoderError.unsupported(path: "/m/config.json", detail: detail)) { try decode(json).get() }
    }
}
