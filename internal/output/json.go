package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// WriteJSON writes v as Python's json.dump(v, f, indent=2) does with its
// default options: two-space indent, "key": value, "," at line ends, no
// trailing newline, no HTML escaping of <, > and &, and every non-ASCII
// character (and DEL) escaped as \uXXXX (ensure_ascii=True), with surrogate
// pairs above U+FFFF.
//
// Values are encoded by encoding/json, so floats that must look like
// Python's (8001.0 rather than 8001) or may be NaN (null) should be
// frame.Float or frame.NullFloat; a plain float64 NaN is an error, never
// written.
func WriteJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("output: encode JSON (%T): %w; use frame.Float or frame.NullFloat for values that may be NaN or infinite", v, err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}) // Encode adds one; json.dump does not
	b = asciiEscape(b)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("output: write JSON: %w", err)
	}
	return nil
}

// asciiEscape rewrites every byte >= 0x7F of encoded JSON as Python's
// ensure_ascii does. Outside strings JSON is pure ASCII, so any such byte is
// inside a string and can be escaped without parsing. encoding/json has
// already replaced invalid UTF-8 by U+FFFD.
func asciiEscape(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf && b[i] != 0x7F {
		i++
	}
	if i == len(b) {
		return b
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/8+16)
	out = append(out, b[:i]...)
	u := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
	}
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf && c != 0x7F {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			u(0xD800 + r>>10)
			u(0xDC00 + r&0x3FF)
			continue
		}
		u(r)
	}
	return out
}
