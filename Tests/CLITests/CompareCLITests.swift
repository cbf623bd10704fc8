import Foundation
import TestSupport
import Testing

/// `adapters compare` end to end on a small slice of Rotten Tomatoes (2 methods × 2 learning rates × 2
/// seeds × 12 steps on the real MiniLM): every number in comparison.json is derived again here from the
/// runs' own files, and the report is looked at in a real headless browser.
@Suite("adapters compare", .serialized)
struct CompareCLITests {
    /// One sweep for the whole suite (it takes about a minute), run on first use.
    static let sweep: Result<URL, Error> = Result {
        let folder = try Fixtures.temporaryFolder()
        let data = Fixtures.repositoryRoot.appendingPathComponent("data/rotten_tomatoes")
        let train = try String(contentsOf: data.appendingPathComponent("train.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let test = try String(contentsOf: data.appendingPathComponent("test.jsonl"), encoding: .utf8).split(separator: "\n")
        // Reviews from both ends of the test file, so both labels are in the evaluation and test slices.
        let held = Array(test.prefix(60)) + Array(test.suffix(60))
        try (train.prefix(200) + train.suffix(200)).joined(separator: "\n").write(
            to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        try stride(from: 0, to: held.count, by: 2).map { held[$0] }.joined(separator: "\n").write(
            to: folder.appendingPathComponent("eval.jsonl"), atomically: true, encoding: .utf8)
        try stride(from: 1, to: held.count, by: 2).map { held[$0] }.joined(separator: "\n").write(
            to: folder.appendingPathComponent("test.jsonl"), atomically: true, encoding: .utf8)
        let r = try CLITests().run(Self.arguments(folder), in: folder)
        guard r.status == 0 else { throw HeadlessBrowser.Failure("compare failed (\(r.status)): \(r.stderr.suffix(2000))") }
        return folder
    }

    static func arguments(_ folder: URL, extra: [String] = []) -> [String] {
        [
            "compare", "--train", "train.jsonl", "--eval", "eval.jsonl", "--test", "test.jsonl",
            "--methods", "seq_bn,head", "--lr-grid", "seq_bn=1e-3,3e-3", "--lr-grid", "head=1e-2,3e-2",
            "--seeds", "1,2", "--max-steps", "12", "--batch-size", "16", "--max-length", "48",
            "--label-names", "negative,positive", "--bootstrap-resamples", "2000", "--output", "out",
        ] + extra
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], "\(url.path)")
    }

    static func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
    static func std(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let m = mean(v)
        return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
    }

    static func number(_ o: [String: Any]?, _ key: String) -> Double? { (o?[key] as? NSNumber)?.doubleValue }

    /// Exact two-sided McNemar p (binomial on the discordant pairs), written out independently.
    static func mcnemar(_ a: [Bool], _ b: [Bool]) -> Double {
        let b01 = zip(a, b).filter { !$0 && $1 }.count
        let b10 = zip(a, b).filter { $0 && !$1 }.count
        let n = b01 + b10
        guard n > 0 else { return 1 }
        var coefficient = 1.0
        var tail = 0.0
        for k in 0...min(b01, b10) {
            if k > 0 { coefficient *= Double(n - k + 1) / Double(k) }
            tail += coefficient
        }
        return min(1, 2 * tail / pow(2, Double(n)))
    }

    @Test func everyNumberComesFromTheRunsOwnFiles() throws {
        let folder = try Self.sweep.get()
        let out = folder.appendingPathComponent("out")
        let result = try Self.json(out.appendingPathComponent("comparison.json"))
        let methods = try #require(result["methods"] as? [[String: Any]])
        #expect(methods.count == 2)
        #expect(result["reported_on"] as? String == "test")
        var correctness: [String: [[Bool]]] = [:]
        for m in methods {
            let method = try #require(m["method"] as? String)
            let grid: [(Double, String)] = method == "seq_bn" ? [(1e-3, "1e-3"), (3e-3, "3e-3")] : [(1e-2, "1e-2"), (3e-2, "3e-2")]
            // The sweep: each rate's final evaluation accuracy per seed, from train_log.jsonl.
            let sweep = try #require(m["sweep"] as? [[String: Any]])
            #expect(sweep.count == 2)
            var means: [Double] = []
            for ((lr, text), point) in zip(grid, sweep) {
                let accuracies = try [1, 2].map { seed -> Double in
                    let log = try Self.lines(out.appendingPathComponent("runs/\(method)-lr\(text)-s\(seed)/train_log.jsonl"))
                    return try #require(log.last { $0["eval_accuracy"] != nil }.flatMap { Self.number($0, "eval_accuracy") })
                }
                #expect(Self.number(point, "learning_rate") == lr)
                let stat = point["eval_accuracy"] as? [String: Any]
                #expect(abs((Self.number(stat, "mean") ?? .nan) - Self.mean(accuracies)) < 1e-12)
                #expect(abs((Self.number(stat, "std") ?? .nan) - Self.std(accuracies)) < 1e-12)
                means.append(Self.mean(accuracies))
            }
            // Picked on the evaluation set only; the smaller rate wins a tie.
            let picked = means[1] > means[0] ? grid[1] : grid[0]
            #expect(Self.number(m, "learning_rate") == picked.0, "\(method)")
            let runs = try [1, 2].map { out.appendingPathComponent("runs/\(method)-lr\(picked.1)-s\($0)") }
            #expect(m["runs"] as? [String] == runs.map(\.lastPathComponent))
            let summaries = try runs.map { try Self.json($0.appendingPathComponent("summary.json")) }
            let tests = try runs.map { try Self.json($0.appendingPathComponent("test_metrics.json")) }
            let predictions = try runs.map { try Self.lines($0.appendingPathComponent("test_predictions.jsonl")) }
            #expect(predictions.allSatisfy { $0.count == 60 })
            // Accuracy and macro-F1 from the predictions themselves, and as evaluate reported them.
            let labels = ["negative", "positive"]
            var perSeedAccuracy: [Double] = []
            var perSeedF1: [Double] = []
            var confusion = [[0, 0], [0, 0]]
            for (p, t) in zip(predictions, tests) {
                let pairs = p.map { ($0["label"] as? String ?? "", $0["prediction"] as? String ?? "") }
                let accuracy = Double(pairs.filter { $0.0 == $0.1 }.count) / Double(pairs.count)
                #expect(abs(accuracy - (Self.number(t, "accuracy") ?? .nan)) < 1e-6)
                perSeedAccuracy.append(Self.number(t, "accuracy") ?? .nan)
                var f1 = 0.0
                for k in labels {
                    let tp = Double(pairs.filter { $0.0 == k && $0.1 == k }.count)
                    let fp = Double(pairs.filter { $0.0 != k && $0.1 == k }.count)
                    let fn = Double(pairs.filter { $0.0 == k && $0.1 != k }.count)
                    f1 += tp + fp + fn == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
                }
                #expect(abs(f1 / 2 - (Self.number(t, "macro_f1") ?? .nan)) < 1e-6)
                perSeedF1.append(Self.number(t, "macro_f1") ?? .nan)
                for (y, q) in pairs { confusion[labels.firstIndex(of: y) ?? 0][labels.firstIndex(of: q) ?? 0] += 1 }
                correctness[method, default: []].append(pairs.map { $0.0 == $0.1 })
            }
            let accuracy = m["test_accuracy"] as? [String: Any]
            #expect(accuracy?["values"] as? [Double] == perSeedAccuracy)
            #expect(abs((Self.number(accuracy, "mean") ?? .nan) - Self.mean(perSeedAccuracy)) < 1e-12)
            #expect(abs((Self.number(accuracy, "std") ?? .nan) - Self.std(perSeedAccuracy)) < 1e-12)
            // The 95 % interval: mean ± t(0.975, 1) · s / √2, t = 12.7062047.
            let half = 12.706_204_736 * Self.std(perSeedAccuracy) / 2.0.squareRoot()
            #expect(abs((Self.number(accuracy, "low") ?? .nan) - (Self.mean(perSeedAccuracy) - half)) < 1e-6)
            #expect(abs((Self.number(m["test_macro_f1"] as? [String: Any], "mean") ?? .nan) - Self.mean(perSeedF1)) < 1e-12)
            #expect(m["confusion"] as? [[Int]] == confusion)
            #expect(m["labels"] as? [String] == labels)
            // Costs, from summary.json and test_metrics.json; the saved size also from the disk.
            let trainable = try #require((summaries[0]["trainable_parameters"] as? NSNumber)?.intValue)
            let total = try #require((summaries[0]["total_parameters"] as? NSNumber)?.intValue)
            #expect((m["trainable_parameters"] as? NSNumber)?.intValue == trainable)
            #expect((m["total_parameters"] as? NSNumber)?.intValue == total)
            #expect(abs((Self.number(m, "trainable_percent") ?? .nan) - 100 * Double(trainable) / Double(total)) < 1e-9)
            #expect(trainable < total)
            let seconds = summaries.map { Self.number($0, "train_seconds") ?? .nan }
            #expect(abs((Self.number(m["train_seconds"] as? [String: Any], "mean") ?? .nan) - Self.mean(seconds)) < 1e-9)
            let rates = summaries.map { Self.number($0, "samples_per_second") ?? .nan }
            #expect(abs((Self.number(m["train_samples_per_second"] as? [String: Any], "mean") ?? .nan) - Self.mean(rates)) < 1e-9)
            let peak = summaries.compactMap { ($0["peak_rss_bytes"] as? NSNumber)?.intValue }.max()
            #expect(peak != nil && (m["peak_rss_bytes"] as? NSNumber)?.intValue == peak)
            let folderBytes = try Self.bytes(under: runs[0].appendingPathComponent(method))
            #expect((m["saved_bytes"] as? NSNumber)?.intValue == folderBytes)
            #expect((summaries[0]["saved_bytes"] as? NSNumber)?.intValue == folderBytes)
            let inference = tests.map { Self.number($0, "samples_per_second") ?? .nan }
            #expect(abs((Self.number(m["inference_samples_per_second"] as? [String: Any], "mean") ?? .nan) - Self.mean(inference)) < 1e-9)
            // Time to 99 %: the first evaluation at 99 % of the final accuracy, per seed.
            let times = try runs.map { run -> Double in
                let evals = try Self.lines(run.appendingPathComponent("train_log.jsonl")).filter { $0["eval_accuracy"] != nil }
                let final = Self.number(evals.last, "eval_accuracy") ?? .nan
                return try #require(evals.first { (Self.number($0, "eval_accuracy") ?? 0) >= 0.99 * final }
                    .flatMap { Self.number($0, "elapsed_seconds") })
            }
            #expect(abs((Self.number(m["seconds_to_99_percent"] as? [String: Any], "mean") ?? .nan) - Self.mean(times)) < 1e-9)
            // The loss curve: the seeds' mean at each logged step.
            let logs = try runs.map { try Self.lines($0.appendingPathComponent("train_log.jsonl")).filter { $0["loss"] != nil } }
            let curve = try #require(m["loss_curve"] as? [[String: Any]])
            #expect(curve.count == logs[0].count && curve.count >= 2)
            for (k, point) in curve.enumerated() {
                let values = logs.map { Self.number($0[k], "loss") ?? .nan }
                #expect(abs((Self.number(point, "value") ?? .nan) - Self.mean(values)) < 1e-9)
            }
        }
        // The pair: the difference of per-example correctness averaged over seeds, McNemar per seed.
        let pairs = try #require(result["comparisons"] as? [[String: Any]])
        #expect(pairs.count == 1)
        let pair = pairs[0]
        let a = try #require(correctness[pair["method"] as? String ?? ""])
        let b = try #require(correctness[pair["baseline"] as? String ?? ""])
        func averaged(_ c: [[Bool]]) -> [Double] { (0..<60).map { i in Double(c.filter { $0[i] }.count) / Double(c.count) } }
        let difference = Self.mean(averaged(a)) - Self.mean(averaged(b))
        #expect(abs((Self.number(pair, "difference") ?? .nan) - difference) < 1e-12)
        #expect((Self.number(pair, "low") ?? .nan) <= difference && difference <= (Self.number(pair, "high") ?? .nan))
        let mcnemar = pair["mcnemar_p_values"] as? [String: Double] ?? [:]
        #expect(abs((mcnemar["1"] ?? .nan) - Self.mcnemar(a[0], b[0])) < 1e-9)
        #expect(abs((mcnemar["2"] ?? .nan) - Self.mcnemar(a[1], b[1])) < 1e-9)
        #expect(pair["significant"] as? Bool == ((Self.number(pair, "p_value") ?? 1) < 0.05))
        // The same numbers in report.md.
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        for m in methods {
            let mean = Self.number(m["test_accuracy"] as? [String: Any], "mean") ?? .nan
            #expect(md.contains("| \(m["method"] as? String ?? "") | "), "row of \(m["method"] ?? "")")
            #expect(md.contains(String(format: "%.1f %%", mean * 100)))
        }
    }

    static func bytes(under folder: URL) throws -> Int {
        let names = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
        return try names.reduce(0) { total, name in
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            return total + ((attributes[.type] as? FileAttributeType) == .typeRegular ? (attributes[.size] as? Int ?? 0) : 0)
        }
    }

    @Test func aRerunResumesAndChangedSettingsAreRefused() throws {
        let folder = try Self.sweep.get()
        let before = try Self.json(folder.appendingPathComponent("out/comparison.json"))
        let again = try CLITests().run(Self.arguments(folder), in: folder)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.components(separatedBy: "already finished").count == 9, "every run is reused")
        #expect(!again.stderr.contains("training "), "nothing is trained again")
        let after = try Self.json(folder.appendingPathComponent("out/comparison.json"))
        func canonical(_ o: Any?) throws -> Data { try JSONSerialization.data(withJSONObject: o ?? [], options: [.sortedKeys]) }
        #expect(try canonical(before["methods"]) == canonical(after["methods"]), "the same numbers from the same runs")
        #expect(try canonical(before["comparisons"]) == canonical(after["comparisons"]))
        let changed = try CLITests().run(
            Self.arguments(folder).map { $0 == "12" ? "13" : $0 }, in: folder)
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("holds a comparison with other settings (step budget)"), "\(changed.stderr)")
    }

    /// The report in a real browser: no console errors, nothing loaded from elsewhere, no sideways
    /// scrolling at 420 px, and every chart's area drawn (not blank) in screenshots at 1280 and 420 px,
    /// which are kept under test-artifacts/ for people to look at.
    @Test(arguments: [1280, 420])
    func theReportRendersInABrowser(width: Int) throws {
        let folder = try Self.sweep.get()
        let page = folder.appendingPathComponent("out/report.html")
        let html = try String(contentsOf: page, encoding: .utf8)
        for external in ["src=\"http", "href=\"http", "url(", "@import", "<script", "<link"] {
            #expect(!html.contains(external), "report.html has \(external)")
        }
        let browser = try HeadlessBrowser()
        #expect(try browser.consoleMessages(page).isEmpty)
        let layout = try browser.layout(page, width: width)
        #expect(layout.scrollWidth <= Double(width), "the page scrolls sideways at \(width) px")
        // 8 charts + a confusion matrix per method.
        #expect(layout.rects.count == 10, "\(layout.rects.map(\.id))")
        #expect(layout.rects.allSatisfy { $0.w > 0.7 * Double(min(width, 520)) && $0.h > 150 })
        let artifacts = Fixtures.repositoryRoot.appendingPathComponent("test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let png = artifacts.appendingPathComponent("compare-report-\(width).png")
        try? FileManager.default.removeItem(at: png)
        try browser.screenshot(page, width: width, height: Int(layout.height), to: png)
        let image = try PNGImage(contentsOf: png)
        #expect(image.height == Int(layout.height))
        for rect in layout.rects {
            let stats = Self.inkStatistics(image, rect)
            #expect(stats.inked > 0.01, "\(rect.id) at \(width) px is blank: \(stats)")
            #expect(stats.colours >= 3, "\(rect.id) at \(width) px has \(stats.colours) colours")
        }
    }

    /// `adapters report RUN_DIR`: one run's charts, drawn.
    @Test func aSingleRunReport() throws {
        let folder = try Self.sweep.get()
        let run = folder.appendingPathComponent("out/runs/seq_bn-lr1e-3-s1")
        let r = try CLITests().run(["report", run.path])
        #expect(r.status == 0, "\(r.stderr)")
        let page = run.appendingPathComponent("report.html")
        #expect(r.stdout.trimmingCharacters(in: .newlines) == page.path)
        let browser = try HeadlessBrowser()
        let layout = try browser.layout(page, width: 1280)
        #expect(layout.rects.map(\.id) == ["loss", "learning-rate", "grad-norm", "eval-metrics", "eval-loss"])
        let png = Fixtures.repositoryRoot.appendingPathComponent("test-artifacts/run-report-1280.png")
        try FileManager.default.createDirectory(at: png.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: png)
        try browser.screenshot(page, width: 1280, height: Int(layout.height), to: png)
        let image = try PNGImage(contentsOf: png)
        for rect in layout.rects { #expect(Self.inkStatistics(image, rect).inked > 0.01, "\(rect.id) is blank") }
        let missing = try CLITests().run(["report", folder.path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("\(folder.path)/summary.json: no such file"), "\(missing.stderr)")
    }

    /// The share of a rectangle's pixels that are not (near) white, and how many distinct colours it holds.
    static func inkStatistics(_ image: PNGImage, _ r: HeadlessBrowser.Layout.Rect) -> (inked: Double, colours: Int) {
        let x0 = max(0, Int(r.x)), y0 = max(0, Int(r.y))
        let x1 = min(image.width, Int(r.x + r.w)), y1 = min(image.height, Int(r.y + r.h))
        guard x1 > x0, y1 > y0 else { return (0, 0) }
        var inked = 0
        var colours = Set<Int>()
        for y in y0..<y1 {
            for x in x0..<x1 {
                let (red, green, blue) = image.rgb(x, y)
                if Int(red) + Int(green) + Int(blue) < 3 * 235 { inked += 1 }
                colours.insert(Int(red >> 4) << 8 | Int(green >> 4) << 4 | Int(blue >> 4))
            }
        }
        return (Double(inked) / Double((x1 - x0) * (y1 - y0)), colours.count)
    }
}
