package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/salesdag/salesdag/internal/frame"
)

// RejectedRow is a bad row set aside with --on-bad-rows=skip.
type RejectedRow struct {
	File   string // the file, for a multi-file input ("" otherwise)
	Line   int64  // physical line (1-based) where the record starts
	Reason string // why it was rejected
	Raw    string // the record's text without its line ending (at most 4 KiB)
}

// RawSales is raw_sales_data: every accepted data row in file order, as
// typed columns split in segments (one per chunk read).
//
// Layout per row: date int32 (days since 1970-01-01), product_id uint32
// (dictionary code), customer_id uint64 (the id's bytes inline when it has
// at most seven, else a dictionary code), amount float64 (the nearest
// float64, as pandas parses it). Nulls are sentinel values (NaN for the
// amount), so a row is 24 bytes and there are no null bitmaps.
type RawSales struct {
	name     string
	segs     []segment
	n        int
	prods    *dict // product ids
	custs    *dict // customer ids longer than seven bytes
	rejected []RejectedRow
	bytes    int64
	nulls    [4]int64
	minDate  int32 // over non-null dates; minDate > maxDate when there are none
	maxDate  int32
	workers  int
	skipMode bool
	lay      *layout

	// Streaming mode (see agg.go): agg is set and segs is empty.
	agg      *streamAgg
	src      Source
	opts     Options
	watch    *fileWatch // the file as it was read
	rowsOnce sync.Once
	rows     *RawSales // the rows read again on demand
	rowsErr  error
	dupOnce  sync.Once
	dupCount int64
	dupErr   error

	profileOnce sync.Once
	profile     InputProfile
	profileErr  error

	// Read by readFiles (multi.go): the files in order, each one's header
	// and size watch. multi: a multi-file input (rejected rows name
	// their file).
	multi     bool
	parts     []Source
	fileLays  []*layout
	watches   []*fileWatch
	fileBase  []int64 // streaming mode: where each file's CSV bytes start in the duplicate entries' offsets
	fileStats []FileStats
	// fileProfiles: each file's statistics, measured during the read.
	fileProfiles []*InputProfile
	segFile      []int // rows mode: the file of each segment
	keptOnce     sync.Once
}

// streamAgg is what streaming mode keeps of the rows.
type streamAgg struct {
	cleaned int
	daily   *DailySummary
	dups    []*dupParts
	prof    *profAgg // nil unless Options.Profile
}

// finishStream merges the per-worker parts of streaming mode.
func (r *RawSales) finishStream(parsers []*parser, src Source, opts Options, watch *fileWatch, cleaned int, daily *dailyAcc) {
	r.src, r.opts, r.watch = src, opts, watch
	pd := make([]*dict, len(parsers))
	cd := make([]*dict, len(parsers))
	aggs := make([]*workerAgg, len(parsers))
	for i, p := range parsers {
		pd[i], cd[i], aggs[i] = p.prods, p.custs, p.agg
	}
	var pmap [][]uint32
	if len(parsers) == 1 {
		r.prods, r.custs = pd[0], cd[0]
	} else {
		r.prods, pmap = mergeDicts(pd)
		r.custs, _ = mergeDicts(cd)
	}
	a := &streamAgg{cleaned: cleaned, daily: daily.summary(uniqueProducts(aggs, pmap))}
	for _, w := range aggs {
		if w.dups != nil {
			a.dups = append(a.dups, w.dups)
		}
		if w.prof != nil {
			if a.prof == nil {
				a.prof = w.prof
			} else {
				a.prof.merge(w.prof)
			}
		}
	}
	r.agg = a
}

// sameFile checks that file k of the source (0 for a single file),
// opened again as f, is still the file that was read (a regular file's
// size and modification time).
func (r *RawSales) sameFile(k int, f any) error {
	watch, name := r.watch, r.name
	if r.watches != nil {
		watch, name = r.watches[k], r.parts[k].Name
	}
	if watch == nil {
		return nil
	}
	w := *watch
	if st, ok := f.(interface{ Stat() (fs.FileInfo, error) }); ok {
		w.f = st
	}
	return w.check(name, w.size, false)
}

// rowTable returns raw_sales_data with its rows: r itself in rows mode,
// else the source read again in rows mode (once).
func (r *RawSales) rowTable() *RawSales {
	if r.agg == nil {
		return r
	}
	r.rowsOnce.Do(func() {
		o := r.opts
		o.KeepRows, o.Profile, o.Progress = true, false, nil
		rows, err := ReadSales(context.Background(), r.src, o)
		switch {
		case err != nil:
			r.rowsErr = fmt.Errorf("reading %s again for its rows: %w", r.name, err)
		case rows.n != r.n || len(rows.rejected) != len(r.rejected) || rows.nulls != r.nulls:
			r.rowsErr = fmt.Errorf("%w: %s (reading it again for its rows gave other rows)", ErrInputChanged, r.name)
		default:
			r.rows = rows
		}
	})
	if r.rowsErr != nil {
		// Table has no error result; the engine and the writers turn
		// this into the run's error.
		panic(r.rowsErr)
	}
	return r.rows
}

// finish merges the per-worker dictionaries into one and rewrites the
// codes.
func (r *RawSales) finish(parsers []*parser) {
	pd := make([]*dict, len(parsers))
	cd := make([]*dict, len(parsers))
	for i, p := range parsers {
		pd[i], cd[i] = p.prods, p.custs
	}
	var pmap, cmap [][]uint32
	if len(parsers) == 1 {
		r.prods, r.custs = pd[0], cd[0] // codes are already final
	} else {
		r.prods, pmap = mergeDicts(pd)
		r.custs, cmap = mergeDicts(cd)
	}
	for i := range r.segs {
		r.n += r.segs[i].len()
	}
	if pmap == nil {
		return
	}
	parallelFor(len(r.segs), r.workers, func(_, i int) {
		s := &r.segs[i]
		remap(s.prods, pmap[s.dict])
		if cm := cmap[s.dict]; len(cm) > 0 {
			for i, c := range s.custs {
				if c != nullCust && c&longID != 0 {
					s.custs[i] = longID | uint64(cm[c&^longID])
				}
			}
		}
	})
}

func remap(codes []uint32, m []uint32) {
	for i, c := range codes {
		if c != nullCode {
			codes[i] = m[c]
		}
	}
}

// scanners is how many goroutines may each scan all rows (work split by
// key rather than by rows): more than the CPUs only multiplies the scans.
func (r *RawSales) scanners() int {
	return max(1, min(r.workers, runtime.GOMAXPROCS(0)))
}

// Len returns the number of rows.
func (r *RawSales) Len() int { return r.n }

// Name returns how the input is named in messages.
func (r *RawSales) Name() string { return r.name }

// Rejected returns the rows set aside (skip mode), in file order.
func (r *RawSales) Rejected() []RejectedRow { return r.rejected }

// SkipMode reports whether bad rows were skipped rather than fatal.
func (r *RawSales) SkipMode() bool { return r.skipMode }

// BytesRead returns the size of the input read.
func (r *RawSales) BytesRead() int64 { return r.bytes }

// RejectedTable returns the rejected rows as a table with columns line,
// reason and raw (invalid UTF-8 in raw shown as U+FFFD); a multi-file
// input has a first column more, file (the file as named on the command
// line or matched by a glob).
func (r *RawSales) RejectedTable() *frame.Frame {
	n := len(r.rejected)
	files := make([]string, n)
	lines := make([]int64, n)
	reasons := make([]string, n)
	raws := make([]string, n)
	for i, rr := range r.rejected {
		files[i] = strings.ToValidUTF8(rr.File, "\uFFFD")
		lines[i], reasons[i], raws[i] = rr.Line, rr.Reason, strings.ToValidUTF8(rr.Raw, "\uFFFD")
	}
	cols := []frame.Column{
		{Name: "line", Kind: frame.KindInt, Ints: lines},
		{Name: "reason", Kind: frame.KindString, Strings: reasons},
		{Name: "raw", Kind: frame.KindString, Strings: raws},
	}
	if r.multi {
		cols = append([]frame.Column{{Name: "file", Kind: frame.KindString, Strings: files}}, cols...)
	}
	return &frame.Frame{Columns: cols}
}

// Files returns the files of a multi-file input in the order read (nil
// for a single input).
func (r *RawSales) Files() []InputFile {
	if !r.multi {
		return nil
	}
	return slices.Clone(r.src.Files)
}

// Table returns the rows as a frame (date, product_id, amount,
// customer_id). It materialises strings: meant for writing the raw data out
// on request, not for the pipeline itself.
func (r *RawSales) Table() *frame.Frame {
	return r.rowTable().table(r.n, func(*segment, int) bool { return true })
}

func (r *RawSales) table(rows int, keep func(*segment, int) bool) *frame.Frame {
	if r.agg != nil {
		return r.rowTable().table(rows, keep)
	}
	dates := make([]frame.Date, 0, rows)
	dv := make([]bool, 0, rows)
	prods := make([]string, 0, rows)
	pv := make([]bool, 0, rows)
	amts := make([]float64, 0, rows)
	custs := make([]string, 0, rows)
	cv := make([]bool, 0, rows)
	ps, cs := dictStrings(r.prods), dictStrings(r.custs)
	custCache := map[uint64]string{} // one string per distinct id, not per row
	for si := range r.segs {
		s := &r.segs[si]
		for i := range s.len() {
			if !keep(s, i) {
				continue
			}
			d := s.dates[i]
			dv = append(dv, d != nullDate)
			if d == nullDate {
				d = 0
			}
			dates = append(dates, frame.Date(d))
			p := s.prods[i]
			pv = append(pv, p != nullCode)
			if p != nullCode {
				prods = append(prods, ps[p])
			} else {
				prods = append(prods, "")
			}
			c := s.custs[i]
			cv = append(cv, c != nullCust)
			str, ok := custCache[c]
			if !ok {
				str = r.custString(c, cs)
				custCache[c] = str
			}
			custs = append(custs, str)
			amts = append(amts, s.amts[i])
		}
	}
	return &frame.Frame{Columns: []frame.Column{
		{Name: ColumnNames[colDate], Kind: frame.KindDate, Dates: dates, Valid: dv},
		{Name: ColumnNames[colProduct], Kind: frame.KindString, Strings: prods, Valid: pv},
		{Name: ColumnNames[colAmount], Kind: frame.KindFloat, Floats: amts},
		{Name: ColumnNames[colCustomer], Kind: frame.KindString, Strings: custs, Valid: cv},
	}}
}

// custString returns the customer id of key k ("" for null); long holds
// the strings of the long-id dictionary.
func (r *RawSales) custString(k uint64, long []string) string {
	switch {
	case k == nullCust:
		return ""
	case k&longID != 0:
		return long[k&^longID]
	}
	var b [8]byte
	return string(idBytes(b[:0], k))
}

func dictStrings(d *dict) []string {
	out := make([]string, d.len())
	for c := range out {
		out[c] = string(d.get(uint32(c)))
	}
	return out
}

// amountKey returns a comparable key for row i's amount: equal numbers
// give equal keys (-0 is folded onto 0, as pandas hashes it; a null is one
// fixed NaN).
func (s *segment) amountKey(i int) uint64 {
	v := s.amts[i]
	if v == 0 {
		return 0
	}
	return math.Float64bits(v)
}

// ColumnProfile holds the statistics of one input column.
type ColumnProfile struct {
	Name          string
	NullCount     int64
	DistinctCount int64 // distinct non-null values
}

// InputProfile summarises raw_sales_data for lineage facets. It holds
// counts and amount statistics only, never id values.
type InputProfile struct {
	RowCount      int64
	Bytes         int64
	RejectedCount int64
	Columns       []ColumnProfile // date, product_id, amount, customer_id
	AmountCount   int64           // non-null amounts
	AmountSum     float64         // sum of non-null amounts, exact to a rounding or two (0 when none)
	AmountMin     float64
	AmountMax     float64
}

// Profile returns the input statistics (computed once, on first call).
// The profile only describes the input for lineage: a failure while
// computing it (a bug) is returned as an error, never a panic, and never
// touches the rows.
func (r *RawSales) Profile() (InputProfile, error) {
	r.profileOnce.Do(func() {
		defer func() {
			if v := recover(); v != nil {
				r.profile, r.profileErr = InputProfile{}, newPanicError(v)
			}
		}()
		if profileFault != nil {
			profileFault()
		}
		r.profile, r.profileErr = r.streamProfile()
		if r.agg == nil {
			r.profile = r.computeProfile()
		}
	})
	return r.profile, r.profileErr
}

// streamProfile is the profile in streaming mode: from the read when it
// computed one, else from reading the source again for it.
func (r *RawSales) streamProfile() (InputProfile, error) {
	if r.agg == nil {
		return InputProfile{}, nil
	}
	if r.agg.prof != nil {
		return r.agg.prof.profile(r), nil
	}
	o := r.opts
	o.KeepRows, o.Profile, o.profileOnly, o.Progress = false, true, true, nil
	again, err := ReadSales(context.Background(), r.src, o)
	if err != nil {
		return InputProfile{}, fmt.Errorf("reading %s again for its statistics: %w", r.name, err)
	}
	if again.n != r.n || len(again.rejected) != len(r.rejected) {
		return InputProfile{}, fmt.Errorf("%w: %s", ErrInputChanged, r.name)
	}
	return again.agg.prof.profile(r), nil
}

// profileFault, when set by a test, runs before the profile is computed
// (to check that a failing profile costs only the statistics).
var profileFault func()

func (r *RawSales) computeProfile() InputProfile {
	p := InputProfile{RowCount: int64(r.n), Bytes: r.bytes, RejectedCount: int64(len(r.rejected))}
	workers := r.scanners()

	// Pass one (cheap): the amount range, and the range of the amounts
	// that are whole numbers of cents, to size the cents bitset. The
	// cents range comes from toCents itself, so every amount that sets a
	// bit in pass two lies inside it.
	type span struct {
		lo, hi         float64
		centsLo, cents int64 // cents = highest; valid when hasCents
		hasCents       bool
	}
	spans := make([]span, len(r.segs))
	parallelFor(len(r.segs), workers, func(_, si int) {
		sp := span{lo: math.Inf(1), hi: math.Inf(-1), centsLo: math.MaxInt64, cents: math.MinInt64}
		for _, v := range r.segs[si].amts {
			if v < sp.lo { // comparisons are false for NaN: nulls are skipped
				sp.lo = v
			}
			if v > sp.hi {
				sp.hi = v
			}
			if c, ok := toCents(v); ok {
				sp.centsLo, sp.cents, sp.hasCents = min(sp.centsLo, c), max(sp.cents, c), true
			}
		}
		spans[si] = sp
	})
	p.AmountMin, p.AmountMax = math.Inf(1), math.Inf(-1)
	centsLo, centsHi, hasCents := int64(math.MaxInt64), int64(math.MinInt64), false
	for _, sp := range spans {
		p.AmountMin, p.AmountMax = min(p.AmountMin, sp.lo), max(p.AmountMax, sp.hi)
		if sp.hasCents {
			centsLo, centsHi, hasCents = min(centsLo, sp.centsLo), max(centsHi, sp.cents), true
		}
	}
	useBits := hasCents && centsHi-centsLo < maxCentsBits

	// Pass two, split by segments. An amount that is a whole number of
	// cents (the common case) sets a bit in a per-worker bitset and adds to
	// an exact integer sum; any other goes to a set and an exact float sum.
	// Customers go to per-worker sets. The parts are merged afterwards, so
	// every result is independent of the split.
	type part struct {
		count        int64
		cents        int128
		other        exactSum
		centsBits    []uint64
		custs        *u64set
		otherAmounts *u64set
	}
	parts := make([]part, workers)
	for w := range parts {
		// Sized for tens of thousands of customers from the start: growing
		// by doubling would make garbage (and GC pauses) on the way.
		parts[w] = part{custs: newU64Set(min(r.n/workers, 1<<16)), otherAmounts: newU64Set(16)}
		if useBits {
			parts[w].centsBits = make([]uint64, (centsHi-centsLo)/64+1)
		}
	}
	parallelFor(len(r.segs), workers, func(w, si int) {
		pt, s := &parts[w], &r.segs[si]
		for i, v := range s.amts {
			if c := s.custs[i]; c != nullCust {
				pt.custs.add(c)
			}
			if isNullAmount(v) {
				continue
			}
			pt.count++
			if c, ok := toCents(v); ok && useBits {
				pt.cents.add(c)
				o := c - centsLo
				pt.centsBits[o>>6] |= 1 << (o & 63)
			} else {
				pt.other.add(v)
				pt.otherAmounts.add(s.amountKey(i))
			}
		}
	})
	all := &parts[0]
	for i := range parts[1:] {
		pt := &parts[i+1]
		all.count += pt.count
		all.cents.addInt128(pt.cents)
		all.other.merge(&pt.other)
		pt.custs.each(all.custs.add)
		pt.otherAmounts.each(all.otherAmounts.add)
		for k, wd := range pt.centsBits {
			all.centsBits[k] |= wd
		}
	}
	p.AmountCount = all.count
	all.other.add(all.cents.div100())
	p.AmountSum = all.other.value()
	if p.AmountCount == 0 {
		p.AmountMin, p.AmountMax = 0, 0
	}
	distinct := [4]int64{
		colProduct:  int64(r.prods.len()),
		colCustomer: int64(all.custs.len()),
		colAmount:   int64(all.otherAmounts.len()),
	}
	for _, wd := range all.centsBits {
		distinct[colAmount] += int64(bits.OnesCount64(wd))
	}

	for _, w := range r.datePresence() {
		distinct[colDate] += int64(bits.OnesCount64(w))
	}
	for c, name := range ColumnNames {
		p.Columns = append(p.Columns, ColumnProfile{Name: name, NullCount: r.nulls[c], DistinctCount: distinct[c]})
	}
	return p
}

// int128 is a two's complement 128-bit integer: a sum of cents that
// cannot overflow (each term is below 2^51 in magnitude).
type int128 struct {
	hi int64
	lo uint64
}

func (a *int128) add(c int64) {
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, uint64(c), 0)
	a.hi += c>>63 + int64(carry) // c>>63 sign-extends c
}

func (a *int128) addInt128(b int128) {
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, b.lo, 0)
	a.hi += b.hi + int64(carry)
}

// div100 returns a/100 correctly rounded to float64.
func (a int128) div100() float64 {
	v := new(big.Int).Lsh(big.NewInt(a.hi), 64)
	v.Add(v, new(big.Int).SetUint64(a.lo))
	f, _ := new(big.Rat).SetFrac(v, big.NewInt(100)).Float64()
	return f
}

// maxCentsBits bounds the per-worker bitset of amounts in cents (2 MiB).
const maxCentsBits = 1 << 24

// toCents returns v as a whole number of cents when v is exactly the
// float64 nearest to such a number (as parsing "12.34" gives); distinct
// values then have distinct cents.
func toCents(v float64) (int64, bool) {
	c := math.RoundToEven(v * 100)
	if math.Abs(c) > 1<<50 || c/100 != v {
		return 0, false
	}
	return int64(c), true
}
