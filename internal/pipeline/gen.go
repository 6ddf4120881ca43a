package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Generated data: one year of sales over 500 products and 50,000
// customers, about 1% dirty rows (nulls, zero and negative amounts) and
// 0.05% exact duplicates.
const (
	genDays      = 365
	genProducts  = 500
	genCustomers = 50_000
)

// rng is splitmix64: tiny, fast and the same on every platform and Go
// version, so a seed always gives the same file. Only integer arithmetic is
// used below for the same reason.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int { return int((r.next() >> 33) % uint64(n)) }

// Generate writes a deterministic, realistic sales CSV of rows data rows
// (plus the header) to w. Rows are mostly in date order, with a few
// stragglers; amounts have two decimals with a long tail; popular products
// sell more.
func Generate(w io.Writer, rows int, seed int64) error {
	if rows < 0 {
		return fmt.Errorf("generate: rows must be >= 0, got %d", rows)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString("date,product_id,amount,customer_id\n"); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	r := &rng{s: uint64(seed)}
	start := daysFromCivil(2024, 1, 1)
	var dates [genDays]string
	for d := range dates {
		dates[d] = dateString(start + int32(d))
	}
	var line, prev []byte
	for i := range rows {
		if prev != nil && r.intn(10_000) < 5 {
			line = append(line[:0], prev...) // an exact duplicate
		} else {
			line = genRow(line[:0], r, &dates, i, rows)
		}
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		prev = append(prev[:0], line...)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

func genRow(b []byte, r *rng, dates *[genDays]string, i, rows int) []byte {
	day := i * genDays / max(rows, 1)
	if r.intn(100) < 2 { // a late or early row
		day = r.intn(genDays)
	}
	// Popular products first: the square of a uniform skews towards 0.
	u := r.intn(1 << 16)
	prod := 1 + u*u/(1<<32/genProducts)
	cust := 1 + r.intn(genCustomers)
	cents := genCents(r)

	dirty := r.intn(1000)
	if dirty != 0 {
		b = append(b, dates[day]...)
	}
	b = append(b, ',')
	if dirty == 1 {
		b = append(b, "NA"...)
	} else if dirty != 2 {
		b = append(b, 'P')
		b = appendPadded(b, prod, 4)
	}
	b = append(b, ',')
	switch {
	case dirty == 3:
		// null amount
	case dirty == 4:
		b = append(b, "NULL"...)
	case dirty == 5 || dirty == 6:
		b = append(b, "0.00"...)
	case dirty == 7 || dirty == 8:
		b = appendCents(append(b, '-'), cents)
	default:
		b = appendCents(b, cents)
	}
	b = append(b, ',')
	if dirty != 9 {
		b = append(b, 'C')
		b = appendPadded(b, cust, 5)
	}
	return append(b, '\n')
}

// genCents draws an amount in cents: mostly tens to hundreds, some
// thousands, a few large orders.
func genCents(r *rng) int {
	switch t := r.intn(100); {
	case t < 40:
		return 500 + r.intn(9_500) // 5.00 - 99.99
	case t < 80:
		return 10_000 + r.intn(90_000) // 100.00 - 999.99
	case t < 97:
		return 100_000 + r.intn(400_000) // 1,000.00 - 4,999.99
	default:
		return 500_000 + r.intn(1_500_000) // 5,000.00 - 19,999.99
	}
}

// dateString formats days since 1970-01-01 as YYYY-MM-DD.
func dateString(d int32) string {
	// civil from days (H. Hinnant), the inverse of daysFromCivil.
	z := int(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	var buf [10]byte
	out := appendPadded(buf[:0], y, 4)
	out = append(out, '-')
	out = appendPadded(out, m, 2)
	out = append(out, '-')
	out = appendPadded(out, day, 2)
	return string(out)
}

func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendCents(b []byte, cents int) []byte {
	b = strconv.AppendInt(b, int64(cents/100), 10)
	b = append(b, '.')
	return appendPadded(b, cents%100, 2)
}
