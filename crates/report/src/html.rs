//! The page: one HTML file with everything inline, so it opens from disk, mails as an
//! attachment and prints. The markup is well-formed XML (polyglot HTML5), which lets
//! tests parse it with an XML parser, and a Content-Security-Policy forbids scripts and
//! every network fetch, so a report cannot phone home or break when offline.

use std::fmt::Write as _;

/// A report page being built: sections of headings, paragraphs, tables and figures.
#[derive(Debug, Default)]
pub struct Page {
    title: String,
    subtitle: String,
    body: String,
    figures: usize,
}

/// One figure: an SVG plot with its title and a caption saying how to read it.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Stable id (`fig-heatmap`), for links and for tests to find it.
    pub id: String,
    pub title: String,
    pub svg: String,
    pub caption: String,
}

/// A table: headers (with units) and rows of text already formatted for a person.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// How many leading columns hold names (left-aligned); the rest are numbers.
    pub left: usize,
    /// Rows to highlight (a failed check, a Pareto-optimal config).
    pub marked: Vec<bool>,
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
p.sub { color: #555; margin-top: 0; }
figure { margin: 1.5em 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; }
figcaption b { color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; page-break-inside: avoid; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; }
th { background: #f3f3f3; text-align: right; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td.name, th.name { text-align: left; }
tr.marked td { background: #fff4d6; }
caption { caption-side: top; text-align: left; font-size: 0.9em; color: #444; padding-bottom: 0.3em; }
nav { font-size: 0.9em; }
@media print { body { margin: 0; max-width: none; } nav { display: none; } h2 { page-break-after: avoid; } }
";

/// `<`, `>`, `&` and quotes escaped for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Page {
    pub fn new(title: &str, subtitle: &str) -> Self {
        Self {
            title: title.to_string(),
            subtitle: subtitle.to_string(),
            ..Self::default()
        }
    }

    pub fn section(&mut self, heading: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(heading));
    }

    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", escape(text));
    }

    pub fn figure(&mut self, f: Figure) {
        self.figures += 1;
        let _ = writeln!(
            self.body,
            "<figure id=\"{}\" class=\"plot\">\n{}\n<figcaption><b>{}.</b> {}</figcaption>\n</figure>",
            escape(&f.id),
            strip_xml_declaration(&f.svg),
            escape(&f.title),
            escape(&f.caption)
        );
    }

    pub fn table(&mut self, t: &Table) {
        let cls = |c: usize| if c < t.left { " class=\"name\"" } else { "" };
        self.body.push_str("<table>\n");
        if !t.caption.is_empty() {
            let _ = writeln!(self.body, "<caption>{}</caption>", escape(&t.caption));
        }
        self.body.push_str("<thead><tr>");
        for (c, h) in t.headers.iter().enumerate() {
            let _ = write!(self.body, "<th{}>{}</th>", cls(c), escape(h));
        }
        self.body.push_str("</tr></thead>\n<tbody>\n");
        for (r, row) in t.rows.iter().enumerate() {
            let mark = t.marked.get(r).copied().unwrap_or(false);
            self.body.push_str(if mark {
                "<tr class=\"marked\">"
            } else {
                "<tr>"
            });
            for (c, v) in row.iter().enumerate() {
                let _ = write!(self.body, "<td{}>{}</td>", cls(c), escape(v));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody>\n</table>\n");
    }

    /// Figures added so far.
    pub fn figure_count(&self) -> usize {
        self.figures
    }

    /// The whole document.
    pub fn to_html(&self) -> String {
        let mut s = String::with_capacity(self.body.len() + 4096);
        s.push_str(
            "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n",
        );
        s.push_str("<meta charset=\"utf-8\"/>\n");
        s.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\"/>\n",
        );
        s.push_str("<meta name=\"generator\" content=\"scalelab report\"/>\n");
        let _ = writeln!(s, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>");
        let _ = writeln!(s, "<h1>{}</h1>", escape(&self.title));
        if !self.subtitle.is_empty() {
            let _ = writeln!(s, "<p class=\"sub\">{}</p>", escape(&self.subtitle));
        }
        s.push_str(&self.body);
        s.push_str("</body>\n</html>\n");
        s
    }
}

/// plotters writes an XML declaration, which is not allowed inside a document.
fn strip_xml_declaration(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let mut p = Page::new("t <x>", "");
        p.paragraph("1 < 2");
        let html = p.to_html();
        assert!(html.contains("<title>t &lt;x&gt;</title>"));
        assert!(html.contains("<p>1 &lt; 2</p>"));
    }

    #[test]
    fn declarations_are_removed_from_inline_svg() {
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }
}
