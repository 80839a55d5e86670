/// Escaping for everything the report writes into its HTML and the SVG inside it.
public enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` as character references, so it is inert both as element
    /// text and inside a quoted attribute value. Control characters other than tab, newline and
    /// carriage return (not allowed in HTML text, nor in XML, which the SVG must also be) become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// ` name="value"`, the value escaped; nothing for a nil value.
    public static func attribute(_ name: String, _ value: String?) -> String {
        guard let value else { return "" }
        return " \(name)=\"\(escape(value))\""
    }
}
