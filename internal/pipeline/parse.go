package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// pad is how many readable bytes every parse buffer has past its data, so
// the parsers can load eight bytes at a time without bounds trouble.
const pad = 8

// maxRawBytes caps the raw text kept for a rejected row.
const maxRawBytes = 4096

// layout is what the header says about the columns.
type layout struct {
	nfields int    // fields per record
	col     [4]int // field index of date, product_id, amount, customer_id
	names   []string
}

// Roles of the four required columns, in this order everywhere.
const (
	colDate = iota
	colProduct
	colAmount
	colCustomer
)

// ColumnNames are the required columns, in the order the typed columns use.
var ColumnNames = [4]string{"date", "product_id", "amount", "customer_id"}

// segment is the typed columns of one chunk of rows. Chunks are kept apart
// (not concatenated) so that building the table costs no copy.
type segment struct {
	dates []int32
	prods []uint32  // dictionary codes
	custs []uint64  // inline id keys (see idKey)
	amts  []float64 // nullAmount (NaN) for null
	dict  int       // which worker's dictionaries the codes refer to until merged
}

// Customer ids are many (tens of thousands) and looked up at random, so a
// dictionary lookup per row would cost a cache miss. An id of at most seven
// bytes is stored inline instead, as its bytes plus its length in the top
// byte, which is exact and needs no lookup; a longer id is interned and
// stored as longID|code.
const (
	longID   uint64 = 1 << 63
	nullCust uint64 = math.MaxUint64
)

// idKey returns the inline key of an id of at most seven bytes, given its
// zero-padded first word.
func idKey(n int, w uint64) uint64 { return w | uint64(n)<<56 }

// idBytes appends the bytes of an inline key.
func idBytes(b []byte, k uint64) []byte {
	n := int(k >> 56)
	for i := 0; i < n; i++ {
		b = append(b, byte(k>>(8*i)))
	}
	return b
}

func (s *segment) len() int { return len(s.dates) }

// chunkResult is what parsing one chunk produced.
type chunkResult struct {
	seg      segment  // rows mode
	agg      chunkAgg // streaming mode
	nulls    [4]int64
	minDate  int32 // over non-null dates; minDate > maxDate when none
	maxDate  int32
	rejected []RejectedRow
	fatal    *RejectedRow // first bad row, when failing on bad rows
}

// parser turns chunks of records into typed columns. Each worker goroutine
// owns one, with its own dictionaries; they are merged after the read.
type parser struct {
	lay          *layout
	skipBad      bool
	fast         bool // the header allows parseFast
	prods, custs *dict
	id           int

	agg      *workerAgg // streaming mode: what the rows are reduced to
	base     int64      // source offset of the chunk buffer's first byte
	recStart int        // where the current record starts in the buffer

	st, en  []int  // bounds of the current record's fields
	scratch []byte // unescaped fields of a quoted record (padded)

	lastDateW  uint64 // cache of the last date text and its value:
	lastDateW2 uint16 // sorted files repeat the same date row after row
	lastDate   int32
	haveDate   bool
}

func newParser(lay *layout, skipBad bool, id int) *parser {
	return &parser{
		lay: lay, skipBad: skipBad, id: id, fast: lay.fastLayout(),
		prods: newDict(), custs: newDict(),
		st: make([]int, lay.nfields), en: make([]int, lay.nfields),
		scratch: make([]byte, 0, 256),
	}
}

func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+8]) }

// fieldWord returns the first eight bytes of b[s:e], zero padded; b must
// have eight readable bytes from s.
func fieldWord(b []byte, s, e int) uint64 {
	w := load64(b, s)
	if n := e - s; n < 8 {
		w &= 1<<(8*uint(n)) - 1
	}
	return w
}

const (
	lo7      = 0x7F7F7F7F7F7F7F7F
	commas   = 0x2C2C2C2C2C2C2C2C
	newlines = 0x0A0A0A0A0A0A0A0A
)

// byteMask has the high bit set in each byte of w equal to the byte
// repeated in rep. It is exact per byte (no borrow crosses bytes), unlike
// the classic has-zero trick.
func byteMask(w, rep uint64) uint64 {
	x := w ^ rep
	return ^((x&lo7 + lo7) | x) & ^uint64(lo7)
}

func commaMask(w uint64) uint64 { return byteMask(w, commas) }

func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if load64(b, i)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// parse reads the records in buf[off:n] (which start and end on record
// boundaries; buf has pad readable bytes past n) whose first line is line.
func (p *parser) parse(buf []byte, off, n int, line int64, res *chunkResult) {
	data := buf[:n]
	hasQuote := bytes.IndexByte(data[off:], '"') >= 0
	// Whether the chunk is ASCII is found while scanning (plain records);
	// quoted records need it first.
	ascii := hasQuote && isASCII(data[off:])
	rows := bytes.Count(data[off:], []byte{'\n'}) + 1 // an upper bound
	if p.agg == nil {
		if s := &res.seg; cap(s.dates) >= rows { // a segment given to reuse
			*s = segment{dates: s.dates[:0], prods: s.prods[:0], custs: s.custs[:0], amts: s.amts[:0], dict: p.id}
		} else {
			*s = segment{
				dates: make([]int32, 0, rows), prods: make([]uint32, 0, rows),
				custs: make([]uint64, 0, rows), amts: make([]float64, 0, rows), dict: p.id,
			}
		}
	} else {
		select { // reuse the lists of a chunk already merged
		case b := <-p.agg.free:
			res.agg.dates, res.agg.amts = b.dates, b.amts
		default:
		}
		res.agg.dates = slices.Grow(res.agg.dates[:0], rows)
		res.agg.amts = slices.Grow(res.agg.amts[:0], rows)
	}
	res.minDate, res.maxDate = math.MaxInt32, math.MinInt32
	if !hasQuote {
		if p.fast {
			p.parseFast(buf, off, n, line, res)
		} else {
			p.parsePlain(buf, off, n, line, ascii, res)
		}
		return
	}
	// Lines without a quote take the plain path one at a time; a record
	// with quotes may span lines and goes through the tokenizer.
	pos := off
	for pos < n {
		next := n
		if e := bytes.IndexByte(data[pos:], '\n'); e >= 0 {
			next = pos + e + 1
		}
		if bytes.IndexByte(data[pos:next], '"') < 0 {
			if !p.parsePlain(buf, pos, next, line, ascii, res) {
				return
			}
			pos, line = next, line+1
			continue
		}
		var lines int
		var ok bool
		next, lines, ok = p.quotedRecord(buf, n, pos, line, ascii, res)
		if !ok {
			return
		}
		pos, line = next, line+int64(lines)
	}
}

// parsePlain parses buf[off:n], records without any quote, so every
// newline ends a record. One pass loads eight bytes at a time and visits
// each comma and newline through a bit mask; there is no per-line search
// or per-field call. The high bits of the words a record spans tell
// whether it is ASCII (else its UTF-8 is checked), unless ascii says so
// for the whole chunk. It returns false when the chunk must stop.
func (p *parser) parsePlain(buf []byte, off, n int, line int64, ascii bool, res *chunkResult) bool {
	F := p.lay.nfields
	st, en := p.st[:F], p.en[:F]
	nf, rs, fs := 0, off, off
	var high uint64 // high bits seen since the record started
	for i := off; i < n; i += 8 {
		w := load64(buf, i)
		if r := n - i; r < 8 {
			w &= 1<<(8*uint(r)) - 1
		}
		high |= w
		nl := byteMask(w, newlines)
		for m := commaMask(w) | nl; m != 0; m &= m - 1 {
			bit := m & -m
			at := i + bits.TrailingZeros64(m)>>3
			if nl&bit == 0 { // a comma
				if nf < F {
					st[nf], en[nf] = fs, at
				}
				nf++
				fs = at + 1
				continue
			}
			e := at
			if e > rs && buf[e-1] == '\r' {
				e--
			}
			// The word's bytes past the newline belong to the next record:
			// a high bit anywhere in the words so far only asks for a check.
			if !p.endPlain(buf, rs, fs, e, nf, line, ascii || high&0x8080808080808080 == 0, res) {
				return false
			}
			line++
			nf, rs, fs = 0, at+1, at+1
			high = w &^ (1<<(8*uint(at+1-i)) - 1) // the rest of this word
		}
	}
	if rs < n {
		e := n
		if buf[e-1] == '\r' {
			e--
		}
		return p.endPlain(buf, rs, fs, e, nf, line, ascii || high&0x8080808080808080 == 0, res)
	}
	return true
}

// endPlain finishes a record of parsePlain: buf[rs:e] with nf commas, the
// last field starting at fs. It returns false when the chunk must stop.
func (p *parser) endPlain(buf []byte, rs, fs, e, nf int, line int64, ascii bool, res *chunkResult) bool {
	if nf == 0 && (e <= rs || isBlank(buf[rs:e])) {
		return true // blank line
	}
	if nf < p.lay.nfields {
		p.st[nf], p.en[nf] = fs, e
	}
	if !ascii && !utf8.Valid(buf[rs:e]) {
		return p.bad(line, "invalid UTF-8", buf[rs:e], res)
	}
	if nf+1 != p.lay.nfields {
		return p.bad(line, fmt.Sprintf("expected %d fields, found %d", p.lay.nfields, nf+1), buf[rs:e], res)
	}
	p.recStart = rs
	return p.row(buf, line, buf[rs:e], res)
}

// quotedRecord parses the record starting at s that contains quotes,
// unescaping its fields into p.scratch. It returns where the next record
// starts, how many lines this one spans and false when the chunk must stop.
func (p *parser) quotedRecord(buf []byte, n, s int, line int64, ascii bool, res *chunkResult) (int, int, bool) {
	t := tokenize(buf[:n], s, p.scratch[:0], p.st[:0], p.en[:0], p.lay.nfields)
	p.scratch, p.st, p.en = t.out, t.st[:cap(t.st)], t.en[:cap(t.en)]
	raw := buf[s:t.end]
	switch {
	case t.unterminated:
		return t.next, t.lines, p.bad(line, "unterminated quoted field", raw, res)
	case !ascii && !utf8.Valid(raw):
		return t.next, t.lines, p.bad(line, "invalid UTF-8", raw, res)
	case t.syntax != "":
		return t.next, t.lines, p.bad(line, t.syntax, raw, res)
	case t.nfields != p.lay.nfields:
		return t.next, t.lines, p.bad(line, fmt.Sprintf("expected %d fields, found %d", p.lay.nfields, t.nfields), raw, res)
	}
	p.scratch = append(p.scratch, make([]byte, pad)...)[:len(p.scratch)]
	p.recStart = s
	return t.next, t.lines, p.row(p.scratch[:cap(p.scratch)], line, raw, res)
}

// tokenized is one record split by tokenize.
type tokenized struct {
	out          []byte // unescaped field contents
	st, en       []int  // field bounds in out (up to max fields)
	nfields      int
	end, next    int // end of the record text (terminator excluded), start of the next
	lines        int // physical lines the record spans
	unterminated bool
	syntax       string // first quoting error, "" when none
}

// tokenize splits the RFC 4180 record starting at s in b. A quote opens a
// quoted field only at the start of a field; inside, "" is a quote and a
// lone " closes the field, which must then end. A quote anywhere else, or
// text after a closing quote, is a syntax error (the record still ends at
// the next newline outside quotes, as the chunk splitter assumes). A \r
// right before the record's \n (or the end of input) is part of the line
// ending.
func tokenize(b []byte, s int, out []byte, st, en []int, maxFields int) tokenized {
	t := tokenized{lines: 1}
	n := len(b)
	fieldStart, afterClose := true, false
	cur := len(out)
	field := func() {
		if t.nfields < maxFields {
			st = append(st, cur)
			en = append(en, len(out))
		}
		t.nfields++
		cur = len(out)
	}
	i := s
	for i < n {
		c := b[i]
		switch {
		case c == ',':
			field()
			fieldStart, afterClose = true, false
			i++
			continue
		case c == '\n':
			field()
			t.end, t.next = i, i+1
			if i > s && b[i-1] == '\r' {
				t.end--
			}
			t.out, t.st, t.en = out, st, en
			return t
		case c == '\r' && (i+1 == n || b[i+1] == '\n'):
			i++
			continue
		case c == '"' && fieldStart:
			// Copy the quoted content up to each quote in bulk.
			i++
			for {
				q := bytes.IndexByte(b[i:], '"')
				if q < 0 {
					out = append(out, b[i:]...)
					t.lines += bytes.Count(b[i:], []byte{'\n'})
					field()
					t.end, t.next, t.unterminated = n, n, true
					t.out, t.st, t.en = out, st, en
					return t
				}
				out = append(out, b[i:i+q]...)
				t.lines += bytes.Count(b[i:i+q], []byte{'\n'})
				i += q + 1
				if i < n && b[i] == '"' {
					out = append(out, '"')
					i++
					continue
				}
				break
			}
			fieldStart, afterClose = false, true
			continue
		case c == '"':
			if t.syntax == "" {
				t.syntax = `bare " in unquoted field`
			}
		case afterClose:
			if t.syntax == "" {
				t.syntax = "unexpected text after closing quote"
			}
		}
		out = append(out, c)
		fieldStart = false
		i++
	}
	field()
	t.end, t.next = n, n
	if t.end > s && b[t.end-1] == '\r' {
		t.end--
	}
	t.out, t.st, t.en = out, st, en
	return t
}

// bad records a bad row; it returns false when the chunk must stop.
func (p *parser) bad(line int64, reason string, raw []byte, res *chunkResult) bool {
	if !p.skipBad {
		res.fatal = &RejectedRow{Line: line, Reason: reason}
		return false
	}
	text := redactCustomer(raw, p.lay)
	if len(text) > maxRawBytes {
		text = text[:maxRawBytes]
	}
	r := RejectedRow{Line: line, Reason: reason, Raw: text}
	res.rejected = append(res.rejected, r)
	return true
}

// row converts the fields whose bounds are in p.st/p.en (in fb, which has
// pad readable bytes past every field) and appends them to the segment.
func (p *parser) row(fb []byte, line int64, raw []byte, res *chunkResult) bool {
	c := &p.lay.col

	// Date.
	ds, de := p.st[c[colDate]], p.en[c[colDate]]
	dw := fieldWord(fb, ds, de)
	date := nullDate
	switch {
	case isNA(de-ds, dw):
	case de-ds == 10 && p.haveDate && dw == p.lastDateW && binary.LittleEndian.Uint16(fb[ds+8:]) == p.lastDateW2:
		date = p.lastDate
	default:
		d, ok := parseDate(fb[ds:de])
		if !ok {
			return p.bad(line, reasonDate, raw, res)
		}
		date = d
		p.lastDate, p.lastDateW, p.lastDateW2, p.haveDate = d, dw, binary.LittleEndian.Uint16(fb[ds+8:]), true
	}

	// Amount.
	as, ae := p.st[c[colAmount]], p.en[c[colAmount]]
	aw := fieldWord(fb, as, ae)
	amt, cents, fast := amountFastCents(aw, ae-as)
	switch {
	case fast:
	case isNA(ae-as, aw):
		amt = nullAmount
	default:
		var kind amountKind
		amt, kind = parseAmount(fb[as:ae])
		switch kind {
		case amountBad:
			return p.bad(line, reasonAmount, raw, res)
		case amountRange:
			return p.bad(line, reasonAmountRange, raw, res)
		}
	}

	// Ids: interned only once the row is known to be good, so that the
	// dictionaries hold exactly the ids of accepted rows.
	ps, pe := p.st[c[colProduct]], p.en[c[colProduct]]
	prod, prodH := nullCode, uint64(nullProdHash)
	if pw := fieldWord(fb, ps, pe); !isNA(pe-ps, pw) {
		prodH = dictHash(fb[ps:pe], pw)
		prod = p.prods.internHash(fb[ps:pe], pw, prodH)
	}
	cs, ce := p.st[c[colCustomer]], p.en[c[colCustomer]]
	cust, custH := nullCust, uint64(nullCustHash)
	if cw := fieldWord(fb, cs, ce); !isNA(ce-cs, cw) {
		if ce-cs <= 7 {
			cust = idKey(ce-cs, cw)
			custH = cust
		} else {
			custH = dictHash(fb[cs:ce], cw)
			cust = longID | uint64(p.custs.internHash(fb[cs:ce], cw, custH))
		}
	}

	if date == nullDate {
		res.nulls[colDate]++
	} else {
		res.minDate = min(res.minDate, date)
		res.maxDate = max(res.maxDate, date)
	}
	if prod == nullCode {
		res.nulls[colProduct]++
	}
	if isNullAmount(amt) {
		res.nulls[colAmount]++
	}
	if cust == nullCust {
		res.nulls[colCustomer]++
	}
	if a := p.agg; a != nil {
		ca := &res.agg
		ca.rows++
		if date != nullDate && prod != nullCode && cust != nullCust && amt > 0 {
			ca.cleaned++
			ca.dates = append(ca.dates, date)
			ca.amts = append(ca.amts, amt)
			a.addProduct(date, prod)
		}
		if a.dups != nil {
			a.dups.add(rowFingerprint(date, amountBits(amt), prodH, custH), p.base+int64(p.recStart))
		}
		if a.prof != nil {
			a.prof.add(date, cust, amt, cents)
		}
		return true
	}
	seg := &res.seg
	seg.dates = append(seg.dates, date)
	seg.prods = append(seg.prods, prod)
	seg.custs = append(seg.custs, cust)
	seg.amts = append(seg.amts, amt)
	return true
}

// Reasons for a bad field. They never quote the field: a message must not
// carry data, and in a file whose columns are shifted the "date" or
// "amount" may well be a customer's id. The line number leads to the row.
const (
	reasonDate        = "invalid date (want YYYY-MM-DD)"
	reasonAmount      = "invalid amount (want a decimal number such as 12.50)"
	reasonAmountRange = "amount out of range"
)
