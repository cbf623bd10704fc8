import Foundation
import TestSupport
import Testing

/// Runs the built `adapters` executable (scripts/test.sh builds it first) and checks its output
/// and its errors as a user would see them.
@Suite("adapters CLI", .serialized)
struct CLITests {
    init() {}

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["ADAPTERS_BIN"] { return URL(fileURLWithPath: path) }
        return Fixtures.repositoryRoot.appendingPathComponent(".build/debug/adapters")
    }

    func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Run {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary.path),
            "build the CLI first (swift build --product adapters), or set ADAPTERS_BIN")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Fixtures.repositoryRoot
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func write(_ text: String, name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func inspectDescribesTheModel() throws {
        let r = try run(["inspect", Fixtures.url("encoders/tiny-roberta-cls").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("roberta (RobertaForSequenceClassification)"))
        #expect(r.stdout.contains("negative, neutral, positive"))
        #expect(r.stdout.contains("F32"))
    }

    /// `--adapter` twice runs AdapterHub's Stack (Python-saved adapters and logits).
    @Test func predictWithStackedAdaptersMatchesPython() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try Fixtures.json("lifecycle/stack_mixed/expected.json")
        let ids = (expected["input_ids"] as? [Any] ?? []).map(int32s)
        let masks = (expected["attention_mask"] as? [Any] ?? []).map(int32s)
        let lines = zip(ids, masks).map { "{\"input_ids\": \($0.0), \"attention_mask\": \($0.1)}" }.joined(separator: "\n")
        let input = try write(lines + "\n", name: "in.jsonl", in: folder)
        let stack = Fixtures.url("lifecycle/stack_mixed")
        let r = try run([
            "predict", "--model", Fixtures.url("training/base-roberta").path, "--input", input,
            "--adapter", stack.appendingPathComponent("lang").path, "--adapter", stack.appendingPathComponent("task").path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let produced = r.stdout.split(separator: "\n")
        let reference = (expected["stack_logits"] as? [Any] ?? []).map(floats)
        #expect(reference.count == 2 && reference.allSatisfy { !$0.isEmpty })
        #expect(produced.count == reference.count, "\(r.stdout)")
        for (line, ref) in zip(produced, reference) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(maxAbsDifference(floats(object["logits"]), ref) <= 1e-4)
        }
        // The head is the last adapter's: `lang` has none.
        let wrongOrder = try run([
            "predict", "--model", Fixtures.url("training/base-roberta").path, "--input", input,
            "--adapter", stack.appendingPathComponent("task").path, "--adapter", stack.appendingPathComponent("lang").path,
        ])
        #expect(wrongOrder.status != 0)
        #expect(wrongOrder.stderr.contains("has no head_config.json"))
    }

    /// Without the default in the cache (and offline), the error says where it looked and what to run.
    @Test func aMissingDefaultModelSaysWhatToDo() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = try write("a film\n", name: "s.txt", in: folder)
        let r = try run(["predict", "--input", input], environment: ["HF_HUB_CACHE": folder.path, "HF_HUB_OFFLINE": "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("the built-in default model sentence-transformers/all-MiniLM-L6-v2 is not in the Hugging Face cache (\(folder.path))"), "\(r.stderr)")
        #expect(r.stderr.contains("run scripts/setup.sh, or pass --model"))
    }

    /// A Python-saved folder whose head file also holds a prefix-sharing neighbour's head (issue #12):
    /// `predict --adapter` gives Python's logits and names the skipped tensors once on stderr.
    @Test func predictWithANeighboursTensorsInTheHeadFile() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try Fixtures.json("adapterhub/shared-prefix/expected.json")
        let ids = (expected["input_ids"] as? [Any] ?? []).map(int32s)
        let masks = (expected["attention_mask"] as? [Any] ?? []).map(int32s)
        let lines = zip(ids, masks).map { "{\"input_ids\": \($0.0), \"attention_mask\": \($0.1)}" }.joined(separator: "\n")
        let input = try write(lines + "\n", name: "in.jsonl", in: folder)
        let r = try run([
            "predict", "--model", Fixtures.url("training/base-roberta").path, "--input", input,
            "--adapter", Fixtures.url("adapterhub/shared-prefix/pickle/sst_lora").path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let reference = ((expected["logits"] as? [String: Any])?["sst_lora"] as? [Any] ?? []).flatMap(floats)
        let produced = try r.stdout.split(separator: "\n").flatMap { line in
            floats((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["logits"])
        }
        #expect(!reference.isEmpty)
        #expect(produced.count == reference.count, "\(r.stdout)")
        #expect(maxAbsDifference(produced, reference) <= 1e-4)
        #expect(r.stderr.components(separatedBy: "heads.sst_lora_r4a16.4.weight").count == 2, "\(r.stderr)")
    }

    /// A damaged config.json (issue #12) is a one-line error naming the file and key, never an abort.
    @Test func anAbsurdConfigSizeIsAnError() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.url("encoders/tiny-roberta-cls"), to: model)
        let configURL = model.appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
            .replacingOccurrences(of: "\"vocab_size\": 120", with: "\"vocab_size\": 1000000000000")
        try Data(text.utf8).write(to: configURL)
        let input = try write("{\"input_ids\": [0, 5, 2]}\n", name: "in.jsonl", in: folder)
        let r = try run(["predict", "--model", model.path, "--input", input])
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("\(configURL.path): invalid model config: vocab_size 1000000000000 is beyond"))
        #expect(!r.stderr.contains("Fatal error"))
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func predictPreTokenizedMatchesTransformers() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try Fixtures.json("encoders/tiny-roberta-cls/expected.json")
        let t = expected["seq_len"] as? Int ?? 0
        let ids = int32s(expected["input_ids"])
        let mask = int32s(expected["attention_mask"])
        var lines = ""
        for b in 0..<(ids.count / max(t, 1)) {
            let row = (0..<t).filter { mask[b * t + $0] == 1 }.map { ids[b * t + $0] }
            lines += "{\"input_ids\": \(row)}\n"
        }
        let input = try write(lines, name: "in.jsonl", in: folder)
        let output = folder.appendingPathComponent("out.jsonl").path
        let r = try run(["predict", "--model", Fixtures.url("encoders/tiny-roberta-cls").path, "--input", input, "--output", output, "--batch-size", "3", "--top-k", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let produced = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        let logits = floats(expected["logits"])
        #expect(logits.count == 12)  // 4 inputs × 3 labels
        #expect(produced.count == logits.count / 3)
        for (b, line) in produced.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let got = floats(object["logits"])
            let ref = Array(logits[b * 3..<(b + 1) * 3])
            #expect(maxAbsDifference(got, ref) <= 1e-4)
            let best = ref.indices.max { ref[$0] < ref[$1] } ?? 0
            #expect(object["label"] as? String == ["negative", "neutral", "positive"][best])
            let score = (object["score"] as? NSNumber)?.floatValue ?? -1
            #expect(score > 1.0 / 3 && score <= 1)
            let top = object["top_k"] as? [[String: Any]] ?? []
            #expect(top.count == 2)
            #expect(top.first?["label"] as? String == object["label"] as? String)
            let scores = top.compactMap { ($0["score"] as? NSNumber)?.floatValue }
            #expect(scores.count == 2 && scores[0] >= scores[1] && scores[0] == score)
        }
    }

    @Test func errorsNameTheFileAndProblem() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Fixtures.url("encoders/tiny-roberta-cls").path

        var r = try run(["inspect", "/no/such/model"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/no/such/model: no such model folder"))

        let bad = try write("{\"input_ids\": [0, 5, 2]}\n{\"input_ids\": [0, 5\n", name: "bad.jsonl", in: folder)
        r = try run(["predict", "--model", model, "--input", bad])
        #expect(r.status != 0)
        #expect(r.stderr.contains("bad.jsonl:2: not a JSON object"))

        let unknown = try write("{\"input_ids\": [0, 500, 2]}\n", name: "oov.jsonl", in: folder)
        r = try run(["predict", "--model", model, "--input", unknown])
        #expect(r.status != 0)
        #expect(r.stderr.contains("outside the vocabulary"))

        let text = try write("hello\n", name: "t.txt", in: folder)
        r = try run(["predict", "--model", model, "--input", text])
        #expect(r.status != 0)
        #expect(r.stderr.contains("needs tokenizer files"), "\(r.stderr)")

        r = try run(["predict", "--model", model, "--input", text, "--batch-size", "0"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--batch-size must be at least 1"))

        let empty = try write("", name: "empty.jsonl", in: folder)
        r = try run(["predict", "--model", model, "--input", empty])
        #expect(r.status != 0)
        #expect(r.stderr.contains("empty.jsonl: no inputs"), "\(r.stderr)")

        var invalid = Data("{\"text\": \"ok\"}\n".utf8)
        invalid.append(contentsOf: [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])
        let binary = folder.appendingPathComponent("latin1.jsonl")
        try invalid.write(to: binary)
        r = try run(["embed", "--model", model, "--input", binary.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("latin1.jsonl:2: not valid UTF-8"), "\(r.stderr)")

        r = try run(["bench", "inference", "--rounds", "0", "--no-baseline"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--rounds must be at least 1"))

        // A broken config.json is reported with its path.
        let broken = folder.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("{\"model_type\": \"roberta\"}".utf8).write(to: broken.appendingPathComponent("config.json"))
        r = try run(["inspect", broken.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("config.json: invalid model config: missing required key 'vocab_size'"))

        // An output file is not created when the run fails.
        let out = folder.appendingPathComponent("never.jsonl")
        r = try run(["predict", "--model", model, "--input", unknown, "--output", out.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("outside the vocabulary"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func embedWithTheBuiltInModel() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try Fixtures.json("encoders/minilm_embeddings.json")
        let sentences = (reference["sentences"] as? [String]) ?? []
        let input = try write(sentences.joined(separator: "\n") + "\n", name: "s.txt", in: folder)
        // From a folder that is not the checkout: the default lives in the HF cache, read with no request.
        let r = try run(["embed", "--input", "s.txt"], environment: ["HF_ENDPOINT": "http://127.0.0.1:9"], in: folder)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        let expected = (reference["embeddings"] as? [Any] ?? []).map(floats)
        #expect(expected.count == 10 && expected.allSatisfy { $0.count == 384 })
        #expect(lines.count == expected.count, "\(r.stdout)")
        for (line, ref) in zip(lines, expected) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(maxAbsDifference(floats(object["embedding"]), ref) <= 1e-4)
        }
    }
}

/// `--precision` through the CLI: bf16 embeddings within cosine 0.999 of fp32 with the real MiniLM,
/// `auto` saying once what it chose, a bad value refused with the choices.
@Suite("bf16 through the CLI")
struct PrecisionCLITests {
    @Test func embedInEveryPrecision() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let cli = CLITests()
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try Fixtures.json("encoders/minilm_embeddings.json")
        let sentences = (reference["sentences"] as? [String]) ?? []
        _ = try cli.write(sentences.joined(separator: "\n") + "\n", name: "s.txt", in: folder)
        func embed(_ precision: String) throws -> (CLITests.Run, [[Float]]) {
            let r = try cli.run(["embed", "--input", "s.txt", "--precision", precision], environment: ["HF_ENDPOINT": "http://127.0.0.1:9"], in: folder)
            let vectors = try r.stdout.split(separator: "\n").map { line in
                floats((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["embedding"])
            }
            return (r, vectors)
        }
        let (r32, fp32) = try embed("fp32")
        #expect(r32.status == 0, "\(r32.stderr)")
        #expect(fp32.count == sentences.count)
        let (rAuto, auto) = try embed("auto")
        #expect(rAuto.status == 0, "\(rAuto.stderr)")
        #expect(rAuto.stderr.contains("precision auto:"), "\(rAuto.stderr)")
        #expect(auto.count == sentences.count)
        let (r16, bf16) = try embed("bf16")
        if r16.status != 0 {
            // A CPU without bf16 units (or a build without oneDNN) refuses, naming what is missing.
            #expect(r16.stderr.contains("bf16 precision is not available here"), "\(r16.stderr)")
            return
        }
        #expect(bf16.count == fp32.count)
        for (a, b) in zip(fp32, bf16) {
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let cosine = dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
            #expect(cosine >= 0.999)
        }
        #expect(fp32 != bf16, "bf16 gave fp32's exact numbers")
        let bad = try embed("fp16").0
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("fp32") && bad.stderr.contains("bf16") && bad.stderr.contains("auto"), "\(bad.stderr)")
    }
}

/// `tokenize` keeps what starts or ends a text — U+FEFF included — in JSONL (raw or escaped) and
/// `.txt` input, and skips only a BOM at the start of the file (issue #12).
@Suite("Invisible characters through the CLI")
struct InvisibleCharacterCLITests {
    @Test(arguments: ["data.jsonl", "data-escaped.jsonl", "bom.jsonl", "lines.txt", "bom.txt"])
    func tokenizeGivesHFsIds(file: String) throws {
        let json = try Fixtures.json("invisible/texts.json")
        // `.txt` holds one text a line: the texts without line breaks, after a plain first line (a file
        // starting with EF BB BF starts with a BOM); bom.txt is those texts after a real BOM.
        let isText = file.hasSuffix(".txt")
        for model in ["roberta-base", "minilm"] {
            var expected = ((json[isText ? "txt_ids" : "ids"] as? [String: Any])?[model] as? [Any] ?? []).map(int32s)
            if file == "bom.txt" { expected.removeFirst() }
            #expect(expected.count >= 20)
            let r = try CLITests().run([
                "tokenize", "--model", Fixtures.url("tokenizers/\(model)").path, "--input",
                Fixtures.url("invisible/\(file)").path,
            ])
            #expect(r.status == 0, "\(r.stderr)")
            let produced = try r.stdout.split(separator: "\n").map { line in
                int32s((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["input_ids"])
            }
            #expect(produced == expected, "\(model) \(file)")
        }
    }
}
