package pipeline

import (
	"math"
	"math/bits"
	"slices"

	"github.com/salesdag/salesdag/internal/frame"
)

// Streaming mode. When the source can be read again (a file, the embedded
// sample) and no output asks for the rows, raw_sales_data keeps no row
// table: every chunk is reduced while it is parsed to what the nodes need.
//
//   - daily_sales_summary: each chunk lists the (date, amount) of its
//     cleaned rows; the goroutine that takes the chunks in file order adds
//     them to one compensated sum per date, so every date is summed in file
//     order, as pandas does (the list is dropped right after). Distinct
//     products per date are per-worker bit sets, merged after the read.
//   - data_quality_metrics: counts, and for the duplicates one 64-bit entry
//     per row (a fingerprint of the row's values and the row's byte offset
//     in the source), filed under partitions by fingerprint; see dedup.go.
//   - the input profile (lineage statistics), only when Options.Profile
//     asks for it.
//
// The rows themselves (Table, --outputs raw_sales_data) are read again
// from the source on demand. In rows mode (a pipe, Options.KeepRows, a
// value decoded from the cache) the row table is kept and the nodes work
// from it as before; both modes give the same results.

// chunkAgg is what streaming mode keeps of one chunk until the chunk is
// merged in file order.
type chunkAgg struct {
	rows    int
	cleaned int
	dates   []int32   // date of each cleaned row, in file order
	amts    []float64 // amount of each cleaned row
}

// workerAgg is what one parsing goroutine accumulates over its chunks.
type workerAgg struct {
	// Distinct products per date: a bit set over the worker's product
	// codes per date, or (past maxDayProdWords) a set of date<<32|code.
	days     map[int32]*[]uint64
	lastDay  int32
	lastBits *[]uint64
	words    int
	pairs    *u64set

	free chan chunkAgg // lists of merged chunks, for reuse (shared)

	dups *dupParts // nil when duplicates are not needed (profile only)
	prof *profAgg  // nil unless the profile is computed in the pass
}

// maxDayProdWords bounds the per-worker (date x product) bit sets (8 MiB);
// beyond it a worker files (date, product) pairs in a hash set.
const maxDayProdWords = 1 << 20

func newWorkerAgg(free chan chunkAgg, dups, prof bool) *workerAgg {
	a := &workerAgg{days: map[int32]*[]uint64{}, lastDay: nullDate, free: free}
	if dups {
		a.dups = &dupParts{}
	}
	if prof {
		a.prof = newProfAgg()
	}
	return a
}

func (a *workerAgg) addProduct(d int32, p uint32) {
	if a.pairs != nil {
		a.pairs.add(uint64(uint32(d))<<32 | uint64(p))
		return
	}
	if d != a.lastDay || a.lastBits == nil {
		b, ok := a.days[d]
		if !ok {
			b = new([]uint64)
			a.days[d] = b
		}
		a.lastDay, a.lastBits = d, b
	}
	b := a.lastBits
	w := int(p >> 6)
	if w >= len(*b) {
		grow := max(w+1, 2*len(*b)) - len(*b)
		if a.words+grow > maxDayProdWords {
			a.toPairs()
			a.pairs.add(uint64(uint32(d))<<32 | uint64(p))
			return
		}
		a.words += grow
		*b = append(*b, make([]uint64, grow)...)
	}
	(*b)[w] |= 1 << (p & 63)
}

func (a *workerAgg) toPairs() {
	a.pairs = newU64Set(a.words * 8)
	for d, b := range a.days {
		eachBit(*b, func(p int) { a.pairs.add(uint64(uint32(d))<<32 | uint64(p)) })
	}
	a.days, a.lastBits = nil, nil
}

// eachPair calls fn for every (date, product code) the worker saw.
func (a *workerAgg) eachPair(fn func(d int32, p uint32)) {
	if a.pairs != nil {
		a.pairs.each(func(k uint64) { fn(int32(uint32(k>>32)), uint32(k)) })
		return
	}
	for d, b := range a.days {
		eachBit(*b, func(p int) { fn(d, uint32(p)) })
	}
}

func (a *workerAgg) pairCount() int {
	if a.pairs != nil {
		return a.pairs.len()
	}
	n := 0
	for _, b := range a.days {
		for _, w := range *b {
			n += bits.OnesCount64(w)
		}
	}
	return n
}

func eachBit(set []uint64, fn func(i int)) {
	for k, w := range set {
		for ; w != 0; w &= w - 1 {
			fn(k*64 + bits.TrailingZeros64(w))
		}
	}
}

// dailyAcc sums the cleaned rows per date, fed in file order.
type dailyAcc struct {
	slot   map[int32]int32
	dates  []int32
	sums   []kahan
	counts []int64
}

func newDailyAcc() *dailyAcc { return &dailyAcc{slot: map[int32]int32{}} }

// add folds in one chunk's cleaned rows (chunks come in file order).
func (a *dailyAcc) add(c *chunkAgg) {
	last, k := nullDate, int32(-1)
	for i, d := range c.dates {
		if d != last {
			s, ok := a.slot[d]
			if !ok {
				s = int32(len(a.dates))
				a.slot[d] = s
				a.dates = append(a.dates, d)
				a.sums = append(a.sums, kahan{})
				a.counts = append(a.counts, 0)
			}
			last, k = d, s
		}
		a.sums[k].add(c.amts[i])
		a.counts[k]++
	}
}

// take adds one chunk's cleaned rows (add), then offers the chunk's
// buffers to free for a later chunk and leaves c empty.
func (a *dailyAcc) take(c *chunkAgg, free chan<- chunkAgg) {
	a.add(c)
	select {
	case free <- chunkAgg{dates: c.dates[:0], amts: c.amts[:0]}:
	default:
	}
	*c = chunkAgg{}
}

// summary builds daily_sales_summary from the sums and the per-date
// product counts (uniq, by date).
func (a *dailyAcc) summary(uniq map[int32]int64) *DailySummary {
	order := make([]int32, len(a.dates))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return int(a.dates[x]) - int(a.dates[y]) })
	d := &DailySummary{}
	for _, k := range order {
		c := a.counts[k]
		sum := a.sums[k].sum
		d.Date = append(d.Date, frame.Date(a.dates[k]))
		d.TotalAmount = append(d.TotalAmount, round(sum, 2))
		d.AvgAmount = append(d.AvgAmount, round(sum/float64(c), 2))
		d.TransactionCount = append(d.TransactionCount, c)
		d.UniqueProducts = append(d.UniqueProducts, uniq[a.dates[k]])
	}
	return d
}

// uniqueProducts merges the workers' (date, product) pairs, with product
// codes mapped to the merged dictionary (pmap[w] nil: already merged).
func uniqueProducts(aggs []*workerAgg, pmap [][]uint32) map[int32]int64 {
	total := 0
	for _, a := range aggs {
		total += a.pairCount()
	}
	uniq := map[int32]int64{}
	if len(aggs) == 1 || pmap == nil {
		// One worker: its pairs are distinct already.
		for _, a := range aggs {
			a.eachPair(func(d int32, _ uint32) { uniq[d]++ })
		}
		return uniq
	}
	set := newU64Set(total)
	for w, a := range aggs {
		m := pmap[w]
		a.eachPair(func(d int32, p uint32) { set.add(uint64(uint32(d))<<32 | uint64(m[p])) })
	}
	set.each(func(k uint64) { uniq[int32(uint32(k>>32))]++ })
	return uniq
}

// rangeBits is a bit set over integers that grows around the values it is
// given, up to maxBits bits; a value it cannot cover afterwards goes to
// the overflow set (and the range is frozen, so that a value is never in
// both).
type rangeBits struct {
	lo     int64
	nbits  uint64 // len(set) * 64
	set    []uint64
	frozen bool
	over   *u64set
}

const maxRangeBits = 1 << 24

func (r *rangeBits) add(v int64) {
	if o := uint64(v - r.lo); o < r.nbits { // inlined: the common case
		r.set[o>>6] |= 1 << (o & 63)
		return
	}
	r.addOutside(v)
}

func (r *rangeBits) addOutside(v int64) {
	if r.set == nil && !r.frozen {
		r.lo = v &^ 63
		r.set = make([]uint64, 16)
		r.nbits = 16 * 64
	}
	o := v - r.lo
	if o < 0 || o >= int64(len(r.set))*64 {
		if !r.grow(v) {
			if r.over == nil {
				r.over = newU64Set(64)
			}
			r.over.add(uint64(v))
			return
		}
		o = v - r.lo
	}
	r.set[o>>6] |= 1 << (o & 63)
}

func (r *rangeBits) grow(v int64) bool {
	if r.frozen {
		return false
	}
	lo, hi := r.lo, r.lo+int64(len(r.set))*64
	span := hi - lo
	for v < lo || v >= hi {
		if span >= maxRangeBits {
			r.frozen = true
			return false
		}
		span *= 2
		if v < lo {
			lo = hi - span
		} else {
			hi = lo + span
		}
	}
	set := make([]uint64, span/64)
	copy(set[(r.lo-lo)/64:], r.set)
	r.lo, r.set, r.nbits = lo, set, uint64(len(set))*64
	return true
}

// merge adds every value of o.
func (r *rangeBits) merge(o *rangeBits) {
	eachBit(o.set, func(i int) { r.add(o.lo + int64(i)) })
	if o.over != nil {
		o.over.each(func(k uint64) { r.add(int64(k)) })
	}
}

func (r *rangeBits) len() int64 {
	n := int64(0)
	for _, w := range r.set {
		n += int64(bits.OnesCount64(w))
	}
	if r.over != nil {
		n += int64(r.over.len())
	}
	return n
}

// profAgg is a worker's share of the input profile.
type profAgg struct {
	count        int64
	lo, hi       float64
	cents        int128
	other        exactSum
	centsSet     rangeBits // distinct amounts that are whole cents
	otherAmounts *u64set   // other distinct amounts (amountKey)
	custs        *idSet    // distinct short customer ids (inline keys)
	dates        rangeBits // distinct non-null dates
	lastDate     int32
}

func newProfAgg() *profAgg {
	return &profAgg{lo: math.Inf(1), hi: math.Inf(-1), lastDate: nullDate, otherAmounts: newU64Set(16), custs: newIDSet()}
}

// add counts one row; cents is the amount in cents when the parser knows
// it is toCents(amt), else -1.
func (pa *profAgg) add(date int32, cust uint64, amt float64, cents int64) {
	if date != nullDate && date != pa.lastDate { // sorted files repeat dates
		pa.dates.add(int64(date))
		pa.lastDate = date
	}
	if cust != nullCust && cust&longID == 0 {
		pa.custs.add(cust)
	}
	if isNullAmount(amt) {
		return
	}
	pa.count++
	pa.lo, pa.hi = min(pa.lo, amt), max(pa.hi, amt)
	if cents >= 0 {
		pa.addCents(cents)
	} else {
		pa.addAmount(amt)
	}
}

// addCents adds a non-null amount that is the whole number of cents c
// (toCents).
func (pa *profAgg) addCents(c int64) {
	pa.cents.add(c)
	cs := &pa.centsSet
	if o := uint64(c - cs.lo); o < cs.nbits { // rangeBits.add, inlined by hand
		cs.set[o>>6] |= 1 << (o & 63)
	} else {
		cs.addOutside(c)
	}
}

// addAmount adds a non-null amount whose cents are not known.
func (pa *profAgg) addAmount(amt float64) {
	if c, ok := toCents(amt); ok {
		pa.addCents(c)
		return
	}
	pa.other.add(amt)
	if amt == 0 {
		amt = 0 // -0 is 0
	}
	pa.otherAmounts.add(math.Float64bits(amt))
}

func (pa *profAgg) merge(o *profAgg) {
	pa.count += o.count
	pa.lo, pa.hi = min(pa.lo, o.lo), max(pa.hi, o.hi)
	pa.cents.addInt128(o.cents)
	pa.other.merge(&o.other)
	pa.centsSet.merge(&o.centsSet)
	o.otherAmounts.each(pa.otherAmounts.add)
	pa.custs.merge(o.custs)
	pa.dates.merge(&o.dates)
}

// profile finishes the merged share into the input profile.
func (pa *profAgg) profile(r *RawSales) InputProfile {
	return pa.profileOf(int64(r.n), r.bytes, int64(len(r.rejected)), r.nulls, int64(r.prods.len()), int64(r.custs.len()))
}

// profileOf is profile for rows data rows of bytes bytes, rejected rows
// set aside, the null counts, and the distinct product ids and long
// customer ids (those of the dictionaries).
func (pa *profAgg) profileOf(rows, bytes, rejected int64, nulls [4]int64, prods, longCusts int64) InputProfile {
	p := InputProfile{RowCount: rows, Bytes: bytes, RejectedCount: rejected}
	p.AmountCount = pa.count
	p.AmountMin, p.AmountMax = pa.lo, pa.hi
	if pa.count == 0 {
		p.AmountMin, p.AmountMax = 0, 0
	}
	sum := exactSum{partials: slices.Clone(pa.other.partials)}
	sum.add(pa.cents.div100())
	p.AmountSum = sum.value()
	distinct := [4]int64{
		colDate:     pa.dates.len(),
		colProduct:  prods,
		colAmount:   pa.centsSet.len() + int64(pa.otherAmounts.len()),
		colCustomer: pa.custs.len() + longCusts,
	}
	for c, name := range ColumnNames {
		p.Columns = append(p.Columns, ColumnProfile{Name: name, NullCount: nulls[c], DistinctCount: distinct[c]})
	}
	return p
}
