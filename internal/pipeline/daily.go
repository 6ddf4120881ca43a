package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/salesdag/salesdag/internal/frame"
)

// Sales is cleaned_sales_data: the raw rows with no null in the four
// columns and amount > 0, in file order. It is a view on the raw columns
// (the predicate is four comparisons), so cleaning copies nothing.
type Sales struct {
	raw *RawSales
	n   int
}

// Len returns the number of cleaned rows.
func (s *Sales) Len() int { return s.n }

// Raw returns the rows the cleaned rows come from.
func (s *Sales) Raw() *RawSales { return s.raw }

// Table returns the cleaned rows as a frame.
func (s *Sales) Table() *frame.Frame { return s.raw.table(s.n, kept) }

// kept is the cleaning predicate. A null amount (NaN) never passes "> 0".
func kept(s *segment, i int) bool {
	return s.dates[i] != nullDate && s.prods[i] != nullCode && s.custs[i] != nullCust && s.amts[i] > 0
}

// CleanedSales is the cleaned_sales_data node.
func CleanedSales(ctx context.Context, raw *RawSales) (*Sales, error) {
	if raw.agg != nil {
		if raw.agg.cleaned == 0 {
			return nil, noCleanRows(raw)
		}
		return &Sales{raw: raw, n: raw.agg.cleaned}, ctx.Err()
	}
	counts := make([]int, len(raw.segs))
	parallelFor(len(raw.segs), raw.workers, func(_, si int) {
		s := &raw.segs[si]
		c := 0
		for i := range s.len() {
			if kept(s, i) {
				c++
			}
		}
		counts[si] = c
	})
	n := 0
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return nil, noCleanRows(raw)
	}
	return &Sales{raw: raw, n: n}, ctx.Err()
}

func noCleanRows(raw *RawSales) error {
	msg := fmt.Sprintf("input %s: no valid rows after cleaning: all %d rows have a null field or an amount <= 0", raw.name, raw.n)
	if len(raw.rejected) > 0 {
		msg += fmt.Sprintf(" (and %d bad rows were skipped)", len(raw.rejected))
	}
	return errors.New(msg)
}

// DailySummary is daily_sales_summary: one row per date, ascending.
type DailySummary struct {
	Date             []frame.Date
	TotalAmount      []float64 // sum, rounded to 2
	AvgAmount        []float64 // mean, rounded to 2
	TransactionCount []int64
	UniqueProducts   []int64
}

// Len returns the number of days.
func (d *DailySummary) Len() int { return len(d.Date) }

// Table implements frame.Tabler.
func (d *DailySummary) Table() *frame.Frame {
	return &frame.Frame{Columns: d.columns()}
}

func (d *DailySummary) columns() []frame.Column {
	return []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: d.Date},
		{Name: "total_amount", Kind: frame.KindFloat, Floats: d.TotalAmount},
		{Name: "avg_amount", Kind: frame.KindFloat, Floats: d.AvgAmount},
		{Name: "transaction_count", Kind: frame.KindInt, Ints: d.TransactionCount},
		{Name: "unique_products", Kind: frame.KindInt, Ints: d.UniqueProducts},
	}
}

// dateSlots maps the dates of a file to dense slots in date order: the
// offset from the first date when the range is small, else the rank of the
// date among the dates present.
type dateSlots struct {
	lo    int32
	n     int      // number of slots
	rank  []uint64 // presence bitset over the range (rank mode only)
	cum   []int32  // present dates before each bitset word
	dates []int32  // date of each slot (rank mode only)
}

const directDateRange = 1 << 16

func newDateSlots(r *RawSales) *dateSlots {
	if r.minDate > r.maxDate {
		return &dateSlots{}
	}
	span := int64(r.maxDate) - int64(r.minDate) + 1
	ds := &dateSlots{lo: r.minDate}
	if span <= directDateRange {
		ds.n = int(span)
		return ds
	}
	ds.rank = r.datePresence()
	ds.cum = make([]int32, len(ds.rank))
	for i, w := range ds.rank {
		ds.cum[i] = int32(ds.n)
		for b := w; b != 0; b &= b - 1 {
			ds.dates = append(ds.dates, r.minDate+int32(i*64+bits.TrailingZeros64(b)))
		}
		ds.n += bits.OnesCount64(w)
	}
	return ds
}

// datePresence returns a bitset over [minDate, maxDate] of the dates that
// occur (nil when no row has a date).
func (r *RawSales) datePresence() []uint64 {
	if r.minDate > r.maxDate {
		return nil
	}
	set := make([]uint64, (int64(r.maxDate)-int64(r.minDate))/64+1)
	for si := range r.segs {
		for _, d := range r.segs[si].dates {
			if d != nullDate {
				o := uint32(d - r.minDate)
				set[o>>6] |= 1 << (o & 63)
			}
		}
	}
	return set
}

func (ds *dateSlots) slot(d int32) int {
	o := uint32(d - ds.lo)
	if ds.rank == nil {
		return int(o)
	}
	return int(ds.cum[o>>6]) + bits.OnesCount64(ds.rank[o>>6]&(1<<(o&63)-1))
}

func (ds *dateSlots) date(slot int) int32 {
	if ds.rank == nil {
		return ds.lo + int32(slot)
	}
	return ds.dates[slot]
}

// DailySalesSummary is the daily_sales_summary node. Sums and means are
// pandas' groupby sum and mean: a compensated (Kahan) sum of the float64
// amounts of each date in file order, and the mean is that sum divided by
// the count. (An exact decimal sum does not give pandas' numbers: for
// 734.95 and 49.70 pandas' mean rounds to 392.33, the exact one to
// 392.32.) Each worker owns a range of dates and scans all rows, so every
// date is still summed in file order and the work is split without any
// merging.
func DailySalesSummary(ctx context.Context, s *Sales) (*DailySummary, error) {
	r := s.raw
	if r.agg != nil {
		d := r.agg.daily
		return &DailySummary{
			Date: slices.Clone(d.Date), TotalAmount: slices.Clone(d.TotalAmount), AvgAmount: slices.Clone(d.AvgAmount),
			TransactionCount: slices.Clone(d.TransactionCount), UniqueProducts: slices.Clone(d.UniqueProducts),
		}, ctx.Err()
	}
	ds := newDateSlots(r)
	sums := make([]kahan, ds.n)
	counts := make([]int64, ds.n)
	words := max(1, (r.prods.len()+63)/64)
	var prodBits []uint64 // date slot x product bitset, when small enough
	var pairs []*u64set   // per worker (date slot, product) pairs otherwise
	if ds.n*words <= maxProductBitsetWords {
		prodBits = make([]uint64, ds.n*words)
	}
	workers := min(r.scanners(), max(1, ds.n))
	pairs = make([]*u64set, workers)
	parallelFor(workers, workers, func(_, w int) {
		lo, hi := ds.n*w/workers, ds.n*(w+1)/workers
		var set *u64set
		if prodBits == nil {
			set = newU64Set(1024)
			pairs[w] = set
		}
		for si := range r.segs {
			seg := &r.segs[si]
			for i, d := range seg.dates {
				if d == nullDate {
					continue
				}
				k := ds.slot(d)
				if k < lo || k >= hi || !kept(seg, i) {
					continue
				}
				counts[k]++
				sums[k].add(seg.amts[i])
				p := seg.prods[i]
				if set != nil {
					set.add(uint64(k)<<32 | uint64(p))
				} else {
					b := k*words*64 + int(p)
					prodBits[b>>6] |= 1 << (b & 63)
				}
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	uniq := make([]int64, ds.n)
	if prodBits == nil {
		for _, set := range pairs {
			if set != nil {
				set.each(func(k uint64) { uniq[k>>32]++ })
			}
		}
	} else {
		for k := range uniq {
			for _, w := range prodBits[k*words : (k+1)*words] {
				uniq[k] += int64(bits.OnesCount64(w))
			}
		}
	}
	d := &DailySummary{}
	for k, c := range counts {
		if c == 0 {
			continue
		}
		sum := sums[k].sum
		d.Date = append(d.Date, frame.Date(ds.date(k)))
		d.TotalAmount = append(d.TotalAmount, round(sum, 2))
		d.AvgAmount = append(d.AvgAmount, round(sum/float64(c), 2))
		d.TransactionCount = append(d.TransactionCount, c)
		d.UniqueProducts = append(d.UniqueProducts, uniq[k])
	}
	return d, nil
}

// maxProductBitsetWords bounds the (date x product) bitset (2 MiB).
const maxProductBitsetWords = 1 << 18
