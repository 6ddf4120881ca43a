package pipeline

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/salesdag/salesdag/internal/frame"
)

// This file is what an engine that spreads the row work of step 1 over
// many processes (the Beam engine, in the beam/ module) needs from this
// package: the typed rows of one file, the arithmetic that merges partial
// results exactly, and a raw_sales_data built from merged results. The
// parsing, cleaning predicate, rounding and summation stay here, so there
// is one implementation of SPEC section 1.

// NullDate is the date of a row whose date is null.
const NullDate = nullDate

// Row is one row of raw_sales_data with its values.
type Row struct {
	Date        int32 // days since 1970-01-01; NullDate when null
	Product     string
	Customer    string
	Amount      float64 // NaN when null
	HasProduct  bool    // false: product_id is null
	HasCustomer bool    // false: customer_id is null
}

// Clean reports whether the row is kept by cleaned_sales_data: no null in
// the four columns and amount > 0.
func (r *Row) Clean() bool {
	return r.Date != nullDate && r.HasProduct && r.HasCustomer && r.Amount > 0
}

// Nulls returns the number of null cells of the row.
func (r *Row) Nulls() int {
	n := 0
	for _, null := range [4]bool{r.Date == nullDate, !r.HasProduct, isNullAmount(r.Amount), !r.HasCustomer} {
		if null {
			n++
		}
	}
	return n
}

// AmountKey returns a key equal for equal amounts (-0 is 0; every null is
// the same key), as the duplicate count compares them.
func (r *Row) AmountKey() uint64 {
	if isNullAmount(r.Amount) {
		return math.Float64bits(nullAmount)
	}
	return amountBits(r.Amount)
}

// AppendKey appends the row's identity for data_quality_metrics'
// duplicate_count: equal keys are exactly the rows equal in all four
// columns (amount compared as a number, ids as text, null equal to null).
func (r *Row) AppendKey(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Date))
	b = binary.LittleEndian.AppendUint64(b, r.AmountKey())
	for _, f := range [2]struct {
		ok bool
		s  string
	}{{r.HasProduct, r.Product}, {r.HasCustomer, r.Customer}} {
		if !f.ok {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(f.s)))
		b = append(b, f.s...)
	}
	return b
}

// EachRow calls fn for every row in file order, with its index (0-based,
// counting accepted rows only). The Row is reused between calls. In
// streaming mode the rows are read again from the source first.
func (r *RawSales) EachRow(fn func(i int64, row *Row)) {
	t := r.rowTable()
	ps, cs := dictStrings(t.prods), dictStrings(t.custs)
	custCache := map[uint64]string{}
	var row Row
	var i int64
	for si := range t.segs {
		s := &t.segs[si]
		for k := range s.len() {
			row.Date, row.Amount = s.dates[k], s.amts[k]
			p := s.prods[k]
			row.HasProduct, row.Product = p != nullCode, ""
			if row.HasProduct {
				row.Product = ps[p]
			}
			c := s.custs[k]
			row.HasCustomer = c != nullCust
			str, ok := custCache[c]
			if !ok {
				str = t.custString(c, cs)
				custCache[c] = str
			}
			row.Customer = str
			fn(i, &row)
			i++
		}
	}
}

// Nulls returns the null cells per column (date, product_id, amount,
// customer_id).
func (r *RawSales) Nulls() [4]int64 { return r.nulls }

// ExactSum is an exact float64 sum whose value is the same whatever the
// order of the additions and merges (Shewchuk's partials). Partials is
// exported so that engines can encode it.
type ExactSum struct{ Partials []float64 }

// Add adds x exactly.
func (e *ExactSum) Add(x float64) {
	s := exactSum{partials: e.Partials}
	s.add(x)
	e.Partials = s.partials
}

// Merge adds the sum o exactly.
func (e *ExactSum) Merge(o ExactSum) {
	s := exactSum{partials: e.Partials}
	for _, p := range o.Partials {
		s.add(p)
	}
	e.Partials = s.partials
}

// Value returns the exact sum rounded once to float64.
func (e ExactSum) Value() float64 {
	return (&exactSum{partials: slices.Clone(e.Partials)}).value()
}

// KahanSum is the compensated sum daily_sales_summary computes over a
// date's amounts, added in the given (file) order.
func KahanSum(vals []float64) float64 {
	var k kahan
	for _, v := range vals {
		k.add(v)
	}
	return k.sum
}

// kahanSlack is how many float64 steps around the exactly rounded sum a
// file-order compensated sum may be. For positive terms (cleaned amounts
// are > 0) Kahan's error is at most (2u + O(n u^2)) times the sum (Goldberg,
// theorem 8), about two units in the last place: 16 is a wide margin.
const kahanSlack = 16

// SumIsFragile reports whether the daily results of a date whose cleaned
// amounts (count of them, all > 0) have the exactly rounded sum exact
// could differ from those of the file-order compensated sum that
// daily_sales_summary computes: whether total_amount or avg_amount change
// anywhere within kahanSlack steps of exact (both are monotone in the
// sum, so the two ends tell). With one or two amounts the compensated sum
// is the exactly rounded sum, never fragile. An engine that adds partial
// sums in any order computes the fragile dates' sums again in file order
// (KahanSum).
func SumIsFragile(exact float64, count int64) bool {
	if count <= 2 {
		return false
	}
	lo, hi := exact, exact
	for range kahanSlack {
		lo, hi = math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return true
	}
	c := float64(count)
	return round(lo, 2) != round(hi, 2) || round(lo/c, 2) != round(hi/c, 2)
}

// DaySum is one date's cleaned rows reduced: their sum (as
// daily_sales_summary adds them), count and distinct products.
type DaySum struct {
	Date     int32
	Sum      float64
	Count    int64
	Products int64
}

// DailyFromSums builds daily_sales_summary from per-date sums (any order).
func DailyFromSums(days []DaySum) *DailySummary {
	days = slices.Clone(days)
	slices.SortFunc(days, func(a, b DaySum) int { return int(a.Date) - int(b.Date) })
	d := &DailySummary{}
	for _, s := range days {
		d.Date = append(d.Date, frame.Date(s.Date))
		d.TotalAmount = append(d.TotalAmount, round(s.Sum, 2))
		d.AvgAmount = append(d.AvgAmount, round(s.Sum/float64(s.Count), 2))
		d.TransactionCount = append(d.TransactionCount, s.Count)
		d.UniqueProducts = append(d.UniqueProducts, s.Products)
	}
	return d
}

// AmountStats is the amount part of the input profile, mergeable exactly
// and in any order: count, range and sum of the non-null amounts (the sum
// as the profile computes it: whole cents in an integer, the rest exactly).
type AmountStats struct {
	Count    int64
	Min, Max float64
	CentsHi  int64 // the 128-bit sum of the amounts that are whole cents
	CentsLo  uint64
	Other    ExactSum // the other amounts
}

// Add counts one amount (a null is ignored).
func (a *AmountStats) Add(v float64) {
	if isNullAmount(v) {
		return
	}
	if a.Count == 0 {
		a.Min, a.Max = v, v
	}
	a.Count++
	a.Min, a.Max = min(a.Min, v), max(a.Max, v)
	if c, ok := toCents(v); ok {
		s := int128{hi: a.CentsHi, lo: a.CentsLo}
		s.add(c)
		a.CentsHi, a.CentsLo = s.hi, s.lo
	} else {
		a.Other.Add(v)
	}
}

// Merge adds the amounts counted in o.
func (a *AmountStats) Merge(o AmountStats) {
	if o.Count == 0 {
		return
	}
	if a.Count == 0 {
		a.Min, a.Max = o.Min, o.Max
	}
	a.Count += o.Count
	a.Min, a.Max = min(a.Min, o.Min), max(a.Max, o.Max)
	s := int128{hi: a.CentsHi, lo: a.CentsLo}
	s.addInt128(int128{hi: o.CentsHi, lo: o.CentsLo})
	a.CentsHi, a.CentsLo = s.hi, s.lo
	a.Other.Merge(o.Other)
}

// Sum returns the amounts' sum as the input profile reports it.
func (a AmountStats) Sum() float64 {
	s := exactSum{partials: slices.Clone(a.Other.Partials)}
	s.add(int128{hi: a.CentsHi, lo: a.CentsLo}.div100())
	return s.value()
}

// Aggregates is raw_sales_data reduced by an engine that reads the rows
// elsewhere: everything the step-1 nodes and the lineage statistics need.
type Aggregates struct {
	Rows       int64    // accepted data rows
	Cleaned    int64    // rows kept by cleaning
	Nulls      [4]int64 // null cells per column (ColumnNames order)
	Bytes      int64    // bytes read
	Rejected   []RejectedRow
	Daily      []DaySum // per date, sums as daily_sales_summary adds them
	Duplicates int64
	// Distinct non-null values per column (ColumnNames order) and the
	// amounts, for the input profile.
	Distinct [4]int64
	Amounts  AmountStats
	// Files are the counts of each file of a multi-file input, in order.
	Files []FileStats
}

// IsOnlyHeader reports whether err is ReadSales' error for an input
// with a header and no data row (one file of many may be so).
func IsOnlyHeader(err error) bool { return errors.Is(err, errOnlyHeader) }

// FromAggregates returns raw_sales_data for src as computed elsewhere: the
// step-1 nodes read its aggregates, as in streaming mode, and the rows
// themselves (Table, EachRow) are read again from src when asked for.
func FromAggregates(src Source, opts Options, a Aggregates) *RawSales {
	name := src.Name
	if name == "" {
		name = src.Path
	}
	r := &RawSales{
		name: name, n: int(a.Rows), prods: newDict(), custs: newDict(),
		rejected: a.Rejected, bytes: a.Bytes, nulls: a.Nulls,
		minDate: math.MaxInt32, maxDate: math.MinInt32,
		workers: opts.workers(), skipMode: opts.OnBadRows == SkipBadRows,
		agg: &streamAgg{cleaned: int(a.Cleaned), daily: DailyFromSums(a.Daily)},
		src: src, opts: opts,
		multi: len(src.Files) > 0, parts: src.parts(), fileStats: a.Files,
	}
	r.dupOnce.Do(func() { r.dupCount = a.Duplicates })
	r.profileOnce.Do(func() {
		p := InputProfile{RowCount: a.Rows, Bytes: a.Bytes, RejectedCount: int64(len(a.Rejected))}
		p.AmountCount = a.Amounts.Count
		if p.AmountCount > 0 {
			p.AmountSum, p.AmountMin, p.AmountMax = a.Amounts.Sum(), a.Amounts.Min, a.Amounts.Max
		}
		for c, name := range ColumnNames {
			p.Columns = append(p.Columns, ColumnProfile{Name: name, NullCount: a.Nulls[c], DistinctCount: a.Distinct[c]})
		}
		r.profile = p
	})
	return r
}
