/// CSS for pages that embed these charts, used as `Charts.stylesheet` inside a `<style>` element.
///
/// The SVGs carry their own presentation attributes and render without it; the stylesheet makes them
/// fill their container, sets a nicer font stack, and on narrow pages (where a 640-unit chart is
/// drawn at 420 px, shrinking 12-unit text to under 8 px) enlarges text by about a third. The charts
/// reserve room for the enlarged text. CSS rules override SVG presentation attributes, so these
/// sizes win over the `font-size` attributes.
public let stylesheet = """
.chart { display: block; width: 100%; height: auto; max-width: 960px; margin: 0 auto 1.5em;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.chart .chart-title { font-size: 16px; font-weight: 600; }
.chart .axis-label { font-size: 13px; }
.chart .tick, .chart .legend, .chart .bar-label, .chart .point-label { font-size: 12px; }
.chart .cell-label { font-size: 13px; }
.chart .empty { font-size: 14px; }
@media (max-width: 600px) {
  .chart .chart-title { font-size: 20px; }
  .chart .axis-label { font-size: 17px; }
  .chart .tick, .chart .legend, .chart .bar-label, .chart .point-label { font-size: 16px; }
  .chart .cell-label { font-size: 16px; }
  .chart .empty { font-size: 18px; }
}
@media print { .chart { break-inside: avoid; } }

"""
