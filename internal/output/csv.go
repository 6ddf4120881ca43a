package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/salesdag/salesdag/internal/frame"
)

// csvBufSize is the bufio size for CSV output: large enough that a 100k-row
// table goes out in a few dozen write calls.
const csvBufSize = 64 << 10

// WriteCSV writes f exactly as pandas' DataFrame.to_csv(index=False) does on
// Linux: a header row, "\n" line ends, minimal quoting (a field is quoted
// only when it contains a comma, a double quote, "\r" or "\n"; quotes are
// doubled), floats in Python repr form (850.0, 1350.12, -0.0), null (Valid
// false or a NaN float) as an empty field, ints as integers, bools as
// True/False and dates as YYYY-MM-DD.
//
// Like Python's csv module, a row made of a single empty field is written as
// `""` so that it does not read back as a blank line.
func WriteCSV(w io.Writer, f *frame.Frame) error {
	if f == nil {
		return errors.New("output: write CSV: frame is nil")
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("output: write CSV: %w", err)
	}
	bw := bufio.NewWriterSize(w, csvBufSize)
	cols := f.Columns
	single := len(cols) == 1

	line := make([]byte, 0, 256)
	for i := range cols {
		if i > 0 {
			line = append(line, ',')
		}
		line = appendCSVString(line, cols[i].Name)
	}
	if single && cols[0].Name == "" {
		line = append(line, `""`...)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return fmt.Errorf("output: write CSV header: %w", err)
	}

	rows := f.Rows()
	for r := 0; r < rows; r++ {
		line = line[:0]
		for i := range cols {
			if i > 0 {
				line = append(line, ',')
			}
			line = appendCSVCell(line, &cols[i], r)
		}
		if single && len(line) == 0 {
			line = append(line, `""`...)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("output: write CSV row %d: %w", r+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output: write CSV: %w", err)
	}
	return nil
}

// appendCSVCell appends row r of column c in pandas' CSV form.
func appendCSVCell(b []byte, c *frame.Column, r int) []byte {
	if c.Valid != nil && !c.Valid[r] {
		return b
	}
	switch c.Kind {
	case frame.KindFloat:
		v := c.Floats[r]
		if v != v { // NaN is null, as in pandas
			return b
		}
		return appendPyFloat(b, v)
	case frame.KindInt:
		return strconv.AppendInt(b, c.Ints[r], 10)
	case frame.KindString:
		return appendCSVString(b, c.Strings[r])
	case frame.KindBool:
		if c.Bools[r] {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case frame.KindDate:
		return appendDate(b, c.Dates[r])
	}
	return b // unreachable: Validate rejected unknown kinds
}

// appendCSVString appends s, quoted only when Python's csv.QUOTE_MINIMAL
// would quote it.
func appendCSVString(b []byte, s string) []byte {
	if !needsQuote(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			return true
		}
	}
	return false
}

// appendPyFloat appends v as Python's repr writes it. The common cases are
// made fast; everything else goes to frame.AppendFloat, the reference.
func appendPyFloat(b []byte, v float64) []byte {
	a := math.Abs(v)
	// Money and rates: if a decimal k/10^p (p = 2 or 4) rounds to v, that
	// decimal with trailing zeros trimmed is repr's shortest form. Below
	// the limit one ulp is less than 10^-p, so no other decimal of p or
	// fewer places rounds to v, and a decimal with fewer significant
	// digits would have fewer places. Integer formatting is several times
	// faster than strconv's general shortest-digits search.
	if a < 1e13 {
		if k := math.Round(a * 100); k/100 == a {
			return appendDecimal(b, math.Signbit(v), uint64(k), 2)
		}
		if a < 1e11 {
			if k := math.Round(a * 1e4); k/1e4 == a {
				return appendDecimal(b, math.Signbit(v), uint64(k), 4)
			}
		}
	}
	// In the range where repr uses positional notation (1e-4 <= |v| < 1e16,
	// and zero) strconv's shortest 'f' digits are repr's digits; only ".0"
	// may be missing.
	if (a >= 1e-4 && a < 1e16) || a == 0 {
		start := len(b)
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
		for _, c := range b[start:] {
			if c == '.' {
				return b
			}
		}
		return append(b, '.', '0')
	}
	return frame.AppendFloat(b, v)
}

// pow10 holds 10^p for the places appendDecimal handles.
var pow10 = [...]uint64{1, 10, 100, 1000, 10000}

// appendDecimal appends k/10^places with trailing zeros trimmed but at least
// one decimal ("12.5", "12.05", "12.0"), signed when neg.
func appendDecimal(b []byte, neg bool, k uint64, places int) []byte {
	if neg {
		b = append(b, '-')
	}
	scale := pow10[places]
	b = strconv.AppendUint(b, k/scale, 10)
	b = append(b, '.')
	frac := k % scale
	if frac == 0 {
		return append(b, '0')
	}
	for scale /= 10; frac != 0; scale /= 10 {
		b = append(b, byte('0'+frac/scale))
		frac %= scale
	}
	return b
}

// appendDate appends d as YYYY-MM-DD without going through time.Time,
// using the days-to-civil algorithm (proleptic Gregorian calendar). Years
// outside 0..9999 cannot be written in four digits; they fall back to
// frame.Date's own formatting.
func appendDate(b []byte, d frame.Date) []byte {
	y, m, dd := civil(int64(d))
	if y < 0 || y > 9999 {
		return append(b, d.String()...)
	}
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+dd/10), byte('0'+dd%10))
}

// civil converts days since 1970-01-01 to year, month, day.
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11]
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}
