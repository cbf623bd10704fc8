import Foundation

/// sRGB colour arithmetic for the heatmap: blending towards a base colour and choosing legible text.
struct RGB: Equatable {
    var red: Double
    var green: Double
    var blue: Double

    static let white = RGB(red: 1, green: 1, blue: 1)
    static let darkText = RGB(red: 0x22 / 255, green: 0x22 / 255, blue: 0x22 / 255)

    /// Parses "#RRGGBB"; nil for anything else.
    init?(hex: String) {
        let digits = hex.hasPrefix("#") ? String(hex.dropFirst()) : hex
        guard digits.count == 6, let value = UInt32(digits, radix: 16) else { return nil }
        red = Double((value >> 16) & 0xFF) / 255
        green = Double((value >> 8) & 0xFF) / 255
        blue = Double(value & 0xFF) / 255
    }

    init(red: Double, green: Double, blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// The straight sRGB mix: `self` at t = 0, `other` at t = 1.
    func mixed(with other: RGB, _ t: Double) -> RGB {
        RGB(red: red + (other.red - red) * t, green: green + (other.green - green) * t,
            blue: blue + (other.blue - blue) * t)
    }

    var hex: String {
        func byte(_ v: Double) -> String {
            let text = String(Int((min(max(v, 0), 1) * 255).rounded()), radix: 16, uppercase: true)
            return text.count == 1 ? "0" + text : text
        }
        return "#" + byte(red) + byte(green) + byte(blue)
    }

    /// WCAG relative luminance.
    var luminance: Double {
        func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// White or near-black, whichever has the higher WCAG contrast ratio against this background.
    var legibleText: RGB {
        let onWhite = 1.05 / (luminance + 0.05)
        let onDark = (luminance + 0.05) / (RGB.darkText.luminance + 0.05)
        return onWhite > onDark ? .white : .darkText
    }
}
