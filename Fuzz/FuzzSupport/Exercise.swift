import Kernels
import Tokenizers

/// Reads every tensor of `source` as f32 (what loading a model does after the header).
public func readEveryTensor(_ source: TensorSource) {
    for name in source.tensorNames {
        guard let shape = source.shape(of: name) else { continue }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        // Shapes are checked against the file's bytes, so a count beyond the input is a parser bug the
        // read must report, not a reason to allocate.
        guard count >= 0, count <= 1 << 24 else { continue }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        try? source.readFloats(name, into: buffer)
    }
}

/// Encodes a fixed text (single and pair, truncated) and decodes the ids back.
public func exercise(_ tokenizer: Tokenizer) {
    let text = "Héllo wörld! A film — 映画 😀 don't stop\u{FEFF} <mask> [SEP]"
    let single = tokenizer.encode(text)
    _ = tokenizer.decode(single.ids)
    let pair = tokenizer.encode(text, pair: "second text", options: .init(maxLength: 12, truncation: true))
    _ = tokenizer.decode(pair.ids, skipSpecialTokens: false)
}
