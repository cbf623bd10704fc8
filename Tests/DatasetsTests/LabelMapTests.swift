import Foundation
import Testing
@testable import Datasets

@Suite("Label maps")
struct LabelMapTests {
    static func examples(_ labels: [String]) -> [Example] {
        labels.map { Example(text: "t", label: $0) }
    }

    @Test("Derivation", arguments: [
        (["1", "0", "1", "0"], ["0", "1"]),                       // HF int labels: id = value
        (["2", "1", "2"], ["1", "2"]),                            // not 0..<n: sorted, mapped in order
        (["10", "9", "-1", "007"], ["-1", "7", "9", "10"]),       // numeric, not lexicographic, order
        (["pos", "neg", "neutral", "pos"], ["neg", "neutral", "pos"]),
        (["positive", "negative"], ["negative", "positive"]),
        (["1", "two"], ["1", "two"]),                             // mixed: all names
        (["B", "a", "Á"], ["B", "a", "Á"]),                       // by Unicode scalar value
    ] as [([String], [String])])
    func derive(labels: [String], names: [String]) {
        #expect(LabelMap.derive(from: Self.examples(labels)).names == names)
    }

    @Test("Ids by exact name or integer value")
    func ids() {
        let ints = LabelMap(names: ["1", "2"])
        #expect(ints.id(of: "1") == 0)
        #expect(ints.id(of: "2") == 1)
        #expect(ints.id(of: "02") == 1)
        #expect(ints.id(of: "0") == nil)
        let names = LabelMap(names: ["negative", "positive"])
        #expect(names.id(of: "positive") == 1)
        #expect(names.id(of: "Positive") == nil)
        #expect(names.count == 2)
        let lookup = ints.lookup()
        for label in ["1", "2", "02", "0", "x"] { #expect(lookup(label) == ints.id(of: label)) }
    }

    @Test("Amazon Polarity map is fixed, whatever classes the file holds")
    func amazonFixed() {
        let onlyPositive = LabeledDataset(source: "a.csv", format: .amazonPolarity,
                                          examples: Self.examples(["positive"]))
        #expect(LabelMap.derive(from: onlyPositive) == .amazonPolarity)
        #expect(LabelMap.amazonPolarity.names == ["negative", "positive"])
        let plain = LabeledDataset(source: "a.jsonl", examples: Self.examples(["positive"]))
        #expect(LabelMap.derive(from: plain).names == ["positive"])
    }

    @Test("Codable round trip")
    func codable() throws {
        let map = LabelMap(names: ["neg", "pos"])
        let data = try JSONEncoder().encode(map)
        #expect(String(decoding: data, as: UTF8.self) == #"{"names":["neg","pos"]}"#)
        #expect(try JSONDecoder().decode(LabelMap.self, from: data) == map)
    }
}
