package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// GenerateRandom writes a random but valid input for differential tests:
// every choice, the file's shape included, comes from seed. One seed may
// give a single row on one day, another 300,000 shuffled rows over four
// years with gaps, CRLF line ends, a BOM, reordered and extra columns,
// quoted fields, NA tokens, duplicates (some spelled differently, such as
// 1200.50 and 1200.5), integers, 1-4 decimals, exponents, .xx5 ties, tiny
// and huge magnitudes, zeros and negatives. rows < 0 lets the seed choose
// the number of data rows; otherwise it fixes it (the rest of the shape is
// the same either way).
//
// Only what SPEC section 1 and the README's dialect call valid is
// written, within the range where the pandas reference reads the same
// values: dates between 1950 and 2110 (pandas timestamps end in 2262),
// amounts with at most 15 significant digits (17 for a duplicate spelled
// with a trailing zero) and small exponents, and at least one row that
// survives cleaning.
func GenerateRandom(w io.Writer, seed int64, rows int) error {
	r := &rng{s: uint64(seed)*0x2545F4914F6CDD1D + 0x1234567}
	s := drawShape(r)
	if rows >= 0 {
		s.rows = rows
	}
	if s.rows < 1 {
		s.rows = 1
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := s.write(bw, r); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// shape is what one seed draws before any row.
type shape struct {
	rows      int
	start     int32 // first day
	span      int   // days from the first to the last possible day
	density   int   // per mille of the days in the span that have sales
	products  int
	customers int
	numericID bool // ids like 00042 (text, so 42 and 00042 differ)

	decimals  int // 0-4 digits after the point; -1: mixed per row
	magnitude int // 0 normal, 1 tiny, 2 huge, 3 mixed
	exponent  int // per mille of amounts written with an exponent
	ties      int // per mille of amounts ending in a 5 in the third decimal
	oddForm   int // per mille of amounts as +x, x., .x or with spaces
	nulls     int // per mille of rows with a null (empty or NA token)
	bad       int // per mille of rows with amount <= 0
	dups      int // per mille of rows repeating an earlier row
	order     int // 0 sorted, 1 mostly sorted, 2 shuffled, 3 reversed
	crlf      bool
	bom       bool
	lastNL    bool // the last line ends with a newline
	blank     int  // per mille of blank (or whitespace-only) lines
	quote     int  // per mille of fields quoted
	oddText   int  // per mille of ids with commas, quotes, newlines, spaces, non-ASCII
	emptyRows int  // per mille of ",,," rows
	cols      []string
}

var randomExtraColumns = []string{"region", "note", "channel"}

func drawShape(r *rng) shape {
	var s shape
	switch t := r.intn(100); {
	case t < 30:
		s.rows = 1 + r.intn(20)
	case t < 65:
		s.rows = 21 + r.intn(2000)
	case t < 95:
		s.rows = 2_000 + r.intn(30_000)
	default:
		s.rows = 30_000 + r.intn(270_001)
	}
	s.start = daysFromCivil(1950+r.intn(150), 1+r.intn(12), 1+r.intn(28))
	switch t := r.intn(10); {
	case t == 0:
		s.span = 0
	case t < 4:
		s.span = 1 + r.intn(14)
	case t < 7:
		s.span = 15 + r.intn(90)
	default:
		s.span = 100 + r.intn(1400)
	}
	s.density = []int{1000, 1000, 900, 500, 100, 20}[r.intn(6)]
	s.products = []int{1, 3, 20, 500, 5000}[r.intn(5)]
	s.customers = []int{1, 10, 1000, 100_000}[r.intn(4)]
	s.numericID = r.intn(4) == 0
	s.decimals = r.intn(6) - 1
	s.magnitude = []int{0, 0, 0, 1, 2, 3}[r.intn(6)]
	s.exponent = []int{0, 0, 10, 300}[r.intn(4)]
	s.ties = []int{0, 0, 50, 500}[r.intn(4)]
	s.oddForm = []int{0, 0, 20, 200}[r.intn(4)]
	s.nulls = []int{0, 0, 5, 20, 200}[r.intn(5)]
	s.bad = []int{0, 0, 10, 100}[r.intn(4)]
	s.dups = []int{0, 0, 1, 20, 200}[r.intn(5)]
	s.order = r.intn(4)
	s.crlf = r.intn(3) == 0
	s.bom = r.intn(5) == 0
	s.lastNL = r.intn(5) != 0
	s.blank = []int{0, 0, 0, 5}[r.intn(4)]
	s.quote = []int{0, 0, 10, 300}[r.intn(4)]
	s.oddText = []int{0, 0, 20}[r.intn(3)]
	s.emptyRows = []int{0, 0, 0, 5}[r.intn(4)]
	s.cols = append([]string(nil), ColumnNames[:]...)
	s.cols = append(s.cols, randomExtraColumns[:[]int{0, 0, 0, 1, 3}[r.intn(5)]]...)
	if r.intn(2) == 0 { // any column order
		for i := len(s.cols) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			s.cols[i], s.cols[j] = s.cols[j], s.cols[i]
		}
	}
	return s
}

// randRow is one generated row before it is written: its fields by column
// name (an absent key is written as an empty field), and its day for
// sorting.
type randRow struct {
	day    int32
	fields map[string]string
	clean  bool // the row that guarantees a non-empty cleaned table
}

func (s *shape) write(w *bufio.Writer, r *rng) error {
	// The days that have sales.
	var days []int32
	for d := 0; d <= s.span; d++ {
		if r.intn(1000) < s.density {
			days = append(days, s.start+int32(d))
		}
	}
	if len(days) == 0 {
		days = append(days, s.start+int32(r.intn(s.span+1)))
	}
	rows := make([]randRow, 0, s.rows)
	for i := range s.rows {
		if i > 0 && r.intn(1000) < s.dups {
			rows = append(rows, s.duplicate(r, rows[r.intn(len(rows))]))
			continue
		}
		day := days[i*len(days)/s.rows]
		if s.order != 0 || r.intn(50) == 0 {
			day = days[r.intn(len(days))]
		}
		rows = append(rows, s.row(r, day, i == 0))
	}
	switch s.order {
	case 0, 1:
		sortRows(rows)
		if s.order == 1 { // a few stragglers
			for range len(rows) / 50 {
				i, j := r.intn(len(rows)), r.intn(len(rows))
				rows[i], rows[j] = rows[j], rows[i]
			}
		}
	case 2: // shuffled as drawn
	case 3:
		sortRows(rows)
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}

	nl := "\n"
	if s.crlf {
		nl = "\r\n"
	}
	if s.bom {
		w.WriteString("\xEF\xBB\xBF")
	}
	w.WriteString(strings.Join(s.cols, ","))
	var line []byte
	for _, row := range rows {
		w.WriteString(nl)
		if r.intn(1000) < s.blank { // blank and whitespace-only lines are skipped
			w.WriteString([]string{"", "", " ", "\t ", "   "}[r.intn(5)])
			w.WriteString(nl)
		}
		line = line[:0]
		if !row.clean && r.intn(1000) < s.emptyRows {
			line = append(line, strings.Repeat(",", len(s.cols)-1)...)
		} else {
			for k, c := range s.cols {
				if k > 0 {
					line = append(line, ',')
				}
				line = s.appendField(line, r, row.fields[c])
			}
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	if s.lastNL {
		w.WriteString(nl)
	}
	return nil
}

func sortRows(rows []randRow) {
	// A stable merge sort by day, so equal days keep their drawn order.
	if len(rows) < 2 {
		return
	}
	tmp := make([]randRow, len(rows))
	for width := 1; width < len(rows); width *= 2 {
		for lo := 0; lo < len(rows); lo += 2 * width {
			mid, hi := min(lo+width, len(rows)), min(lo+2*width, len(rows))
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if rows[j].day < rows[i].day {
					tmp[k] = rows[j]
					j++
				} else {
					tmp[k] = rows[i]
					i++
				}
				k++
			}
			k += copy(tmp[k:], rows[i:mid])
			copy(tmp[k:], rows[j:hi])
		}
		copy(rows, tmp)
	}
}

// row draws one row; clean forces a row that survives cleaning.
func (s *shape) row(r *rng, day int32, clean bool) randRow {
	f := make(map[string]string, len(s.cols))
	f["date"] = dateString(day)
	f["product_id"] = s.id(r, 'P', s.products)
	f["customer_id"] = s.id(r, 'C', s.customers)
	f["amount"] = s.amount(r, !clean && r.intn(1000) < s.bad)
	for _, c := range randomExtraColumns {
		switch r.intn(3) {
		case 0: // empty: extra columns play no part
		case 1:
			f[c] = "x" + strconv.Itoa(r.intn(5))
		default:
			f[c] = NATokens[r.intn(len(NATokens))]
		}
	}
	if !clean && r.intn(1000) < s.nulls {
		col := ColumnNames[r.intn(len(ColumnNames))]
		f[col] = NATokens[r.intn(len(NATokens))]
	}
	return randRow{day: day, fields: f, clean: clean}
}

// duplicate repeats an earlier row, sometimes with the amount spelled
// another way (a trailing zero, a leading plus).
func (s *shape) duplicate(r *rng, of randRow) randRow {
	f := make(map[string]string, len(of.fields))
	for k, v := range of.fields {
		f[k] = v
	}
	a := f["amount"]
	plain := a != "" && !strings.ContainsAny(a, "eE #") && a[len(a)-1] >= '0' && a[len(a)-1] <= '9'
	if r.intn(3) == 0 && plain {
		if r.intn(2) == 0 && strings.Contains(a, ".") {
			f["amount"] = a + "0"
		} else if a[0] != '-' && a[0] != '+' {
			f["amount"] = "+" + a
		}
	}
	return randRow{day: of.day, fields: f}
}

func (s *shape) id(r *rng, prefix byte, n int) string {
	v := 1 + r.intn(n)
	if r.intn(1000) < s.oddText {
		return []string{" ", "a,b", `say "hi"`, "line\nbreak", "crlf\r\nin", " lead", "trail ", "Ünïcødé", "€", "P1", "p1"}[r.intn(11)]
	}
	if s.numericID {
		// 42 and 0042 are different ids: ids compare as text.
		return string(appendPadded(nil, v, r.intn(5)))
	}
	return string(prefix) + strconv.Itoa(v)
}

// amount draws an amount's text: positive unless nonPositive.
func (s *shape) amount(r *rng, nonPositive bool) string {
	if nonPositive {
		return []string{"0", "0.00", "-0", "-0.0", "-1.50", "-12", "-1e2", "-0.005", "0e0"}[r.intn(9)]
	}
	dec := s.decimals
	if dec < 0 {
		dec = r.intn(5)
	}
	tie := r.intn(1000) < s.ties
	if tie {
		dec = 3
	}
	// Magnitude: the number of integer digits.
	var intDigits int
	mag := s.magnitude
	if mag == 3 {
		mag = r.intn(3)
	}
	switch mag {
	case 0:
		intDigits = 1 + r.intn(4)
	case 1:
		intDigits = 0
	default:
		intDigits = 6 + r.intn(15-6-dec+1)
	}
	// The digits as an integer of intDigits+dec digits, at most 15.
	var mant uint64
	switch {
	case intDigits == 0 && dec == 0:
		mant = 1
	case intDigits == 0:
		// tiny: 0.0001 - 0.0999 (or fewer places)
		mant = 1 + uint64(r.next()%pow10u(max(dec-1, 1)))
	default:
		lo := pow10u(intDigits - 1 + dec)
		mant = lo + r.next()%(pow10u(intDigits+dec)-lo)
	}
	if tie {
		mant = mant - mant%10 + 5
	}
	if mant == 0 {
		mant = 1
	}
	digits := strconv.FormatUint(mant, 10)
	for len(digits) <= dec {
		digits = "0" + digits
	}
	var text string
	if r.intn(1000) < s.exponent {
		// d.ddddde±x with the same value: shift the point.
		sig := strings.TrimLeft(digits, "0")
		exp := len(sig) - dec - 1
		text = sig[:1]
		if len(sig) > 1 {
			text += "." + sig[1:]
		}
		switch r.intn(3) {
		case 0:
			text += "e" + strconv.Itoa(exp)
		case 1:
			text += "E" + fmt.Sprintf("%+d", exp)
		default:
			// Or a plain mantissa with a negative exponent.
			text = sig + "e-" + strconv.Itoa(dec)
		}
	} else {
		text = digits[:len(digits)-dec]
		if dec > 0 {
			text += "." + digits[len(digits)-dec:]
		}
	}
	if r.intn(1000) < s.oddForm {
		switch r.intn(4) {
		case 0:
			text = "+" + text
		case 1:
			text = " " + text + "  "
		case 2:
			if !strings.ContainsAny(text, ".eE") {
				text += "."
			}
		case 3:
			if strings.HasPrefix(text, "0.") {
				text = text[1:]
			}
		}
	}
	return text
}

func pow10u(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// appendField writes a field, quoting it when it has to be and sometimes
// when it need not be.
func (s *shape) appendField(b []byte, r *rng, v string) []byte {
	must := strings.ContainsAny(v, ",\"\r\n")
	if !must && r.intn(1000) >= s.quote {
		return append(b, v...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(v, `"`, `""`)...)
	return append(b, '"')
}
