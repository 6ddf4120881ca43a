// Package pipeline holds the eight sales nodes of salesdag (SPEC section 1)
// and registers them on the generic dag engine.
//
// The input path is built for millions of rows: the CSV is streamed in large
// chunks that end on record boundaries, the chunks are parsed in parallel by
// hand-written byte parsers into typed columns (dates as day numbers,
// product and customer ids as dictionary codes, amounts as exact scaled
// integers), and every aggregate is either exact or reproduces the
// reference's (pandas') floating-point algorithm step by step, so results
// never depend on the number of workers.
package pipeline

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
)

// Node names.
const (
	NodeRaw      = "raw_sales_data"
	NodeCleaned  = "cleaned_sales_data"
	NodeDaily    = "daily_sales_summary"
	NodeQuality  = "data_quality_metrics"
	NodeEnriched = "enriched_daily_summary"
	NodeWeekly   = "weekly_aggregation"
	NodeTrend    = "trend_analysis"
	NodeTop      = "top_performing_days"

	// InputSource and InputOptions are the external inputs of the graph.
	InputSource  = "source"
	InputOptions = "options"
)

// DefaultOutputs are the results the original pipeline writes.
var DefaultOutputs = []string{NodeDaily, NodeEnriched, NodeWeekly, NodeTrend, NodeTop, NodeQuality}

// BadRowPolicy says what happens to a row that cannot be parsed.
type BadRowPolicy int

const (
	// FailOnBadRows stops the run at the first bad row (the default).
	FailOnBadRows BadRowPolicy = iota
	// SkipBadRows sets bad rows aside (RawSales.Rejected) and goes on.
	SkipBadRows
)

// String returns "fail" or "skip".
func (p BadRowPolicy) String() string {
	if p == SkipBadRows {
		return "skip"
	}
	return "fail"
}

// ParseBadRowPolicy reads "fail" or "skip".
func ParseBadRowPolicy(s string) (BadRowPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fail", "":
		return FailOnBadRows, nil
	case "skip":
		return SkipBadRows, nil
	}
	return FailOnBadRows, fmt.Errorf("unknown bad-row policy %q (use fail or skip)", s)
}

// Options tunes how raw_sales_data reads its input.
type Options struct {
	OnBadRows BadRowPolicy
	// Workers is the number of parsing goroutines; <= 0 means GOMAXPROCS.
	// Results are identical for every value.
	Workers int
	// Progress, when set, is called from one goroutine after each chunk
	// is parsed, with the bytes and rows parsed so far.
	Progress func(bytesRead, rows int64)

	// KeepRows keeps the row-level table in memory (for writing
	// raw_sales_data or cleaned_sales_data); without it, a source that
	// can be read again is reduced to aggregates while it is parsed and
	// the rows are read again only when asked for. Results are the same.
	KeepRows bool
	// Profile computes the input profile (RawSales.Profile) during the
	// read, for lineage statistics; without it, Profile reads the source
	// again when called. Results are the same.
	Profile bool

	profileOnly bool // the read is for the profile alone
	noFastPath  bool // tests: every record takes the general path

	chunkSize int // bytes per chunk; 0 = defaultChunkSize (tests shrink it)
	// afterChunk, when set (by tests), is called by the reading goroutine
	// after each chunk read from the source, with the bytes read so far.
	afterChunk func(read int64)
}

// MaxWorkers bounds the parsing goroutines: per-worker buffers and hash
// partitions grow with the count, and more than this never helps.
const MaxWorkers = 64

func (o Options) workers() int {
	if o.Workers > 0 {
		return min(o.Workers, MaxWorkers)
	}
	return min(runtime.GOMAXPROCS(0), MaxWorkers)
}

// Source is where the raw CSV comes from.
type Source struct {
	Path string // absolute path, or "" for the embedded sample
	Name string // how messages name the input
	Open func() (io.ReadCloser, error)
	Size int64 // bytes, when known (0 otherwise)
	// Stream is set for a pipe or device: it can be read only once, so
	// nothing may open it ahead of the run (or hash it for the cache).
	Stream bool
	// Gzip (Zstd) is set when Open gives gzip (zstd) compressed bytes:
	// ReadSales decompresses them (Size and progress count the compressed
	// bytes).
	Gzip bool
	Zstd bool
	// Files, when set, make the source a multi-file input (FilesSource):
	// the concatenation of the files' data rows, in order, each file with
	// its own header; Path and Open are then unset, Size is the files'
	// total and Name says how many files there are.
	Files []InputFile
}

// FileSource checks that path names a readable regular file and returns a
// Source for it.
func FileSource(path string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, fmt.Errorf("input %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Source{}, fmt.Errorf("input %s: file does not exist", path)
	case err != nil:
		return Source{}, fmt.Errorf("input %s: %w", path, err)
	case st.IsDir():
		return Source{}, fmt.Errorf("input %s: is a directory, not a CSV file", path)
	}
	stream := !st.Mode().IsRegular()
	gz, zst := compression(abs, nil)
	if !stream {
		// Opening a pipe here would block for a writer or lose data.
		f, err := os.Open(abs)
		if err != nil {
			return Source{}, fmt.Errorf("input %s: cannot be read: %w", path, pathErrCause(err))
		}
		if st.Size() == 0 {
			// Empty, or a /proc or /sys file, which reports size 0 and
			// has content: the first byte tells. Such a file is read once,
			// as a stream.
			var b [1]byte
			n, err := f.Read(b[:])
			switch {
			case n > 0:
				stream = true
			case err == nil || errors.Is(err, io.EOF):
				_ = f.Close()
				return Source{}, fmt.Errorf("input %s: file is empty", path)
			default:
				_ = f.Close()
				return Source{}, fmt.Errorf("input %s: cannot be read: %w", path, pathErrCause(err))
			}
		}
		if !stream && !gz && !zst {
			var b [4]byte
			n, _ := io.ReadFull(f, b[:])
			gz, zst = compression(abs, b[:n])
		}
		_ = f.Close()
	}
	return Source{
		Path:   abs,
		Name:   path,
		Size:   st.Size(),
		Stream: stream,
		Gzip:   gz,
		Zstd:   zst,
		Open:   func() (io.ReadCloser, error) { return os.Open(abs) },
	}, nil
}

// pathErrCause drops the operation and path that os adds to an error
// (the message names the input already): "permission denied", not
// "open /abs/path: permission denied".
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

//go:embed sample/sales_raw.csv
var sampleCSV string

// SampleSource is the sample input of the original project, embedded in
// the binary.
func SampleSource() Source {
	return Source{
		Name: "sample/sales_raw.csv (embedded)",
		Size: int64(len(sampleCSV)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(sampleCSV)), nil },
	}
}

// Register declares the inputs "source" (Source) and "options" (Options)
// and the eight sales nodes on g.
func Register(g *dag.Graph) {
	step := func(name, doc, tag string) dag.Spec { return dag.Spec{Name: name, Doc: doc, Tags: []string{tag}} }
	dag.Input[Source](g, InputSource, "the raw sales CSV")
	dag.Input[Options](g, InputOptions, "reader options: bad-row policy, workers, progress")
	dag.Add2(g, step(NodeRaw, "every data row of the input, typed", "step1"), InputSource, InputOptions, ReadSales)
	dag.Add1(g, step(NodeCleaned, "raw rows without nulls and with amount > 0", "step1"), NodeRaw, CleanedSales)
	dag.Add1(g, step(NodeDaily, "per-day total, mean, count and distinct products", "step1"), NodeCleaned, DailySalesSummary)
	dag.Add2(g, step(NodeQuality, "row counts, loss rate, nulls and duplicates", "step1"), NodeRaw, NodeCleaned, DataQualityMetrics)
	dag.Add1(g, step(NodeEnriched, "daily summary with 7-row moving averages, changes and weekdays", "step2"), NodeDaily, EnrichedDailySummary)
	dag.Add1(g, step(NodeWeekly, "Monday-Sunday weekly totals, means and deviations", "step2"), NodeEnriched, WeeklyAggregate)
	dag.Add1(g, step(NodeTrend, "growth, extremes, weekday/weekend means and volatility", "step2"), NodeEnriched, Trend)
	dag.Add1(g, step(NodeTop, "the five days with the largest totals", "step2"), NodeEnriched, TopPerformingDays)
}
