package envconfig

import (
	"fmt"
	"strings"
)

// MarkdownTable renders vars as the README's configuration table of one
// role: | `NAME` | `default` | meaning |.
func MarkdownTable(vars []Var) string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n| --- | --- | --- |\n")
	seen := make(map[string]bool)
	for _, v := range vars {
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		doc := strings.ReplaceAll(v.Doc, "|", `\|`)
		if v.Secret {
			doc += " (secret: never logged)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, doc)
	}
	return b.String()
}

// ReplaceBlock replaces the text between the lines "<!-- NAME:begin -->"
// and "<!-- NAME:end -->" of doc with body.
func ReplaceBlock(doc, name, body string) (string, error) {
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("block %q not found (want lines %q and %q)", name, strings.TrimSpace(begin), end)
	}
	return doc[:i+len(begin)] + body + doc[j:], nil
}
