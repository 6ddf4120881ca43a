package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

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

// fileSpec is one input file.
type fileSpec struct {
	Index  int    // position in the input list: file order
	Path   string // absolute path; "" for the embedded sample
	Name   string // how messages name it
	Gzip   bool
	Sample bool
}

func (f fileSpec) source() pipeline.Source {
	if f.Sample {
		return pipeline.SampleSource()
	}
	src, err := pipeline.FileSource(f.Path)
	if err != nil {
		return pipeline.Source{Path: f.Path, Name: f.Name, Open: func() (io.ReadCloser, error) { return nil, err }}
	}
	src.Name = f.Name
	return src
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

// Column tags of the distinct values.
var distinctTags = [4]string{"d", "p", "a", "c"}

// parseFn reads one file and sends its rows on.
type parseFn struct {
	SkipBadRows bool
	Workers     int
}

func (f *parseFn) ProcessElement(ctx context.Context, spec fileSpec, day func(int32, dayVal), key func(string, int64), distinct func(string, int64), summary func(string)) error {
	if err := fault(faultParse, spec); err != nil {
		return err
	}
	opts := pipeline.Options{Workers: f.Workers, KeepRows: true}
	if f.SkipBadRows {
		opts.OnBadRows = pipeline.SkipBadRows
	}
	sum := fileSummary{Index: spec.Index, Name: spec.Name, Nulls: make([]int64, 4)}
	raw, err := pipeline.ReadSales(ctx, spec.source(), opts)
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
	var sets [4]map[string]struct{}
	for c := range sets {
		sets[c] = map[string]struct{}{}
	}
	var kb []byte
	var lastDate int32 = pipeline.NullDate
	raw.EachRow(func(_ int64, r *pipeline.Row) {
		kb = r.AppendKey(kb[:0])
		key(string(kb), 1)
		if r.Clean() {
			sum.Cleaned++
			day(r.Date, dayVal{Amount: r.Amount, Product: r.Product})
		}
		sum.Amounts.Add(r.Amount)
		if r.Date != pipeline.NullDate && r.Date != lastDate {
			lastDate = r.Date
			sets[0][string(binary.LittleEndian.AppendUint32(nil, uint32(r.Date)))] = struct{}{}
		}
		if r.HasProduct {
			sets[1][r.Product] = struct{}{}
		}
		if !math.IsNaN(r.Amount) {
			sets[2][string(binary.LittleEndian.AppendUint64(nil, r.AmountKey()))] = struct{}{}
		}
		if r.HasCustomer {
			sets[3][r.Customer] = struct{}{}
		}
	})
	for c, set := range sets {
		for v := range set {
			distinct(distinctTags[c]+v, 1)
		}
	}
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

// dupFn turns the count of a row identity into its duplicates.
func dupFn(_ string, n int64, emit func(int64)) {
	if n > 1 {
		emit(n - 1)
	}
}

// tagFn keeps a distinct value's column.
func tagFn(k string, _ int64) (string, int64) { return k[:1], 1 }

func firstFn(a, _ int64) int64 { return a }

// scalarFn turns a global count into a result line.
type scalarFn struct{ Kind string }

func (f *scalarFn) ProcessElement(v int64, line func(string)) error {
	return emitLine(line, f.Kind, v)
}

func distinctLineFn(tag string, n int64, line func(string)) error {
	return emitLine(line, "distinct", map[string]int64{tag: n})
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
	register.DoFn6x1[context.Context, fileSpec, func(int32, dayVal), func(string, int64), func(string, int64), func(string), error](&parseFn{})
	register.DoFn4x1[context.Context, fileSpec, func(*int32) bool, func(int32, posAmount), error](&kahanFn{})
	register.DoFn2x1[int64, func(string), error](&scalarFn{})
	register.Combiner3[dayAcc, dayVal, dayOut](&dailyFn{})
	register.Function4x1(dayLineFn)
	register.Function3x0(dupFn)
	register.Function2x2(tagFn)
	register.Function2x1(firstFn)
	register.Function3x1(distinctLineFn)
	register.Function3x1(fileOrderSumFn)
	register.Emitter2[int32, dayVal]()
	register.Emitter2[string, int64]()
	register.Emitter1[string]()
	register.Emitter1[int32]()
	register.Emitter1[int64]()
	register.Emitter2[int32, posAmount]()
	register.Iter1[int32]()
	register.Iter1[posAmount]()
	beam.RegisterType(reflect.TypeOf((*fileSpec)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dayVal)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dayOut)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*posAmount)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*dayAcc)(nil)).Elem(), encodeDayAcc, decodeDayAcc)
}

// build adds the job to s: files in, one results file (JSON lines) out.
func build(s beam.Scope, files []fileSpec, skipBad bool, workers int, results string) {
	elems := make([]any, len(files))
	for i, f := range files {
		elems[i] = f
	}
	in := beam.Create(s, elems...)
	outs := beam.ParDoN(s, &parseFn{SkipBadRows: skipBad, Workers: workers}, in)
	days, keys, distinct, summaries := outs[0], outs[1], outs[2], outs[3]

	dayLines, fragile := beam.ParDo2(s, dayLineFn, beam.CombinePerKey(s, &dailyFn{}, days))

	dups := stats.Sum(s, beam.ParDo(s, dupFn, stats.SumPerKey(s, keys)))
	dupLines := beam.ParDo(s, &scalarFn{Kind: "duplicates"}, dups)

	perColumn := stats.SumPerKey(s, beam.ParDo(s, tagFn, beam.CombinePerKey(s, firstFn, distinct)))
	distinctLines := beam.ParDo(s, distinctLineFn, perColumn)

	positions := beam.ParDo(s, &kahanFn{Workers: workers}, in, beam.SideInput{Input: fragile})
	kahanLines := beam.ParDo(s, fileOrderSumFn, beam.GroupByKey(s, positions))

	textio.Write(s, results, beam.Flatten(s, summaries, dayLines, dupLines, distinctLines, kahanLines))
}
