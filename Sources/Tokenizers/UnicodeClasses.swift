/// Character classes the pre-tokenizers and the BERT normalizer need, computed from
/// `Unicode.Scalar.Properties.generalCategory` with ASCII fast paths.
enum UnicodeClasses {
    /// Decodes the scalar starting at `p[i]` of valid UTF-8; returns (value, byte length).
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i &+ 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(p[i &+ 1] & 0x3F) << 6 | UInt32(p[i &+ 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(p[i &+ 1] & 0x3F) << 12 | UInt32(p[i &+ 2] & 0x3F) << 6
                | UInt32(p[i &+ 3] & 0x3F), 4)
    }

    /// Appends the UTF-8 encoding of scalar value `v` to `out`.
    @inline(__always)
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        } else if v < 0x10000 {
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | (v >> 6) & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        } else {
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | (v >> 12) & 0x3F))
            out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    @inline(__always)
    static func category(_ v: UInt32) -> Unicode.GeneralCategory? {
        Unicode.Scalar(v)?.properties.generalCategory
    }

    // MARK: GPT-2 regex classes

    /// The classes of the GPT-2 pattern: `\p{L}`, `\p{N}`, `\s` and everything else.
    enum GPT2Class: UInt8 { case letter, number, space, other }

    /// Oniguruma's `\s` (what HF's Rust regex uses): U+0009…U+000D, U+0085 and the Zs/Zl/Zp
    /// separators. Python `regex`'s `\s` (the slow tokenizer) is the same set (White_Space).
    @inline(__always)
    static func gpt2Class(_ v: UInt32) -> GPT2Class {
        if v < 0x80 {
            if (v | 0x20) &- 0x61 < 26 { return .letter }
            if v &- 0x30 < 10 { return .number }
            if v == 0x20 || (v &- 0x09) < 5 { return .space }
            return .other
        }
        if v == 0x85 { return .space }
        switch category(v) {
        case .uppercaseLetter?, .lowercaseLetter?, .titlecaseLetter?, .modifierLetter?, .otherLetter?:
            return .letter
        case .decimalNumber?, .letterNumber?, .otherNumber?:
            return .number
        case .spaceSeparator?, .lineSeparator?, .paragraphSeparator?:
            return .space
        default:
            return .other
        }
    }

    // MARK: BERT classes (HF tokenizers normalizers/bert.rs, pre_tokenizers/bert.rs)

    /// Rust `char::is_whitespace` (the White_Space property).
    @inline(__always)
    static func isWhitespace(_ v: UInt32) -> Bool {
        if v < 0x80 { return v == 0x20 || (v &- 0x09) < 5 }
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// BERT's `is_control`: any "Other" category (Cc, Cf, Cn, Co, Cs) except tab, LF and CR.
    /// It is checked before whitespace, so U+0085 (Cc) is dropped rather than made a space.
    @inline(__always)
    static func isBertControl(_ v: UInt32) -> Bool {
        if v < 0x80 { return (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || v == 0x7F }
        switch category(v) {
        case .control?, .format?, .unassigned?, .privateUse?, .surrogate?, nil: return true
        default: return false
        }
    }

    /// BERT's punctuation: ASCII non-alphanumeric printable characters, or any Unicode P* category.
    @inline(__always)
    static func isBertPunctuation(_ v: UInt32) -> Bool {
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch category(v) {
        case .connectorPunctuation?, .dashPunctuation?, .openPunctuation?, .closePunctuation?,
             .initialPunctuation?, .finalPunctuation?, .otherPunctuation?:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT surrounds with spaces (`_is_chinese_char`).
    @inline(__always)
    static func isChineseChar(_ v: UInt32) -> Bool {
        switch v {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Alphanumeric in Rust's sense (`char::is_alphanumeric`: Alphabetic or Numeric), used by the
    /// `single_word` rule of added tokens. Approximated by the L* and N* categories.
    @inline(__always)
    static func isWordCharacter(_ v: UInt32) -> Bool {
        let c = gpt2Class(v)
        return c == .letter || c == .number
    }
}
