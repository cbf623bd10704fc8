/// GPT-2's reversible byte ↔ printable-character mapping (`bytes_to_unicode`).
///
/// Printable bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves; the other 68 bytes map to
/// U+0100 + n in byte order (so a space is `Ġ`, U+0120). Vocabulary and merges files are written
/// in these characters; the encoder never builds them at run time: it starts from raw UTF-8 bytes
/// and a 256-entry byte → id table, and uses this mapping only at load and decode time.
enum ByteLevelAlphabet {
    /// `characterForByte[b]` is the scalar that stands for byte `b`.
    static let characterForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                // 256 + n stays below U+0144, always a valid scalar.
                table[b] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `characterForByte`, indexed by scalar value (all values are < 0x144);
    /// -1 where a scalar stands for no byte.
    static let byteForCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, c) in characterForByte.enumerated() { table[Int(c.value)] = Int16(b) }
        return table
    }()

    /// The raw bytes a byte-level token stands for, or nil when some character is outside the
    /// alphabet (added tokens such as `<|endoftext|>` are inside it; arbitrary text may not be).
    static func bytes(forToken token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 0x144 else { return nil }
            let b = byteForCharacter[Int(s.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }

    /// The byte-level spelling of raw bytes (what a vocabulary entry for them looks like).
    static func token(forBytes bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(characterForByte[Int(b)]) }
        return String(s)
    }
}
