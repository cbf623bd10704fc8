import Foundation
import TestSupport
import Testing

/// `train`, `evaluate` and `predict` with regression, multi-label and tagging heads on the real MiniLM,
/// on Rotten Tomatoes sentences with labels derived from the text (what each head is asked to learn is
/// checked by the parity fixtures; here the CLI's plumbing: files read per task, head configs written as
/// AdapterHub writes them, metrics and output lines per task, errors that name the file).
@Suite("adapters train / evaluate / predict for other tasks", .serialized)
struct TaskCLITests {
    let cli = CLITests()

    /// Sentences of Rotten Tomatoes' training file.
    func sentences(_ count: Int) throws -> [String] {
        let text = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("data/rotten_tomatoes/train.jsonl"),
            encoding: .utf8)
        return text.split(separator: "\n").prefix(count).compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["text"] as? String
        }
    }

    func write(_ lines: [String], _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func tag(_ word: String) -> String {
        word.unicodeScalars.allSatisfy({ CharacterSet.punctuationCharacters.contains($0) }) ? "B-PUNCT" : "O"
    }

    @Test func taggingTrainsFromJSONLAndEvaluatesOnCoNLL() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let texts = try sentences(48)
        let jsonl = try write(
            try texts.map { t in
                let words = t.split(separator: " ").map(String.init)
                return try json(["tokens": words, "tags": words.map(Self.tag)])
            }, "ner.jsonl", in: tmp)
        let conll = try write(
            texts.map { t in
                t.split(separator: " ").map { "\($0) X \(Self.tag(String($0)))" }.joined(separator: "\n") + "\n"
            },
            "ner.conll", in: tmp)
        let out = tmp.appendingPathComponent("run")
        var r = try cli.run([
            "train", "--task", "tagging", "--train", jsonl, "--eval", conll, "--method", "seq_bn", "--adapter-name",
            "ner",
            "--max-steps", "4", "--batch-size", "8", "--max-length", "48", "--output", out.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("eval at step 4: f1"), "\(r.stderr)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json")))
            as? [String: Any]
        #expect(summary?["task"] as? String == "tagging")
        let eval = summary?["eval"] as? [String: Any]
        #expect(eval?["f1"] != nil && eval?["precision"] != nil && eval?["accuracy"] != nil, "\(eval ?? [:])")
        let head =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("ner/head_config.json")))
            as? [String: Any]
        let config = head?["config"] as? [String: Any]
        #expect(config?["head_type"] as? String == "tagging" && config?["layers"] as? Int == 1)
        #expect((config?["label2id"] as? [String: Int]) == ["B-PUNCT": 0, "O": 1])

        // evaluate reads the data for the head's task without --task; CoNLL is found by its extension.
        let predictions = tmp.appendingPathComponent("p.jsonl")
        r = try cli.run([
            "evaluate", "--adapter", out.appendingPathComponent("ner").path, "--data", conll, "--max-length", "48",
            "--predictions", predictions.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"task\" : \"tagging\"") && r.stdout.contains("\"f1\""), "\(r.stdout)")
        let first =
            try String(contentsOf: predictions, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        let line = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        #expect((line?["label"] as? [String])?.count == texts[0].split(separator: " ").count)

        // predict: one object per text, a tag per non-special token, logits per attended token.
        let input = try write(["The film , said Bob , was fine ."], "in.txt", in: tmp)
        r = try cli.run(["predict", "--adapter", out.appendingPathComponent("ner").path, "--input", input])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let tokens = p?["tokens"] as? [[String: Any]] ?? []
        #expect(tokens.count == 9, "\(r.stdout)")
        #expect(tokens.first?["word"] as? String == "the" && tokens.first?["index"] as? Int == 1)
        #expect((p?["logits"] as? [[Double]])?.count == 11)
        // The pipeline's entities: per token without "O" (none), or grouped with character spans (simple).
        let sentence = "The film , said Bob , was fine ."
        let none = (p?["entities"] as? [[String: Any]]) ?? []
        #expect(none.allSatisfy { $0["entity"] as? String == "B-PUNCT" && $0["index"] != nil }, "\(r.stdout)")
        r = try cli.run([
            "predict", "--adapter", out.appendingPathComponent("ner").path, "--input", input, "--aggregation-strategy", "simple",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let grouped = ((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["entities"] as? [[String: Any]]) ?? []
        let scalars = Array(sentence.unicodeScalars)
        for e in grouped {
            let (s, t) = (e["start"] as? Int ?? -1, e["end"] as? Int ?? -1)
            #expect(e["entity_group"] as? String == "PUNCT" && s >= 0 && t <= scalars.count && s < t, "\(e)")
            if s >= 0 && t <= scalars.count && s < t {
                #expect(String(String.UnicodeScalarView(scalars[s..<t])).lowercased() == (e["word"] as? String), "\(e)")
            }
        }
        r = try cli.run([
            "predict", "--adapter", out.appendingPathComponent("ner").path, "--input", input, "--aggregation-strategy", "most",
        ])
        #expect(r.status != 0 && r.stderr.contains("aggregation-strategy"), "\(r.stderr)")
    }

    @Test func questionAnsweringTrainsEvaluatesAndAnswers() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let squad = Fixtures.repositoryRoot.appendingPathComponent("data/squad")
        let out = tmp.appendingPathComponent("run")
        var r = try cli.run([
            "train", "--task", "question_answering", "--train", squad.appendingPathComponent("train.json").path,
            "--eval", squad.appendingPathComponent("dev.json").path, "--max-examples", "16", "--adapter-name", "qa",
            "--max-steps", "3", "--batch-size", "8", "--max-length", "96", "--doc-stride", "24", "--output", out.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        let eval = summary?["eval"] as? [String: Any]
        #expect(summary?["task"] as? String == "question_answering")
        #expect(eval?["exact_match"] != nil && eval?["f1"] != nil && eval?["examples"] as? Int == 16, "\(eval ?? [:])")
        let head =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("qa/head_config.json")))
            as? [String: Any]
        let config = head?["config"] as? [String: Any]
        #expect(config?["head_type"] as? String == "question_answering" && config?["num_labels"] as? Int == 2)
        #expect(config?["layers"] as? Int == 1 && config?["label2id"] is NSNull, "\(config ?? [:])")

        // evaluate: SQuAD scores without --task, one prediction line per question.
        let predictions = tmp.appendingPathComponent("p.jsonl")
        r = try cli.run([
            "evaluate", "--adapter", out.appendingPathComponent("qa").path, "--data", squad.appendingPathComponent("dev.json").path,
            "--max-examples", "10", "--max-length", "96", "--doc-stride", "24", "--predictions", predictions.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"exact_match\"") && r.stdout.contains("\"task\" : \"question_answering\""), "\(r.stdout)")
        let lines = try String(contentsOf: predictions, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10)
        let line = try JSONSerialization.jsonObject(with: Data((lines.first.map(String.init) ?? "").utf8)) as? [String: Any]
        #expect(line?["id"] as? String == "570d2417fed7b91900d45c3d" && (line?["label"] as? [String])?.isEmpty == false, "\(line ?? [:])")

        // predict: the pipeline's answer, a span of the context, and each window's logits.
        let context = "Victoria is a state in southeast Australia. Melbourne is its capital and largest city."
        let input = try write([try json(["question": "What is the capital of Victoria?", "context": context])], "q.jsonl", in: tmp)
        r = try cli.run([
            "predict", "--adapter", out.appendingPathComponent("qa").path, "--input", input, "--max-length", "24",
            "--doc-stride", "4",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let (s, e) = (p?["start"] as? Int ?? -1, p?["end"] as? Int ?? -1)
        let scalars = Array(context.unicodeScalars)
        #expect(s >= 0 && e <= scalars.count && s < e, "\(r.stdout)")
        if s >= 0 && e <= scalars.count && s < e {
            #expect(String(String.UnicodeScalarView(scalars[s..<e])) == p?["answer"] as? String)
        }
        #expect(((p?["start_logits"] as? [[Double]])?.count ?? 0) > 1, "a 24-token window cannot hold the context: \(r.stdout)")

        // Bad input names the file and the example.
        let bad = try write(["{\"question\": \"why?\"}"], "bad.jsonl", in: tmp)
        r = try cli.run(["predict", "--adapter", out.appendingPathComponent("qa").path, "--input", bad])
        #expect(r.status != 0 && r.stderr.contains("bad.jsonl: line 1: has no \"context\" string"), "\(r.stderr)")
        r = try cli.run([
            "train", "--task", "question_answering", "--train", squad.appendingPathComponent("train.json").path,
            "--max-length", "64", "--doc-stride", "64", "--output", tmp.appendingPathComponent("x").path,
        ])
        #expect(r.status != 0 && r.stderr.contains("--doc-stride"), "\(r.stderr)")
    }

    @Test func regressionAndMultilabelTrainEvaluateAndPredict() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let texts = try sentences(40)
        // Regression from CSV: a number per sentence.
        let csv = try write(
            ["text,score"]
                + texts.map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\",\(Double($0.count) / 50)" },
            "sts.csv", in: tmp)
        let reg = tmp.appendingPathComponent("reg")
        var r = try cli.run([
            "train", "--task", "regression", "--train", csv, "--eval", csv, "--label-field", "score", "--method",
            "lora",
            "--adapter-name", "sts", "--max-steps", "3", "--batch-size", "8", "--max-length", "32", "--output",
            reg.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("pearson") && r.stderr.contains("spearman"), "\(r.stderr)")
        let head =
            try JSONSerialization.jsonObject(with: Data(contentsOf: reg.appendingPathComponent("sts/head_config.json")))
            as? [String: Any]
        #expect((head?["config"] as? [String: Any])?["num_labels"] as? Int == 1)
        r = try cli.run([
            "evaluate", "--adapter", reg.appendingPathComponent("sts").path, "--data", csv, "--label-field", "score",
            "--max-length", "32",
        ])
        #expect(r.status == 0 && r.stdout.contains("\"pearson\""), "\(r.stderr)\(r.stdout)")
        let input = try write(["a fine film", "dull"], "in.txt", in: tmp)
        r = try cli.run(["predict", "--adapter", reg.appendingPathComponent("sts").path, "--input", input])
        let lines = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            lines.count == 2 && lines.allSatisfy { $0["score"] is Double && $0["label"] as? String == "LABEL_0" },
            "\(r.stdout)")

        // Multi-label from JSONL: any number of names per sentence.
        let jsonl = try write(
            try texts.map { t in
                var labels: [String] = []
                if t.count < 80 { labels.append("short") }
                if t.contains(",") { labels.append("comma") }
                return try json(["text": t, "label": labels])
            }, "ml.jsonl", in: tmp)
        let ml = tmp.appendingPathComponent("ml")
        r = try cli.run([
            "train", "--task", "multilabel_classification", "--train", jsonl, "--eval", jsonl, "--method", "seq_bn",
            "--adapter-name", "ml", "--max-steps", "3", "--batch-size", "8", "--max-length", "32", "--output", ml.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("micro_f1"), "\(r.stderr)")
        let mlHead =
            try JSONSerialization.jsonObject(with: Data(contentsOf: ml.appendingPathComponent("ml/head_config.json")))
            as? [String: Any]
        #expect((mlHead?["config"] as? [String: Any])?["head_type"] as? String == "multilabel_classification")
        r = try cli.run([
            "predict", "--adapter", ml.appendingPathComponent("ml").path, "--input", input, "--threshold", "0.01",
        ])
        let p =
            try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").first ?? "").utf8))
            as? [String: Any]
        #expect(Set(p?["labels"] as? [String] ?? []) == ["comma", "short"], "\(r.stdout)")
        #expect((p?["scores"] as? [String: Double])?.count == 2 && (p?["logits"] as? [Double])?.count == 2)

        // Parallel: both adapters with their heads on each input, one object per head; each as when run alone.
        let single = try cli.run(["predict", "--adapter", reg.appendingPathComponent("sts").path, "--input", input])
        r = try cli.run([
            "predict", "--adapter", reg.appendingPathComponent("sts").path, "--adapter",
            ml.appendingPathComponent("ml").path,
            "--compose", "parallel", "--input", input,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let both = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let alone = single.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(both.count == 2 && both.allSatisfy { Set($0.keys) == ["sts", "ml"] }, "\(r.stdout)")
        for (b, a) in zip(both, alone) {
            let ours = ((b["sts"] as? [String: Any])?["score"] as? Double) ?? .nan
            #expect(abs(ours - ((a["score"] as? Double) ?? .infinity)) <= 1e-5)
            #expect((b["ml"] as? [String: Any])?["scores"] is [String: Double])
        }
        r = try cli.run([
            "predict", "--adapter", ml.appendingPathComponent("ml").path, "--compose", "parallel", "--input", input,
        ])
        #expect(
            r.status != 0 && r.stderr.contains("--compose parallel needs at least 2 --adapter folders"), "\(r.stderr)")
    }

    /// Hub-layout Parquet files (tools/make_parquet_fixtures.py's task samples): tagging with Sequence(ClassLabel) tags,
    /// SQuAD rows for QA (train, evaluate and predict), STS-B pairs for regression.
    @Test func tasksTrainFromParquetInTheHubsLayouts() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        func sample(_ name: String) -> String { Fixtures.url("datasets/\(name)_sample.parquet").path }
        let common = ["--max-steps", "2", "--batch-size", "8", "--max-length", "64"]
        var r = try cli.run(
            ["train", "--task", "tagging", "--train", sample("tagging"), "--eval", sample("tagging"), "--label-field", "ner_tags"]
                + common + ["--adapter-name", "ner", "--output", tmp.appendingPathComponent("ner").path])
        #expect(r.status == 0, "\(r.stderr)")
        let head = try JSONSerialization.jsonObject(
            with: Data(contentsOf: tmp.appendingPathComponent("ner/ner/head_config.json"))) as? [String: Any]
        let label2id = (head?["config"] as? [String: Any])?["label2id"] as? [String: Int] ?? [:]
        #expect(label2id["B-person"] != nil && label2id["O"] != nil, "\(label2id)")
        #expect(r.stdout.contains("\"f1\""), "\(r.stdout)")

        r = try cli.run(
            ["train", "--task", "question_answering", "--train", sample("squad"), "--eval", sample("squad"), "--max-examples",
             "40"] + common + ["--adapter-name", "qa", "--output", tmp.appendingPathComponent("qa").path])
        #expect(r.status == 0 && r.stdout.contains("\"exact_match\""), "\(r.stderr)")
        r = try cli.run([
            "predict", "--adapter", tmp.appendingPathComponent("qa/qa").path, "--input", sample("squad"), "--max-length", "64",
        ])
        let answers = r.stdout.split(separator: "\n")
        #expect(r.status == 0 && answers.count == 150 && answers[0].contains("\"answer\""), "\(r.stderr)")

        r = try cli.run(
            ["train", "--task", "regression", "--train", sample("stsb"), "--text-field", "sentence1", "--text-pair-field",
             "sentence2"] + common + ["--output", tmp.appendingPathComponent("sts").path])
        #expect(r.status == 0, "\(r.stderr)")
        // A column that is not a list where tagging needs one names the file and the row.
        r = try cli.run(
            ["train", "--task", "tagging", "--train", sample("stsb"), "--text-field", "sentence1", "--label-field", "label"]
                + common + [
                "--output", tmp.appendingPathComponent("bad").path,
            ])
        #expect(r.status != 0 && r.stderr.contains("stsb_sample.parquet:1"), "\(r.stderr)")
    }

    @Test func dataThatDoesNotFitTheTaskNamesTheFile() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let csv = try write(["text,label", "a,1", "b,high"], "bad.csv", in: tmp)
        var r = try cli.run([
            "train", "--task", "regression", "--train", csv, "--output", tmp.appendingPathComponent("o").path,
        ])
        #expect(
            r.status != 0 && r.stderr.contains("bad.csv:3") && r.stderr.contains("\"high\" is not a finite number"),
            "\(r.stderr)")
        r = try cli.run([
            "train", "--task", "tagging", "--train", csv, "--output", tmp.appendingPathComponent("o").path,
        ])
        #expect(
            r.status != 0 && r.stderr.contains("bad.csv") && r.stderr.contains("cannot hold tagging labels"),
            "\(r.stderr)")
        r = try cli.run([
            "train", "--task", "tagging", "--train", csv, "--text-pair-field", "x", "--output",
            tmp.appendingPathComponent("o").path,
        ])
        #expect(r.status != 0 && r.stderr.contains("--text-pair-field does not apply to tagging"), "\(r.stderr)")
        r = try cli.run(["train", "--task", "ner", "--train", csv, "--output", tmp.appendingPathComponent("o").path])
        #expect(r.status != 0 && r.stderr.contains("tagging"), "\(r.stderr)")
    }

    @Test func multipleChoiceTrainsEvaluatesAndPredictsTextAndTokens() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let texts = try sentences(40)
        let data = try write(
            try texts.enumerated().map { i, t in
                let w = t.split(separator: " ")
                let o = texts[(i + 7) % texts.count].split(separator: " ")
                let right = w[(w.count / 2)...].joined(separator: " ")
                let wrong = o[(o.count / 2)...].joined(separator: " ")
                return try json([
                    "text": w[..<(w.count / 2)].joined(separator: " "),
                    "choices": i % 2 == 0 ? [right, wrong] : [wrong, right], "label": i % 2,
                ])
            }, "mc.jsonl", in: tmp)
        let out = tmp.appendingPathComponent("mc")
        var r = try cli.run([
            "train", "--task", "multiple_choice", "--train", data, "--eval", data, "--method", "seq_bn",
            "--adapter-name", "mc",
            "--max-steps", "3", "--batch-size", "4", "--max-length", "48", "--output", out.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("eval at step 3: accuracy"), "\(r.stderr)")
        let head =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("mc/head_config.json")))
            as? [String: Any]
        let config = head?["config"] as? [String: Any]
        #expect(config?["head_type"] as? String == "multiple_choice" && config?["num_choices"] as? Int == 2)
        r = try cli.run([
            "evaluate", "--adapter", out.appendingPathComponent("mc").path, "--data", data, "--max-length", "48",
        ])
        #expect(r.status == 0 && r.stdout.contains("\"accuracy\""), "\(r.stderr)\(r.stdout)")
        // Text inputs and the same inputs pre-tokenized (one id list per choice, of different lengths) agree.
        let input = try write(
            [
                try json([
                    "text": "The acting was", "choices": ["superb and moving.", "a tax form, honestly, nothing more."],
                ])
            ], "in.jsonl", in: tmp)
        r = try cli.run(["predict", "--adapter", out.appendingPathComponent("mc").path, "--input", input])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((text?["scores"] as? [Double])?.count == 2 && text?["choice"] is Int, "\(r.stdout)")
        // The same example pre-tokenized: each choice's (context, choice) ids from `adapters tokenize`.
        let pairs = try write(
            [
                try json(["text": "The acting was", "pair": "superb and moving."]),
                try json(["text": "The acting was", "pair": "a tax form, honestly, nothing more."]),
            ],
            "pairs.jsonl", in: tmp)
        let encoded = try cli.run([
            "tokenize", "--model", Fixtures.miniLM.path, "--input", pairs, "--text-pair-field", "pair",
        ])
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let rows = encoded.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let ids = rows.compactMap { $0["input_ids"] as? [Int] }
        #expect(ids.count == 2 && ids[0].count != ids[1].count)
        let tokens = try write(
            [try json(["input_ids": ids, "token_type_ids": rows.compactMap { $0["token_type_ids"] as? [Int] }])],
            "tokens.jsonl",
            in: tmp)
        let pre = try cli.run(["predict", "--adapter", out.appendingPathComponent("mc").path, "--input", tokens])
        #expect(pre.status == 0, "\(pre.stderr)")
        let p = try JSONSerialization.jsonObject(with: Data(pre.stdout.utf8)) as? [String: Any]
        let a = (p?["logits"] as? [Double]) ?? []
        let b = (text?["logits"] as? [Double]) ?? []
        #expect(a.count == 2 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(a) vs \(b)")
        let bad = try write([#"{"input_ids": [[101, 102]]}"#], "bad.jsonl", in: tmp)
        r = try cli.run(["predict", "--adapter", out.appendingPathComponent("mc").path, "--input", bad])
        #expect(r.status != 0 && r.stderr.contains("bad.jsonl:1") && r.stderr.contains("at least 2"), "\(r.stderr)")
    }

    /// `train --method fusion` over two trained adapters: the fusion folder (config, weights, head named like it)
    /// that `predict --compose fuse:` runs; only the fusion and its head are trained.
    @Test func fusionTrainsOverTwoAdapters() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let texts = try sentences(32)
        let data = try write(
            try texts.enumerated().map { try json(["text": $1, "label": $0 % 2]) }, "d.jsonl", in: tmp)
        let common = ["--train", data, "--max-steps", "2", "--batch-size", "8", "--max-length", "32"]
        for (name, method) in [("a", "seq_bn"), ("b", "seq_bn[reduction_factor=8]"), ("lang", "seq_bn[reduction_factor=4]")] {
            let r = try cli.run(
                ["train"] + common + [
                    "--method", method, "--adapter-name", name, "--output", tmp.appendingPathComponent(name).path,
                ])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = tmp.appendingPathComponent("a/a").path
        let b = tmp.appendingPathComponent("b/b").path
        let out = tmp.appendingPathComponent("fuse")
        var r = try cli.run(
            ["train"] + common + ["--method", "fusion", "--adapter", a, "--adapter", b, "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let folder = out.appendingPathComponent("a,b")
        let config =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent("adapter_fusion_config.json"))) as? [String: Any]
        #expect(config?["adapter_names"] as? [String] == ["a", "b"] && config?["name"] as? String == "a,b")
        #expect(
            FileManager.default.fileExists(
                atPath: folder.appendingPathComponent("model_adapter_fusion.safetensors").path))
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json")))
            as? [String: Any]
        // Two fusion layers of 2·C² + 2·C + C² weights (C = 384, 6 layers) and the head: the adapters are not counted.
        let c = 384
        #expect(summary?["trainable_parameters"] as? Int == 6 * (3 * c * c + 2 * c) + (c * c + c + 2 * c + 2))
        let input = try write(["A fine film."], "in.txt", in: tmp)
        r = try cli.run([
            "predict", "--adapter", a, "--adapter", b, "--compose", "fuse:\(folder.path)", "--input", input,
        ])
        #expect(r.status == 0 && r.stdout.contains("\"logits\""), "\(r.stderr)")
        r = try cli.run(
            ["train"] + common + [
                "--method", "fusion", "--adapter", a, "--output", tmp.appendingPathComponent("x").path,
            ])
        #expect(r.status != 0 && r.stderr.contains("at least 2 --adapter folders"), "\(r.stderr)")
        // evaluate runs the same composition: the fusion's accuracy on the data.
        r = try cli.run([
            "evaluate", "--adapter", a, "--adapter", b, "--compose", "fuse:\(folder.path)", "--data", data, "--max-length", "32",
        ])
        #expect(r.status == 0 && r.stdout.contains("\"accuracy\""), "\(r.stderr)")
        r = try cli.run(["evaluate", "--adapter", a, "--adapter", b, "--compose", "parallel", "--data", data])
        #expect(r.status != 0 && r.stderr.contains("--compose parallel is for predict"), "\(r.stderr)")

        // MAD-X: the fusion over a frozen language adapter stacked before it (train_adapter_fusion(Stack(lang, Fuse(a, b)))),
        // run by predict as that Stack; the same trainable parameters as without it.
        let lang = tmp.appendingPathComponent("lang/lang").path
        let stackedOut = tmp.appendingPathComponent("stacked")
        r = try cli.run(
            ["train"] + common + [
                "--method", "fusion", "--stack-before", lang, "--adapter", a, "--adapter", b, "--output", stackedOut.path,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let stackedSummary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: stackedOut.appendingPathComponent("summary.json")))
            as? [String: Any]
        #expect(stackedSummary?["trainable_parameters"] as? Int == summary?["trainable_parameters"] as? Int)
        let stackedFolder = stackedOut.appendingPathComponent("a,b").path
        r = try cli.run([
            "predict", "--adapter", lang, "--adapter", a, "--adapter", b, "--compose", "Stack(lang, Fuse(a, b))", "--fusion",
            stackedFolder, "--input", input,
        ])
        #expect(r.status == 0 && r.stdout.contains("\"logits\""), "\(r.stderr)")
        r = try cli.run(
            ["train"] + common + ["--method", "head", "--stack-before", lang, "--output", tmp.appendingPathComponent("y").path])
        #expect(r.status != 0 && r.stderr.contains("--stack-before goes with --method fusion"), "\(r.stderr)")
    }

    /// `train --parallel NAME=METHOD`: AdapterHub's train_adapter(Parallel(a, b)) from the command line — a seq_bn and a
    /// LoRA (which adapters 1.3.0 cannot run in one Parallel) trained together, each saved, evaluated and predicted.
    @Test func parallelTrainsAdaptersSideBySide() throws {
        try #require(FileManager.default.fileExists(atPath: Fixtures.miniLM.path), "run scripts/setup.sh first")
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let texts = try sentences(32)
        let data = try write(try texts.enumerated().map { try json(["text": $1, "label": $0 % 2]) }, "d.jsonl", in: tmp)
        let common = ["--train", data, "--max-steps", "2", "--batch-size", "8", "--max-length", "32", "--label-names", "neg,pos"]
        let out = tmp.appendingPathComponent("p")
        var r = try cli.run(
            ["train"] + common + [
                "--eval", data, "--method", "seq_bn", "--adapter-name", "a", "--parallel", "b=lora[r=4]", "--output", out.path,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("eval of 'a' at step 2") && r.stderr.contains("eval of 'b' at step 2"), "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        let branches = summary?["parallel"] as? [[String: Any]] ?? []
        #expect(branches.map { $0["name"] as? String } == ["a", "b"])
        #expect(branches.map { $0["method"] as? String } == ["seq_bn", "lora"])
        #expect(branches.allSatisfy { ($0["eval"] as? [String: Any])?["accuracy"] != nil })
        let perBranch = branches.compactMap { $0["trainable_parameters"] as? Int }
        #expect(perBranch.count == 2 && summary?["trainable_parameters"] as? Int == perBranch.reduce(0, +))
        let log = try String(contentsOf: out.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"eval_a_accuracy\"") && log.contains("\"eval_b_accuracy\""))
        let a = out.appendingPathComponent("a").path
        let b = out.appendingPathComponent("b").path
        let input = try write(["A fine film.", "Dull."], "in.txt", in: tmp)
        r = try cli.run(["predict", "--adapter", a, "--adapter", b, "--compose", "Parallel(a, b)", "--input", input])
        #expect(r.status == 0, "\(r.stderr)")
        func objects(_ text: String) throws -> [[String: Any]] {
            try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        }
        let parallelLines = try objects(r.stdout)
        #expect(parallelLines.count == 2 && parallelLines.allSatisfy { $0["a"] != nil && $0["b"] != nil }, "\(r.stdout)")
        // Each adapter alone predicts what its branch of the Parallel does.
        r = try cli.run(["predict", "--adapter", b, "--input", input])
        #expect(r.status == 0, "\(r.stderr)")
        let alone = try objects(r.stdout)
        #expect(alone.count == 2)
        for (p, s) in zip(parallelLines, alone) {
            let branch = floats((p["b"] as? [String: Any])?["logits"])
            let single = floats(s["logits"])
            #expect(branch.count == 2 && zip(branch, single).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(branch) vs \(single)")
        }

        for (flags, message) in [
            (["--parallel", "b"], "expected NAME=METHOD"),
            (["--adapter-name", "a", "--parallel", "a=lora"], "the name 'a' is taken"),
            (["--parallel", "b=fusion"], "must be an adapter config string"),
            (["--parallel", "b/c=lora"], "not a plain name"),
            (["--method", "full", "--parallel", "b=lora"], "beside an adapter --method"),
            (["--parallel", "b=lora[r=oops]"], "r"),
        ] {
            r = try cli.run(["train"] + common + flags + ["--output", tmp.appendingPathComponent("x").path])
            #expect(r.status != 0 && r.stderr.contains(message), "\(flags): \(r.stderr)")
        }
    }
}
