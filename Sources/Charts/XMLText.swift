/// Escaping for text and attribute values, so that any series name or label ("a<b & c", quotes)
/// keeps the SVG well-formed.
public enum XMLText {
    /// `text` with `& < > " '` replaced by entities and the control characters XML 1.0 forbids
    /// (everything below U+0020 but tab, newline and carriage return) replaced by spaces. HTML pages
    /// that embed the charts escape their own text with it too.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    result += " "
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
