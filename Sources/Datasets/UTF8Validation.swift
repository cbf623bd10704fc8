/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), so that every
/// `String` later made from a slice of a dataset file is exact and a bad byte can be reported by line.
enum UTF8Validation {
    /// The 1-based line of the first invalid byte, or nil when `bytes` is valid UTF-8.
    static func firstInvalidLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let offset = firstInvalidOffset(bytes) else { return nil }
        var line = 1
        for i in 0..<offset where bytes[i] == 0x0A { line += 1 }
        return line
    }

    static func firstInvalidOffset(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < n else { return i }
            let c1 = b[i + 1]
            if c1 < lo || c1 > hi { return i }
            var k = 2
            while k <= need {
                if b[i + k] & 0xC0 != 0x80 { return i }
                k += 1
            }
            i += need + 1
        }
        return nil
    }
}
