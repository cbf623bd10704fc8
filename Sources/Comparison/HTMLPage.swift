import Charts
import Foundation

/// A self-contained HTML page: inline CSS and SVG, no script, no external resource, readable at any width
/// (charts scale; tables scroll sideways inside their own box on a narrow screen).
public struct HTMLPage: Sendable {
    public var title: String
    public var body: String = ""

    public init(title: String) {
        self.title = title
    }

    public mutating func heading(_ text: String, level: Int = 2) {
        body += "<h\(level)>\(Self.escape(text))</h\(level)>\n"
    }

    public mutating func paragraph(_ text: String, className: String? = nil) {
        body += "<p\(className.map { " class=\"\($0)\"" } ?? "")>\(Self.escape(text))</p>\n"
    }

    /// A table; cells are text (escaped). The first column is a row header.
    public mutating func table(_ header: [String], _ rows: [[String]], caption: String? = nil) {
        var html = "<div class=\"table\"><table>\n"
        if let caption { html += "<caption>\(Self.escape(caption))</caption>\n" }
        html += "<thead><tr>" + header.map { "<th scope=\"col\">\(Self.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows {
            html += "<tr>" + row.enumerated().map { i, cell in
                i == 0 ? "<th scope=\"row\">\(Self.escape(cell))</th>" : "<td>\(Self.escape(cell))</td>"
            }.joined() + "</tr>\n"
        }
        body += html + "</tbody></table></div>\n"
    }

    /// Charts in a grid of figures (one column on a narrow page); each figure has the id and class the
    /// tests and screenshots look for.
    public mutating func charts(_ figures: [(id: String, chart: any Chart, caption: String)]) {
        body += "<div class=\"charts\">\n"
        for f in figures {
            body += "<figure class=\"figure\" id=\"\(Self.escape(f.id))\">\n\(f.chart.svg())\n"
            body += "<figcaption>\(Self.escape(f.caption))</figcaption></figure>\n"
        }
        body += "</div>\n"
    }

    public mutating func raw(_ html: String) { body += html }

    public var html: String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Self.escape(title))</title>
        <style>
        \(Self.css)
        \(Charts.stylesheet)
        </style>
        </head>
        <body>
        <main>
        <h1>\(Self.escape(title))</h1>
        \(body)</main>
        </body>
        </html>

        """
    }

    static let css = """
        :root { color-scheme: light; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          color: #1b1b1b; background: #fff; }
        main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
        h2 { font-size: 1.25rem; margin: 2rem 0 0.75rem; border-bottom: 1px solid #ddd; padding-bottom: 0.25rem; }
        p.answer { font-size: 1.05rem; background: #f3f7fb; border-left: 4px solid #0072B2; padding: 0.5rem 0.75rem; }
        .table { overflow-x: auto; margin: 0 0 1rem; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
        th[scope="row"], thead th:first-child { text-align: left; }
        caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 1rem; }
        figure.figure { margin: 0; }
        figcaption { font-size: 0.9rem; color: #444; margin-top: -0.75rem; }
        @media (max-width: 600px) { main { padding: 0.5rem; } h1 { font-size: 1.3rem; } th, td { padding: 0.25rem 0.4rem; } }
        """

    /// Text for HTML content and attribute values.
    public static func escape(_ text: String) -> String { XMLText.escape(text) }
}
