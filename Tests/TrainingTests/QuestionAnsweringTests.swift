import Datasets
import Foundation
import TestSupport
import Testing
import Tokenizers
import Training

/// Extractive question answering around the model, against the Python tools (fixtures from tools/make_qa_fixtures.py,
/// transformers 4.57.6): run_qa.py's window labels, its post-processing into answers (SQuAD v1 and v2) and the SQuAD
/// scores of those answers, transformers' question-answering pipeline's answers from the same logits, and the SQuAD
/// metric on hard answer pairs.
@Suite("Question answering")
struct QuestionAnsweringTests {
    static func fixture() throws -> [String: Any] { try Fixtures.json("qa/qa.json") }

    static func examples(_ json: [String: Any]) throws -> [QuestionAnsweringExample] {
        let data = try JSONSerialization.data(withJSONObject: [
            "data": [
                [
                    "paragraphs": (json["examples"] as? [[String: Any]] ?? []).map {
                        [
                            "context": $0["context"] ?? "",
                            "qas": [
                                [
                                    "id": $0["id"] ?? "", "question": $0["question"] ?? "",
                                    "answers": $0["answers"] ?? [],
                                ]
                            ],
                        ]
                    }
                ]
            ]
        ])
        return try QuestionAnsweringReader.parse(data, source: "qa.json")
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer.load(from: Fixtures.url("tokenizers/\(name)"))
    }

    static func windows(_ name: String, _ json: [String: Any]) throws -> TokenizedDataset {
        try TokenizedDataset(
            questionAnswering: try examples(json), tokenizer: try tokenizer(name), source: "qa.json",
            maxLength: json["max_length"] as? Int ?? 0, stride: json["stride"] as? Int ?? 0)
    }

    static func scored(_ qa: QuestionAnsweringFeatures, _ logits: [[String: Any]], windows: Range<Int>)
        -> [ScoredWindow]
    {
        zip(windows, logits).map { w, l in
            qa.scoredWindow(
                w, startLogits: (l["start"] as? [Double] ?? []).map(Float.init),
                endLogits: (l["end"] as? [Double] ?? []).map(Float.init))
        }
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func windowLabelsAreRunQAs(tokenizerName: String) throws {
        let json = try Self.fixture()
        let expected =
            ((json["tokenizers"] as? [String: Any])?[tokenizerName] as? [String: Any])?["train_labels"] as? [[[Int]]]
            ?? []
        let data = try Self.windows(tokenizerName, json)
        let qa = try #require(data.questionAnswering)
        #expect(expected.count == 28)
        var compared = 0
        var answered = 0
        for (e, range) in qa.windowsOf.enumerated() {
            #expect(
                range.count == expected[e].count,
                "question \(e): \(range.count) windows, run_qa has \(expected[e].count)")
            for (w, label) in zip(range, expected[e]) {
                let ours = Array(data.spanLabels(w)).map(Int.init)
                compared += 1
                if label != [0, 0] { answered += 1 }
                // run_qa walks past the context when the answer starts in its last token (a padded position): ours
                // stays on that token.
                if let last = qa.contextSpans[w].lastIndex(where: { $0 != nil }), label[0] > last {
                    #expect(ours == [last, label[1]], "question \(e), window \(w - range.lowerBound)")
                    continue
                }
                #expect(ours == label, "question \(e), window \(w - range.lowerBound): ours \(ours), run_qa \(label)")
            }
        }
        #expect(compared > 60 && answered > 20)
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func runQAAnswersAndScores(tokenizerName: String) throws {
        let json = try Self.fixture()
        let reference = try #require(
            ((json["tokenizers"] as? [String: Any])?[tokenizerName] as? [String: Any])?["run_qa"] as? [String: Any])
        let logits = reference["logits"] as? [[[String: Any]]] ?? []
        let data = try Self.windows(tokenizerName, json)
        let qa = try #require(data.questionAnswering)
        for (version, v2) in [("v1", false), ("v2", true)] {
            let expected = reference["answers_\(version)"] as? [String] ?? []
            var answers: [String] = []
            for (e, range) in qa.windowsOf.enumerated() {
                let windows = Self.scored(qa, logits[e], windows: range)
                #expect(
                    windows.map(\.startLogits.count) == range.map { data.sequence($0).count },
                    "question \(e): window lengths")
                answers.append(
                    AnswerDecoding.bestLogitSum(windows, context: qa.examples[e].context, allowNoAnswer: v2).text)
            }
            #expect(answers == expected, "\(version)")
            let scores = reference["scores_\(version)"] as? [String: Double] ?? [:]
            let ours = MetricMath.squad(predictions: answers, golds: qa.examples.map { $0.answers.map(\.text) })
            #expect(abs(ours.exactMatch - (scores["exact_match"] ?? -1)) < 1e-9)
            #expect(abs(ours.f1 - (scores["f1"] ?? -1)) < 1e-9)
        }
    }

    @Test(arguments: ["roberta-base", "minilm"])
    func pipelineAnswersFromTheSameLogits(tokenizerName: String) throws {
        let json = try Self.fixture()
        let reference =
            ((json["tokenizers"] as? [String: Any])?[tokenizerName] as? [String: Any])?["pipeline"] as? [[String: Any]]
            ?? []
        let data = try Self.windows(tokenizerName, json)
        let qa = try #require(data.questionAnswering)
        let byId = Dictionary(uniqueKeysWithValues: qa.examples.enumerated().map { ($1.id, $0) })
        #expect(reference.count > 20)
        for r in reference {
            let e = try #require(byId[r["id"] as? String ?? ""])
            let range = qa.windowsOf[e]
            let logits = r["logits"] as? [[String: Any]] ?? []
            #expect(logits.count == range.count)
            let answer = try #require(
                AnswerDecoding.pipeline(
                    Self.scored(qa, logits, windows: range), context: qa.examples[e].context, maxAnswerLength: 15))
            let expected = r["answer"] as? [String: Any] ?? [:]
            #expect(answer.text == expected["answer"] as? String, "question \(e)")
            #expect(answer.start == expected["start"] as? Int && answer.end == expected["end"] as? Int, "question \(e)")
            let score = expected["score"] as? Double ?? -1
            #expect(abs(answer.score - score) <= 1e-5 * score, "question \(e): score \(answer.score) vs \(score)")
        }
    }

    @Test func squadMetricEqualsTransformers() throws {
        let pairs = try Self.fixture()["metrics"] as? [[String: Any]] ?? []
        #expect(pairs.count > 10)
        for p in pairs {
            let gold = p["gold"] as? String ?? "", predicted = p["predicted"] as? String ?? ""
            #expect(MetricMath.normalizeAnswer(gold) == p["normalized"] as? String, "\(gold)")
            #expect(
                MetricMath.exactMatch(gold: gold, predicted: predicted) == (p["exact"] as? Double ?? -1),
                "\(gold) / \(predicted)")
            #expect(
                abs(MetricMath.answerF1(gold: gold, predicted: predicted) - (p["f1"] as? Double ?? -1)) < 1e-12,
                "\(gold) / \(predicted)")
        }
    }

    @Test func badQuestionFilesNameTheExample() throws {
        func error(_ text: String) -> String {
            do {
                _ = try QuestionAnsweringReader.parse(Data(text.utf8), source: "q.json", requireAnswers: true)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(
            error(
                #"{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "x", "question": "q", "answers": [{"text": "abcd", "answer_start": 1}]}]}]}]}"#
            )
            .contains("data[0].paragraphs[0].qas[0]: answer \"abcd\" at 1..<5 lies outside the 3-character context"))
        #expect(
            error(#"{"data": [{"paragraphs": [{"qas": []}]}]}"#)
                == "q.json: data[0].paragraphs[0]: has no \"context\" string")
        #expect(error("{\"question\": \"q\", \"context\": \"c\"}\n").contains("line 1: has no answers"))
        #expect(error("{\"question\": \"q\"}\n").contains("line 1: has no \"context\" string"))
        #expect(error("{\"question\": \"q\", \"context\": \"c\", \"answers\": 3}\n").contains("\"answers\" must be"))
        #expect(error("not json\n").contains("q.json:1"))
        #expect(error("\n\n").contains("no examples") || error("\n\n").contains("empty"))
        // A question that leaves no room for its context in the window.
        let long = QuestionAnsweringExample(
            id: "long", question: String(repeating: "why ", count: 40), context: "c", answers: [])
        #expect(throws: DatasetError.self) {
            try TokenizedDataset(
                questionAnswering: [long], tokenizer: try Self.tokenizer("minilm"), source: "q.json", maxLength: 32,
                stride: 8)
        }
    }
}
