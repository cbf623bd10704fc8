import Foundation
import TestSupport
import Testing

/// `predict --compose parallel|average` on the tiny RoBERTa with the adapters adapters 1.3.0 saved
/// (tools/make_composition_fixtures.py), on pre-tokenized input: the logits Python computed.
@Suite("adapters predict --compose")
struct CompositionCLITests {
    let cli = CLITests()

    func input(in folder: URL) throws -> (path: String, json: [String: Any]) {
        let json = try Fixtures.json("composition/expected.json")
        let ids = json["input_ids"] as? [[Int]] ?? []
        let mask = json["attention_mask"] as? [[Int]] ?? []
        let lines = try zip(ids, mask).map { i, m -> String in
            let n = m.filter { $0 == 1 }.count
            let object: [String: Any] = ["input_ids": Array(i.prefix(n)), "attention_mask": Array(m.prefix(n))]
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let url = folder.appendingPathComponent("batch.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return (url.path, json)
    }

    func objects(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func parallelAndAverageGivePythonsLogits() throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (path, json) = try input(in: tmp)
        let base = Fixtures.url("training/base-roberta").path
        func folder(_ name: String) -> String { Fixtures.url("composition/\(name)").path }
        func rows(_ v: Any?) -> [[Double]] { (v as? [[Double]]) ?? [] }

        var r = try cli.run([
            "predict", "--model", base, "--adapter", folder("a"), "--adapter", folder("c"), "--adapter", folder("d"),
            "--compose", "parallel", "--input", path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = objects(r.stdout)
        #expect(lines.count == 3 && lines.allSatisfy { Set($0.keys) == ["a", "c", "d"] }, "\(r.stdout)")
        let parallel = json["parallel"] as? [Any] ?? []
        let a = lines.map { ($0["a"] as? [String: Any])?["logits"] as? [Double] ?? [] }
        #expect(
            maxAbsDifference(a.flatMap { $0 }.map(Float.init), rows(parallel[0]).flatMap { $0 }.map(Float.init)) <= 1e-4
        )
        // The tagging head: logits per attended token, every sequence's in order.
        let c = lines.flatMap { (($0["c"] as? [String: Any])?["logits"] as? [[Double]]) ?? [] }
        #expect(
            maxAbsDifference(c.flatMap { $0 }.map(Float.init), rows(parallel[1]).flatMap { $0 }.map(Float.init)) <= 1e-4
        )
        #expect(((lines[0]["a"] as? [String: Any])?["label"] as? String).map { ["neg", "pos"].contains($0) } == true)

        r = try cli.run([
            "predict", "--model", base, "--adapter", folder("a"), "--adapter", folder("d"), "--compose", "average:7,3",
            "--input", path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let average = objects(r.stdout).map { $0["logits"] as? [Double] ?? [] }
        #expect(
            maxAbsDifference(
                average.flatMap { $0 }.map(Float.init), rows(json["average_ad"]).flatMap { $0 }.map(Float.init)) <= 1e-4
        )

        r = try cli.run([
            "predict", "--model", base, "--adapter", folder("a"), "--adapter", folder("d"), "--compose", "average:1",
            "--input", path,
        ])
        #expect(r.status != 0 && r.stderr.contains("1 weights for 2 --adapter folders"), "\(r.stderr)")
        r = try cli.run(["predict", "--model", base, "--adapter", folder("a"), "--compose", "mean", "--input", path])
        #expect(r.status != 0 && r.stderr.contains("average:W1,W2"), "\(r.stderr)")
    }

    /// `--compose` expressions over the adapters' names (tools/make_nested_composition_fixtures.py): a Fuse inside a Stack
    /// with its `--fusion` folder, a Parallel of Stacks (one object per branch's head), evaluate with a nested Average,
    /// and the errors.
    @Test func expressionsNestBlocks() throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (path, _) = try input(in: tmp)
        let json = try Fixtures.json("composition/nested.json")
        let base = Fixtures.url("training/base-roberta").path
        func folder(_ name: String) -> String { Fixtures.url("composition/\(name)").path }
        func rows(_ v: Any?) -> [Float] { ((v as? [[Double]]) ?? []).flatMap { $0 }.map(Float.init) }
        let adapters = ["--adapter", folder("a"), "--adapter", folder("c"), "--adapter", folder("d")]

        var r = try cli.run(
            ["predict", "--model", base] + adapters + [
                "--compose", "Stack(c, Fuse(a, d))", "--fusion", folder("fuse_dynamic"), "--input", path,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let fused = objects(r.stdout).flatMap { $0["logits"] as? [Double] ?? [] }.map(Float.init)
        #expect(fused.count == 6 && maxAbsDifference(fused, rows(json["stack_c_fuse_ad"])) <= 1e-4, "\(r.stdout)")

        // Stack(c, Parallel(a, d)), MAD-X's form, is the same Parallel.
        r = try cli.run(
            ["predict", "--model", base] + adapters + ["--compose", "Parallel(Stack(c, a), Stack('c', \"d\"))", "--input", path])
        let madx = try cli.run(
            ["predict", "--model", base] + adapters + ["--compose", "Stack(c, Parallel(a, d))", "--input", path])
        #expect(madx.status == 0 && madx.stdout == r.stdout, "\(madx.stderr)")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = objects(r.stdout)
        #expect(lines.count == 3 && lines.allSatisfy { Set($0.keys) == ["a", "d"] }, "\(r.stdout)")
        for (head, key) in [("a", "stack_c_a"), ("d", "stack_c_d")] {
            let logits = lines.flatMap { ($0[head] as? [String: Any])?["logits"] as? [Double] ?? [] }.map(Float.init)
            #expect(maxAbsDifference(logits, rows(json[key])) <= 1e-4, "\(head)")
        }

        // evaluate with a nested Average: labels are the head's own predictions, so accuracy is 100 %.
        r = try cli.run(
            ["predict", "--model", base] + adapters + ["--compose", "Stack(c, Average(a, d, weights=[0.7, 0.3]))", "--input", path])
        #expect(r.status == 0, "\(r.stderr)")
        let averaged = objects(r.stdout)
        #expect(maxAbsDifference(averaged.flatMap { $0["logits"] as? [Double] ?? [] }.map(Float.init), rows(json["stack_c_average_ad"])) <= 1e-4)

        let bad: [([String], String)] = [
            (["--compose", "Stack(c, Fuse(a, d))"], "no AdapterFusion 'a,d' is loaded"),
            (["--compose", "Stack(c, Fuse(a, x))", "--fusion", folder("fuse_dynamic")], "names 'x', which no --adapter folder holds"),
            (["--compose", "Stack(c, Fuse(a, d)"], "expected ')', the text ended"),
            (["--compose", "Stack(c, Parallel(a, d), a)"], "Parallel can only be the whole composition"),
            (["--compose", "Stack(c, Average(a, d, weight=[1, 2]))"], "Average has no argument 'weight'"),
            (["--compose", "BatchSplit(a, d, batch_sizes=[1, 2])"], "BatchSplit is for the library"),
            (["--compose", "stack", "--fusion", folder("fuse_dynamic")], "--fusion goes with a --compose expression"),
        ]
        for (arguments, message) in bad {
            r = try cli.run(["predict", "--model", base] + adapters + arguments + ["--input", path])
            #expect(r.status != 0 && r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }

    /// `adapter average`: AdapterHub's average_adapter from the command line; lora_delta_w_svd writes a rank-2 LoRA
    /// folder (its numbers are checked against Python in CompositionTests).
    @Test func adapterAverageWritesAnAdapterHubFolder() throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let base = Fixtures.url("training/base-roberta").path
        let out = tmp.appendingPathComponent("svd")
        var r = try cli.run([
            "adapter", "average", "--model", base, "--adapter", Fixtures.url("composition/b").path, "--weights", "1.5",
            "--no-normalize", "--combine", "lora_delta_w_svd", "--svd-rank", "2", "--name", "svd", "--output", out.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: out.appendingPathComponent("adapter_config.json"))
        let inner = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["config"] as? [String: Any]
        #expect(inner?["r"] as? Int == 2 && inner?["alpha"] as? Int == 8, "\(inner ?? [:])")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("adapter.safetensors").path))
        // Averaging a bottleneck pair with a LoRA strategy, or without its rank, is refused.
        r = try cli.run([
            "adapter", "average", "--model", base, "--adapter", Fixtures.url("composition/a").path, "--adapter",
            Fixtures.url("composition/a2").path, "--combine", "lora_delta_w_svd", "--svd-rank", "2", "--name", "x",
            "--output", tmp.appendingPathComponent("x").path,
        ])
        #expect(r.status != 0 && r.stderr.contains("plain LoRA adapters only"), "\(r.stderr)")
        r = try cli.run([
            "adapter", "average", "--model", base, "--adapter", Fixtures.url("composition/b").path, "--svd-rank", "2",
            "--name", "x", "--output", tmp.appendingPathComponent("x").path,
        ])
        #expect(r.status != 0 && r.stderr.contains("--svd-rank goes with --combine lora_delta_w_svd"), "\(r.stderr)")
    }
}
