package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/salesdag/salesdag/internal/pipeline"
)

// The Beam job. One element per input file goes to parseFn, which reads
// the file with internal/pipeline's reader (the same parsers, bad-row
// rules and messages as the native engine) and sends every row on:
//
//   - cleaned rows, keyed by date, into dailyFn (CombinePerKey, lifted: a
//     partial per date and bundle crosses the shuffle, not the rows): the
//     exact sum of the amounts, their count and the distinct products;
//   - every row's identity (pipeline.Row.AppendKey), keyed, into a count
//     per key: the one shuffle of (distinct) rows, which exact duplicate
//     counting needs; duplicates = sum over keys of count - 1;
//   - each file's distinct values per column (for the input statistics),
//     keyed by column and value, merged across files;
//   - one summary per file: counts, nulls, bytes, amount statistics, the
//     rejected rows (--on-bad-rows=skip) or the first bad row (fail).
//
// The exact sum of a date is the native engine's file-order compensated
// sum whenever rounding to cents cannot tell them apart
// (pipeline.SumIsFragile). The dates where it could are few; kahanFn reads
// the files again for just those dates (a side input), their amounts are
// grouped with their position and summed in file order, as the native
// engine does. Every result goes to one small file of JSON lines that the
// driver reads back (see results.go).

// fileSpec is one input file: the file as the driver resolved it
// (path, name, size, compression), or the embedded sample.
type fileSpec struct {
	Index  int // position in the input list: file order
	File   pipeline.InputFile
	Sample bool
}

func (f fileSpec) source() pipeline.Source {
	if f.Sample {
		return pipeline.SampleSource()
	}
	return f.File.Source()
}

// dayVal is one cleaned row as the daily combine takes it.
type dayVal struct {
	Amount  float64
	Product string
}

// posAmount is one cleaned row of a fragile date, with its place in the
// input (file, then row).
type posAmount struct {
	File   int
	Row    int64
	Amount float64
}

// fileSummary is what parseFn reports about one file.
type fileSummary struct {
	Index    int
	Name     string
	Rows     int64
	Cleaned  int64
	Nulls    []int64
	Bytes    int64
	Amounts  pipeline.AmountStats
	Rejected []rejected
	// Failed: the file could not be read (Error), or it has a bad row and
	// bad rows fail the run (BadLine, BadReason).
	Failed    bool
	Error     string
	BadLine   int64
	BadReason string
}

type rejected struct {
	Line   int64
	Reason string
	Raw    string
}

// Tags of the keys counted: row identities, and the values of each
// column (ColumnNames order).
const (
	tagRow = iota
	tagDate
	tagProduct
	tagAmount
	tagCustomer
	nTags
)

// buckets partitions each tag's keys: the unit of the keyed shuffle.
const (
	buckets     = 256
	maxBatchLen = 4096 // keys per bucket before a batch goes out
)

// batcher collects keys and their counts per (tag, bucket) and sends a
// bucket on as one element (a batch) when it is full and at the end.
type batcher struct {
	parts [nTags * buckets]map[string]int64
	emit  func(int32, []byte)
}

func newBatcher(emit func(int32, []byte)) *batcher { return &batcher{emit: emit} }

// bucketOf is FNV-1a: the same on every worker, as it must be (a key
// must meet its equals in one bucket).
func bucketOf(key []byte) int {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int(h % buckets)
}

func (b *batcher) add(tag int, key []byte) {
	i := tag*buckets + bucketOf(key)
	m := b.parts[i]
	if m == nil {
		m = map[string]int64{}
		b.parts[i] = m
	}
	m[string(key)]++
	if len(m) >= maxBatchLen {
		b.flush(i)
	}
}

func (b *batcher) flush(i int) {
	if m := b.parts[i]; len(m) > 0 {
		b.emit(int32(i), encodeCounts(m))
		b.parts[i] = nil
	}
}

func (b *batcher) flushAll() {
	for i := range b.parts {
		b.flush(i)
	}
}

// encodeCounts writes the number of keys, then each key and its count:
// uvarint length, key, uvarint count.
func encodeCounts(m map[string]int64) []byte {
	out := binary.AppendUvarint(nil, uint64(len(m)))
	for k, n := range m {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(n))
	}
	return out
}

// decodeCounts adds a batch to into (made when nil, for the batch's
// size) and returns it.
func decodeCounts(b []byte, into map[string]int64) (map[string]int64, error) {
	keys, n := binary.Uvarint(b)
	if n <= 0 || keys > uint64(len(b)) {
		return into, errors.New("key counts: malformed batch")
	}
	b = b[n:]
	if into == nil {
		into = make(map[string]int64, keys)
	}
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return into, errors.New("key counts: malformed batch")
		}
		k := string(b[n : n+int(l)])
		b = b[n+int(l):]
		c, m := binary.Uvarint(b)
		if m <= 0 {
			return into, errors.New("key counts: malformed batch")
		}
		b = b[m:]
		into[k] += int64(c)
	}
	return into, nil
}

// countsAcc is the keys of one (tag, bucket) with their counts.
type countsAcc struct{ M map[string]int64 }

// countsFn merges batches of keys exactly (full keys, not hashes).
type countsFn struct{}

func (countsFn) CreateAccumulator() countsAcc { return countsAcc{} }

func (countsFn) AddInput(a countsAcc, batch []byte) (countsAcc, error) {
	var err error
	a.M, err = decodeCounts(batch, a.M)
	return a, err
}

// MergeAccumulators adds the smaller map to the larger.
func (countsFn) MergeAccumulators(a, b countsAcc) countsAcc {
	if len(a.M) < len(b.M) {
		a, b = b, a
	}
	if a.M == nil {
		a.M = map[string]int64{}
	}
	for k, n := range b.M {
		a.M[k] += n
	}
	return a
}

// keyCounts is what a (tag, bucket) holds: distinct keys and occurrences.
type keyCounts struct {
	Distinct, Total int64
}

func (countsFn) ExtractOutput(a countsAcc) keyCounts {
	kc := keyCounts{Distinct: int64(len(a.M))}
	for _, n := range a.M {
		kc.Total += n
	}
	return kc
}

func encodeCountsAcc(a countsAcc) ([]byte, error) { return encodeCounts(a.M), nil }

func decodeCountsAcc(b []byte) (countsAcc, error) {
	m, err := decodeCounts(b, nil)
	return countsAcc{M: m}, err
}

// tagCountsFn keys a bucket's counts by its tag.
func tagCountsFn(bucket int32, kc keyCounts) (int32, keyCounts) { return bucket / buckets, kc }

// sumCountsFn adds the counts of a tag's buckets.
func sumCountsFn(a, b keyCounts) keyCounts {
	return keyCounts{Distinct: a.Distinct + b.Distinct, Total: a.Total + b.Total}
}

// countsLineFn emits a tag's counts.
func countsLineFn(tag int32, kc keyCounts, line func(string)) error {
	return emitLine(line, "counts", countsLine{Tag: int(tag), Distinct: kc.Distinct, Total: kc.Total})
}

type countsLine struct {
	Tag             int
	Distinct, Total int64
}

// parseFn reads one file and sends its rows on.
type parseFn struct {
	SkipBadRows bool
	Workers     int
}

func (f *parseFn) ProcessElement(ctx context.Context, spec fileSpec, day func(int32, dayVal), keys func(int32, []byte), summary func(string)) error {
	if err := fault(faultParse, spec); err != nil {
		return err
	}
	opts := pipeline.Options{Workers: f.Workers, KeepRows: true}
	if f.SkipBadRows {
		opts.OnBadRows = pipeline.SkipBadRows
	}
	sum := fileSummary{Index: spec.Index, Name: spec.File.Name, Nulls: make([]int64, 4)}
	raw, err := pipeline.ReadSales(ctx, spec.source(), opts)
	if pipeline.IsOnlyHeader(err) {
		// One file of many may have no data row: the input as a whole
		// must have one (the driver checks).
		sum.Bytes = spec.File.Size
		return emitLine(summary, "file", sum)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sum.Failed, sum.Error = true, err.Error()
		var bad *pipeline.BadRowError
		if errors.As(err, &bad) {
			sum.Error, sum.BadLine, sum.BadReason = "", bad.Line, bad.Reason
		}
		return emitLine(summary, "file", sum)
	}
	sum.Rows, sum.Bytes = int64(raw.Len()), raw.BytesRead()
	n := raw.Nulls()
	copy(sum.Nulls, n[:])
	for _, r := range raw.Rejected() {
		sum.Rejected = append(sum.Rejected, rejected{Line: r.Line, Reason: r.Reason, Raw: r.Raw})
	}
	// Row identities (tag 0) and the distinct values of each column
	// (tags 1-4) go out in batches, partitioned by a hash of the key.
	b := newBatcher(keys)
	var kb []byte
	var lastDate int32 = pipeline.NullDate
	raw.EachRow(func(_ int64, r *pipeline.Row) {
		kb = r.AppendKey(kb[:0])
		b.add(tagRow, kb)
		if r.Clean() {
			sum.Cleaned++
			day(r.Date, dayVal{Amount: r.Amount, Product: r.Product})
		}
		sum.Amounts.Add(r.Amount)
		if r.Date != pipeline.NullDate && r.Date != lastDate {
			lastDate = r.Date
			b.add(tagDate, binary.LittleEndian.AppendUint32(kb[:0], uint32(r.Date)))
		}
		if r.HasProduct {
			b.add(tagProduct, append(kb[:0], r.Product...))
		}
		if !math.IsNaN(r.Amount) {
			b.add(tagAmount, binary.LittleEndian.AppendUint64(kb[:0], r.AmountKey()))
		}
		if r.HasCustomer {
			b.add(tagCustomer, append(kb[:0], r.Customer...))
		}
	})
	b.flushAll()
	return emitLine(summary, "file", sum)
}

// dayAcc is a date's partial: the exact sum of its cleaned amounts, their
// count and its distinct products.
type dayAcc struct {
	Sum      pipeline.ExactSum
	Count    int64
	Products map[string]struct{}
}

// dailyFn combines the cleaned rows of a date.
type dailyFn struct{}

func (dailyFn) CreateAccumulator() dayAcc { return dayAcc{Products: map[string]struct{}{}} }

func (dailyFn) AddInput(a dayAcc, v dayVal) dayAcc {
	a.Sum.Add(v.Amount)
	a.Count++
	if a.Products == nil {
		a.Products = map[string]struct{}{}
	}
	a.Products[v.Product] = struct{}{}
	return a
}

func (dailyFn) MergeAccumulators(a, b dayAcc) dayAcc {
	a.Sum.Merge(b.Sum)
	a.Count += b.Count
	if a.Products == nil {
		a.Products = map[string]struct{}{}
	}
	for p := range b.Products {
		a.Products[p] = struct{}{}
	}
	return a
}

// dayOut is a date's merged result.
type dayOut struct {
	Date     int32
	Sum      float64 // the exactly rounded sum
	Count    int64
	Products int64
	Fragile  bool // the file-order sum is needed (pipeline.SumIsFragile)
}

func (dailyFn) ExtractOutput(a dayAcc) dayOut {
	s := a.Sum.Value()
	return dayOut{Sum: s, Count: a.Count, Products: int64(len(a.Products)), Fragile: pipeline.SumIsFragile(s, a.Count)}
}

// encodeDayAcc and decodeDayAcc are dayAcc's coder (a partial crosses the
// shuffle): partials, count, products.
func encodeDayAcc(a dayAcc) ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(len(a.Sum.Partials)))
	for _, p := range a.Sum.Partials {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p))
	}
	b = binary.AppendVarint(b, a.Count)
	b = binary.AppendUvarint(b, uint64(len(a.Products)))
	for _, p := range slices.Sorted(mapsKeys(a.Products)) {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b, nil
}

func decodeDayAcc(b []byte) (dayAcc, error) {
	r := bytes.NewReader(b)
	bad := errors.New("daily partial: malformed encoding")
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(b)) {
		return dayAcc{}, bad
	}
	a := dayAcc{Sum: pipeline.ExactSum{Partials: make([]float64, n)}}
	for i := range a.Sum.Partials {
		var w uint64
		if err := binary.Read(r, binary.LittleEndian, &w); err != nil {
			return dayAcc{}, bad
		}
		a.Sum.Partials[i] = math.Float64frombits(w)
	}
	if a.Count, err = binary.ReadVarint(r); err != nil {
		return dayAcc{}, bad
	}
	n, err = binary.ReadUvarint(r)
	if err != nil || n > uint64(len(b)) {
		return dayAcc{}, bad
	}
	a.Products = make(map[string]struct{}, n)
	for range n {
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return dayAcc{}, bad
		}
		p := make([]byte, l)
		if _, err := r.Read(p); err != nil && l > 0 {
			return dayAcc{}, bad
		}
		a.Products[string(p)] = struct{}{}
	}
	return a, nil
}

func mapsKeys(m map[string]struct{}) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// dayLineFn emits a date's result and, when fragile, the date for the
// file-order pass.
func dayLineFn(date int32, d dayOut, line func(string), fragile func(int32)) error {
	d.Date = date
	if d.Fragile {
		fragile(date)
	}
	return emitLine(line, "day", d)
}

// kahanFn reads a file again for the cleaned rows of the fragile dates.
type kahanFn struct {
	Workers int
}

func (f *kahanFn) ProcessElement(ctx context.Context, spec fileSpec, fragile func(*int32) bool, emit func(int32, posAmount)) error {
	want := map[int32]bool{}
	var d int32
	for fragile(&d) {
		want[d] = true
	}
	if len(want) == 0 {
		return nil
	}
	// Skip mode keeps the good rows of a file with bad rows; in fail mode
	// such a file already failed the run (parseFn), and is skipped here.
	raw, err := pipeline.ReadSales(ctx, spec.source(), pipeline.Options{Workers: f.Workers, KeepRows: true, OnBadRows: pipeline.SkipBadRows})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // parseFn reports it
	}
	raw.EachRow(func(i int64, r *pipeline.Row) {
		if r.Clean() && want[r.Date] {
			emit(r.Date, posAmount{File: spec.Index, Row: i, Amount: r.Amount})
		}
	})
	return nil
}

// fileOrderSumFn sums a fragile date's amounts in input order.
func fileOrderSumFn(date int32, amounts func(*posAmount) bool, line func(string)) error {
	var all []posAmount
	var p posAmount
	for amounts(&p) {
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b posAmount) int {
		if a.File != b.File {
			return a.File - b.File
		}
		return int(a.Row - b.Row)
	})
	vals := make([]float64, len(all))
	for i, a := range all {
		vals[i] = a.Amount
	}
	return emitLine(line, "kahan", kahanLine{Date: date, Sum: pipeline.KahanSum(vals)})
}

type kahanLine struct {
	Date int32
	Sum  float64
}

// resultLine is one line of the results file.
type resultLine struct {
	Kind string          `json:"kind"`
	V    json.RawMessage `json:"v"`
}

func emitLine(emit func(string), kind string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding a %s result: %w", kind, err)
	}
	l, err := json.Marshal(resultLine{Kind: kind, V: b})
	if err != nil {
		return err
	}
	emit(string(l))
	return nil
}

func init() {
	register.DoFn5x1[context.Context, fileSpec, func(int32, dayVal), func(int32, []byte), func(string), error](&parseFn{})
	register.DoFn4x1[context.Context, fileSpec, func(*int32) bool, func(int32, posAmount), error](&kahanFn{})
	register.Combiner3[dayAcc, dayVal, dayOut](&dailyFn{})
	register.Function4x1(dayLineFn)
	register.Combiner3[countsAcc, []byte, keyCounts](&countsFn{})
	register.Function2x2(tagCountsFn)
	register.Function2x1(sumCountsFn)
	register.Function3x1(countsLineFn)
	register.Function3x1(fileOrderSumFn)
	register.Emitter2[int32, dayVal]()
	register.Emitter2[int32, []byte]()
	register.Emitter1[string]()
	register.Emitter1[int32]()
	register.Emitter2[int32, posAmount]()
	register.Iter1[int32]()
	register.Iter1[posAmount]()
	beam.RegisterType(reflect.TypeOf((*fileSpec)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dayVal)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dayOut)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*posAmount)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*keyCounts)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*dayAcc)(nil)).Elem(), encodeDayAcc, decodeDayAcc)
	beam.RegisterCoder(reflect.TypeOf((*countsAcc)(nil)).Elem(), encodeCountsAcc, decodeCountsAcc)
}

// build adds the job to s: files in, one results file (JSON lines) out.
func build(s beam.Scope, files []fileSpec, skipBad bool, workers int, results string) {
	elems := make([]any, len(files))
	for i, f := range files {
		elems[i] = f
	}
	in := beam.Create(s, elems...)
	days, keys, summaries := beam.ParDo3(s, &parseFn{SkipBadRows: skipBad, Workers: workers}, in)

	dayLines, fragile := beam.ParDo2(s, dayLineFn, beam.CombinePerKey(s, &dailyFn{}, days))

	perBucket := beam.CombinePerKey(s, &countsFn{}, keys)
	perTag := beam.CombinePerKey(s, sumCountsFn, beam.ParDo(s, tagCountsFn, perBucket))
	countLines := beam.ParDo(s, countsLineFn, perTag)

	positions := beam.ParDo(s, &kahanFn{Workers: workers}, in, beam.SideInput{Input: fragile})
	kahanLines := beam.ParDo(s, fileOrderSumFn, beam.GroupByKey(s, positions))

	textio.Write(s, results, beam.Flatten(s, summaries, dayLines, countLines, kahanLines))
}
