import Foundation
import TestSupport
import Testing

/// `adapters train`, `evaluate` and `predict --adapter` on the real MiniLM and a slice of Rotten
/// Tomatoes, including a run killed with SIGKILL and resumed.
@Suite("adapters train / evaluate", .serialized)
struct TrainCLITests {
    let cli = CLITests()

    func slice(_ lines: Int, from file: String, into folder: URL, name: String) throws -> String {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent(file), encoding: .utf8)
        let all = text.split(separator: "\n")
        // Both classes: take from the start and the end.
        let picked = all.prefix(lines / 2) + all.suffix(lines / 2)
        let url = folder.appendingPathComponent(name)
        try (picked.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func trainArguments(_ train: String, output: URL, steps: Int) -> [String] {
        [
            "train", "--train", train, "--method", "seq_bn", "--adapter-name", "rt", "--label-names", "negative,positive",
            "--max-steps", String(steps), "--batch-size", "8", "--max-length", "32", "--learning-rate", "1e-3",
            "--save-every", "2", "--log-every", "2", "--output", output.path,
        ]
    }

    /// Parquet in amazon_polarity's layout: streamed into the token cache once, reused by the next
    /// run and by evaluate; labels from the file's ClassLabel names.
    @Test func trainOnParquetThroughTheTokenCache() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let parquet = Fixtures.url("datasets/amazon_polarity_sample.parquet").path
        let cache = tmp.appendingPathComponent("tokens")
        func train(_ name: String) throws -> CLITests.Run {
            try cli.run([
                "train", "--train", parquet, "--text-field", "content", "--amazon-title", "--method", "seq_bn",
                "--adapter-name", "ap", "--max-steps", "2", "--batch-size", "8", "--max-length", "32",
                "--token-cache", cache.path, "--output", tmp.appendingPathComponent(name).path,
            ])
        }
        var r = try train("first")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tokenized into the cache"))
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(files.count == 1 && files[0].hasSuffix(".tokens"))
        r = try train("second")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("reusing the token cache"))
        let head = try JSONSerialization.jsonObject(
            with: Data(contentsOf: tmp.appendingPathComponent("second/ap/head_config.json"))) as? [String: Any]
        let config = head?["config"] as? [String: Any]
        #expect((config?["label2id"] as? [String: Int]) == ["negative": 0, "positive": 1])
        r = try cli.run([
            "evaluate", "--adapter", tmp.appendingPathComponent("second/ap").path, "--data", parquet, "--text-field", "content",
            "--amazon-title", "--max-length", "32", "--token-cache", cache.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"accuracy\""))
        // A column the file lacks names the file and the columns it has.
        r = try cli.run([
            "train", "--train", parquet, "--method", "head", "--output", tmp.appendingPathComponent("bad").path,
            "--token-cache", cache.path,
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("amazon_polarity_sample.parquet") && r.stderr.contains("\"content\""))
    }

    @Test func trainEvaluatePredictAndResumeAfterKill() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let train = try slice(64, from: "data/rotten_tomatoes/train.jsonl", into: tmp, name: "train.jsonl")
        let test = try slice(32, from: "data/rotten_tomatoes/test.jsonl", into: tmp, name: "test.jsonl")

        // Uninterrupted run.
        let a = tmp.appendingPathComponent("a")
        var r = try cli.run(trainArguments(train, output: a, steps: 12) + ["--eval", test])
        #expect(r.status == 0, "\(r.stderr)")
        let saved = a.appendingPathComponent("rt")
        for file in ["adapter_config.json", "adapter.safetensors", "head_config.json", "model_head.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: saved.appendingPathComponent(file).path), "\(file) missing")
        }
        let log = try String(contentsOf: a.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        #expect(log.split(separator: "\n").count == 7)  // 6 step lines (every 2 of 12) and the final eval
        #expect(log.contains("\"grad_norm\"") && log.contains("eval_accuracy"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: a.appendingPathComponent("summary.json"))) as? [String: Any]
        #expect(summary?["steps"] as? Int == 12)

        // Killed mid-run (SIGKILL once a checkpoint exists), then resumed: the same adapter bytes.
        let b = tmp.appendingPathComponent("b")
        let killedLog = tmp.appendingPathComponent("killed.stderr")
        FileManager.default.createFile(atPath: killedLog.path, contents: nil)
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = trainArguments(train, output: b, steps: 12)
        process.currentDirectoryURL = Fixtures.repositoryRoot
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: killedLog)
        try process.run()
        let checkpoints = b.appendingPathComponent("checkpoints")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
            if names.contains(where: { $0.hasPrefix("step-") }) { break }
            usleep(20_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let killedStderr = (try? String(contentsOf: killedLog, encoding: .utf8)) ?? ""
        // The kill happened, before the end of training: no final adapter or summary, a checkpoint before step 12.
        #expect(
            process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
            "the run was not killed: \(process.terminationReason) \(process.terminationStatus)\n\(killedStderr)")
        #expect(!FileManager.default.fileExists(atPath: b.appendingPathComponent("summary.json").path))
        #expect(!FileManager.default.fileExists(atPath: b.appendingPathComponent("rt").path))
        let leftSteps = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [])
            .filter { $0.hasPrefix("step-") }.compactMap { Int($0.dropFirst("step-".count)) }.sorted()
        let resumeStep = try #require(leftSteps.last, "no checkpoint left by the killed run\n\(killedStderr)")
        #expect(resumeStep > 0 && resumeStep < 12 && resumeStep % 2 == 0, "checkpoints left: \(leftSteps)")

        r = try cli.run(trainArguments(train, output: b, steps: 12) + ["--resume"])
        #expect(r.status == 0, "\(r.stderr)")
        // It continued from the latest checkpoint: says so, and logs only the steps after it.
        #expect(r.stderr.contains("resuming from step \(resumeStep) of 12"), "\(r.stderr)")
        let loggedSteps = r.stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("step "), let slash = line.firstIndex(of: "/") else { return nil }
            return Int(line[line.index(line.startIndex, offsetBy: 5)..<slash])
        }
        #expect(loggedSteps == Array(stride(from: resumeStep + 2, through: 12, by: 2)), "\(r.stderr)")
        let resumedSummary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: b.appendingPathComponent("summary.json"))) as? [String: Any]
        #expect(resumedSummary?["steps"] as? Int == 12)
        for file in ["adapter.safetensors", "model_head.safetensors"] {
            let x = try Data(contentsOf: saved.appendingPathComponent(file))
            let y = try Data(contentsOf: b.appendingPathComponent("rt").appendingPathComponent(file))
            #expect(!x.isEmpty)
            #expect(x == y, "\(file) differs between the uninterrupted and the resumed run")
        }

        // evaluate and predict with the adapter.
        r = try cli.run(["evaluate", "--adapter", saved.path, "--data", test, "--max-length", "32"])
        #expect(r.status == 0, "\(r.stderr)")
        let metrics = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((metrics?["examples"] as? Int) == 32)
        for key in ["accuracy", "macro_f1"] {
            let value = try #require(metrics?[key] as? Double, "\(key) missing: \(r.stdout)")
            #expect((0...1).contains(value), "\(key) \(value)")
        }
        let input = tmp.appendingPathComponent("in.txt")
        try "a wonderful film\na boring mess\n".write(to: input, atomically: true, encoding: .utf8)
        r = try cli.run(["predict", "--adapter", saved.path, "--input", input.path])
        #expect(r.status == 0, "\(r.stderr)")
        let predictions = r.stdout.split(separator: "\n")
        #expect(predictions.count == 2, "\(r.stdout)")
        #expect(
            predictions.allSatisfy { $0.contains("\"label\":\"negative\"") || $0.contains("\"label\":\"positive\"") },
            "\(r.stdout)")
    }

    /// `--method` takes AdapterHub config strings and `--adapter-config` a config file; the folders they
    /// write describe themselves (`adapter info`) and predict.
    @Test func configStringsAndConfigFiles() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let train = try slice(16, from: "data/rotten_tomatoes/train.jsonl", into: tmp, name: "train.jsonl")
        func run(_ method: [String], _ name: String) throws -> URL {
            var args = trainArguments(train, output: tmp.appendingPathComponent(name), steps: 2)
            let i = args.firstIndex(of: "--method") ?? 0
            args.removeSubrange(i...(i + 1))
            let r = try cli.run(args + method)
            #expect(r.status == 0, "\(r.stderr)")
            return tmp.appendingPathComponent(name).appendingPathComponent("rt")
        }
        let parallel = try run(["--method", "par_bn[reduction_factor=8,scaling=learned]"], "par")
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: parallel.appendingPathComponent("adapter_config.json"))) as? [String: Any]
        let inner = config?["config"] as? [String: Any]
        #expect(inner?["is_parallel"] as? Bool == true && inner?["scaling"] as? String == "learned")
        #expect((inner?["reduction_factor"] as? NSNumber)?.intValue == 8)
        var info = try cli.run(["adapter", "info", parallel.path])
        #expect(info.stdout.contains("par_bn / He et al., beside FFN output"), "\(info.stdout)")
        #expect(info.stdout.contains("scaling \"learned\""), "\(info.stdout)")

        // The same configuration from its adapter_config.json: the same file again.
        let fromFile = try run(["--adapter-config", parallel.appendingPathComponent("adapter_config.json").path], "file")
        #expect(
            try Data(contentsOf: fromFile.appendingPathComponent("adapter_config.json"))
                == (try Data(contentsOf: parallel.appendingPathComponent("adapter_config.json"))))

        let ia3 = try run(["--method", "ia3"], "ia3")
        info = try cli.run(["adapter", "info", ia3.path])
        #expect(info.stdout.contains("(IA)³: scales the outputs of k,v,intermediate"), "\(info.stdout)")
        let summary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: tmp.appendingPathComponent("ia3/summary.json"))) as? [String: Any]
        #expect(summary?["method"] as? String == "ia3")
        let input = tmp.appendingPathComponent("in.txt")
        try "A fine film.\nA dull one.\n".write(to: input, atomically: true, encoding: .utf8)
        let predicted = try cli.run(["predict", "--model", Fixtures.miniLM.path, "--adapter", ia3.path, "--input", input.path])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        #expect(predicted.stdout.split(separator: "\n").count == 2)

        // Prefix tuning in a union (MAM-like), then its MLP ejected: the same predictions from the flat prefix.
        let mam = try run(["--method", "prefix_tuning[prefix_length=4,bottleneck_size=32]|par_bn[reduction_factor=16]"], "mam")
        info = try cli.run(["adapter", "info", mam.path])
        #expect(info.stdout.contains("prefix tuning: 4 keys and values per attention layer, from a 32-wide tanh MLP"), "\(info.stdout)")
        let flat = tmp.appendingPathComponent("mam-flat")
        let ejected = try cli.run(["adapter", "eject-prefix", "--model", Fixtures.miniLM.path, "--adapter", mam.path, "--output", flat.path])
        #expect(ejected.status == 0, "\(ejected.stderr)")
        info = try cli.run(["adapter", "info", flat.path])
        #expect(info.stdout.contains("prefix tuning: 4 keys and values per attention layer, trained directly (flat)"), "\(info.stdout)")
        func logits(_ adapter: URL) throws -> [[Double]] {
            let r = try cli.run(["predict", "--model", Fixtures.miniLM.path, "--adapter", adapter.path, "--input", input.path])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").map { line in
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return (object?["logits"] as? [NSNumber] ?? []).map(\.doubleValue)
            }
        }
        let (before, after) = (try logits(mam), try logits(flat))
        #expect(before.count == 2 && before.map(\.count) == after.map(\.count))
        for (a, b) in zip(before.joined(), after.joined()) { #expect(abs(a - b) <= 1e-4) }
        let refused = try cli.run(["adapter", "eject-prefix", "--model", Fixtures.miniLM.path, "--adapter", flat.path, "--output", tmp.appendingPathComponent("again").path])
        #expect(refused.status != 0 && refused.stderr.contains("has no prefix tuning with a control_trans MLP to eject"), "\(refused.stderr)")
    }

    @Test func trainingErrorsAreClear() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let train = try slice(16, from: "data/rotten_tomatoes/train.jsonl", into: tmp, name: "train.jsonl")
        // Empty dataset.
        let empty = tmp.appendingPathComponent("empty.jsonl")
        try Data().write(to: empty)
        var r = try cli.run(["train", "--train", empty.path, "--output", tmp.appendingPathComponent("o").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("empty.jsonl"))
        // Unknown label column.
        r = try cli.run(["train", "--train", train, "--label-field", "sentiment", "--output", tmp.appendingPathComponent("o").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("sentiment"))
        // Output below a regular file.
        let file = tmp.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        r = try cli.run(["train", "--train", train, "--max-steps", "1", "--output", file.appendingPathComponent("out").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains(file.path))
        // Bad flags.
        r = try cli.run(["train", "--train", train, "--output", "x", "--method", "mtl_lora"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("'method' = \"mtl_lora\" is not supported"), "\(r.stderr)")
        r = try cli.run(["train", "--train", train, "--output", "x", "--method", "seq_bn[reduction_factr=8]"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unknown field 'reduction_factr'"), "\(r.stderr)")
        r = try cli.run(["train", "--train", train, "--output", "x", "--method", "ia3", "--reduction-factor", "4"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--reduction-factor applies to bottleneck methods, not ia3"), "\(r.stderr)")
        let badConfig = tmp.appendingPathComponent("bad_config.json")
        try #"{"config": {"architecture": "prefix_tuning", "prefix_length": 0}}"#.write(to: badConfig, atomically: true, encoding: .utf8)
        r = try cli.run(["train", "--train", train, "--output", "x", "--adapter-config", badConfig.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("bad_config.json") && r.stderr.contains("prefix_length 0"), "\(r.stderr)")
        r = try cli.run(["train", "--train", train, "--output", "x", "--lora-r", "4"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--lora-r"), "\(r.stderr)")
        // Labels outside the head at evaluation.
        let out = tmp.appendingPathComponent("run")
        r = try cli.run(trainArguments(train, output: out, steps: 1))
        #expect(r.status == 0, "\(r.stderr)")
        let odd = tmp.appendingPathComponent("odd.jsonl")
        try "{\"text\": \"fine\", \"label\": 7}\n".write(to: odd, atomically: true, encoding: .utf8)
        r = try cli.run(["evaluate", "--adapter", out.appendingPathComponent("rt").path, "--data", odd.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("odd.jsonl"))
    }
}
