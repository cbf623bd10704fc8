import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A produced SVG parsed with Foundation's XMLParser: parsing at all proves it well-formed, and the
/// element list lets tests ask about structure instead of matching substrings.
struct SVGDocument {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text: String
        var cssClasses: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// All elements in document order; the first is the root `<svg>`.
    private(set) var elements: [Element] = []

    init(_ svg: String) throws {
        let collector = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw ParseError(description: "not well-formed: \(parser.parserError.map { "\($0)" } ?? "unknown")")
        }
        elements = collector.elements
    }

    var root: Element? { elements.first }

    func elements(named name: String) -> [Element] {
        elements.filter { $0.name == name }
    }

    func elements(withClass cssClass: String) -> [Element] {
        elements.filter { $0.cssClasses.contains(cssClass) }
    }

    /// The text of every `<text>` element.
    var texts: [String] { elements(named: "text").map(\.text) }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        private var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            open.append(elements.count)
            elements.append(Element(name: name, attributes: attributes, text: ""))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let index = open.last { elements[index].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
    }
}
