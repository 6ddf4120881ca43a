package pipeline

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/salesdag/salesdag/internal/frame"
)

// renderCSV writes a frame as pandas' to_csv(index=False) does for the
// column types our tables use: floats in repr form, null as an empty
// field, booleans True/False, dates YYYY-MM-DD, and strings quoted when
// they contain a comma, quote or line break. It lets the tests compare
// tables byte for byte without depending on the output package.
func renderCSV(f *frame.Frame) string {
	var b strings.Builder
	for i, c := range f.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Name)
	}
	b.WriteByte('\n')
	for r := range f.Rows() {
		for i := range f.Columns {
			c := &f.Columns[i]
			if i > 0 {
				b.WriteByte(',')
			}
			if c.IsNull(r) {
				continue
			}
			switch c.Kind {
			case frame.KindInt:
				b.WriteString(strconv.FormatInt(c.Ints[r], 10))
			case frame.KindFloat:
				b.WriteString(frame.FormatFloat(c.Floats[r]))
			case frame.KindBool:
				if c.Bools[r] {
					b.WriteString("True")
				} else {
					b.WriteString("False")
				}
			case frame.KindDate:
				b.WriteString(c.Dates[r].String())
			case frame.KindString:
				s := c.Strings[r]
				if strings.ContainsAny(s, ",\"\r\n") {
					s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
				}
				b.WriteString(s)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// renderJSON indents like json.dump(indent=2).
func renderJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
