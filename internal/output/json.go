package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/salesdag/salesdag/internal/frame"
)

// WriteJSON writes v as Python's json.dump(v, f, indent=2) does with its
// default options: two-space indent, "key": value, "," at line ends, no
// HTML escaping of <, > and &, and every non-ASCII
// character (and DEL) escaped as \uXXXX (ensure_ascii=True), with surrogate
// pairs above U+FFFF. Unlike json.dump, the file ends with a newline, as
// text files on a terminal should.
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
	b := asciiEscape(buf.Bytes()) // Encode ends it with a newline
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

// WriteJSONRecords writes a table as a JSON array of records, one object
// per row with the columns in order, laid out as WriteJSON lays out a
// slice of structs (pandas' to_dict(orient="records") through json.dump
// with indent=2, plus a final newline): floats in repr form, null for a
// null cell or NaN, dates as YYYY-MM-DD, booleans true/false.
func WriteJSONRecords(w io.Writer, f *frame.Frame) error {
	if f == nil {
		return errors.New("output: write JSON: frame is nil")
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("output: write JSON: %w", err)
	}
	bw := bufio.NewWriterSize(w, csvBufSize)
	rows := f.Rows()
	if rows == 0 {
		bw.WriteString("[]\n")
		return flushJSON(bw)
	}
	// Keys are the same on every row: encode them once.
	keys := make([][]byte, len(f.Columns))
	for i := range f.Columns {
		keys[i] = append(appendJSONString([]byte("    "), f.Columns[i].Name), ": "...)
	}
	line := make([]byte, 0, 256)
	bw.WriteString("[\n")
	for r := range rows {
		line = append(line[:0], "  {"...)
		for i := range f.Columns {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, '\n')
			line = append(line, keys[i]...)
			line = appendJSONCell(line, &f.Columns[i], r)
		}
		if len(f.Columns) > 0 {
			line = append(line, "\n  "...)
		}
		line = append(line, '}')
		if r < rows-1 {
			line = append(line, ',')
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("output: write JSON row %d: %w", r+1, err)
		}
	}
	bw.WriteString("]\n")
	return flushJSON(bw)
}

func flushJSON(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output: write JSON: %w", err)
	}
	return nil
}

// appendJSONCell appends row r of column c as a JSON value.
func appendJSONCell(b []byte, c *frame.Column, r int) []byte {
	if c.IsNull(r) {
		return append(b, "null"...)
	}
	switch c.Kind {
	case frame.KindFloat:
		v := c.Floats[r]
		if math.IsInf(v, 0) {
			return append(b, "null"...) // as frame.Float: JSON has no infinity
		}
		return appendPyFloat(b, v)
	case frame.KindInt:
		return strconv.AppendInt(b, c.Ints[r], 10)
	case frame.KindString:
		return appendJSONString(b, c.Strings[r])
	case frame.KindBool:
		return strconv.AppendBool(b, c.Bools[r])
	case frame.KindDate:
		b = append(b, '"')
		return append(appendDate(b, c.Dates[r]), '"')
	}
	return append(b, "null"...) // unreachable: Validate rejected unknown kinds
}

// appendJSONString appends s as WriteJSON encodes a string: no HTML
// escaping, non-ASCII as \uXXXX.
func appendJSONString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7F && c != '"' && c != '\\'
	}
	if plain {
		return append(append(append(b, '"'), s...), '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, asciiEscape(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))...)
}
