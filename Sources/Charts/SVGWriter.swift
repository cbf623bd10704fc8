/// Appends SVG elements to a string, one per line, with every attribute value and text escaped.
///
/// Attributes are ordered lists, not dictionaries, so the same chart always gives the same bytes.
struct SVGWriter {
    typealias Attributes = [(String, String)]

    private(set) var output = ""

    /// `<name a="v" …>`; must be balanced by `close(name)`.
    mutating func open(_ name: String, _ attributes: Attributes = []) {
        output += "<\(name)\(Self.render(attributes))>\n"
    }

    mutating func close(_ name: String) {
        output += "</\(name)>\n"
    }

    /// `<name a="v" …/>`.
    mutating func leaf(_ name: String, _ attributes: Attributes) {
        output += "<\(name)\(Self.render(attributes))/>\n"
    }

    /// `<name a="v" …>text</name>`.
    mutating func element(_ name: String, _ attributes: Attributes = [], text: String) {
        output += "<\(name)\(Self.render(attributes))>\(XMLText.escape(text))</\(name)>\n"
    }

    private static func render(_ attributes: Attributes) -> String {
        attributes.map { " \($0.0)=\"\(XMLText.escape($0.1))\"" }.joined()
    }
}

/// A rectangle in the chart's user units (the viewBox), y downwards.
struct Rect: Equatable {
    var x: Double
    var y: Double
    var width: Double
    var height: Double

    var maxX: Double { x + width }
    var maxY: Double { y + height }
    var midX: Double { x + width / 2 }
    var midY: Double { y + height / 2 }
}

/// Shorthand for SVG numbers: at most two decimals.
func svgNumber(_ value: Double) -> String {
    NumberText.coordinate(value)
}
