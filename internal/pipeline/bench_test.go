package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const benchRows = 1_000_000

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// TestMain removes the benchmark inputs (benchFile's directory, which
// the gzip benchmarks share) when the test binary ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchPath != "" {
		os.RemoveAll(filepath.Dir(benchPath))
	}
	os.Exit(code)
}

// benchFile generates the benchmark input once per test binary run.
func benchFile(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "salesdag-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchPath = filepath.Join(dir, "sales_1m.csv")
		f, err := os.Create(benchPath)
		if err != nil {
			benchErr = err
			return
		}
		defer f.Close()
		benchErr = Generate(f, benchRows, 1)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func benchSource(b *testing.B) Source {
	src, err := FileSource(benchFile(b))
	if err != nil {
		b.Fatal(err)
	}
	return src
}

// BenchmarkReadSales measures ingestion (raw_sales_data) of 1M rows.
func BenchmarkReadSales(b *testing.B) {
	src := benchSource(b)
	b.SetBytes(src.Size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadSales(context.Background(), src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkNodes measures each node on the 1M-row input.
func BenchmarkNodes(b *testing.B) {
	src := benchSource(b)
	r := runNodes(b, src, Options{})
	ctx := context.Background()
	nodes := []struct {
		name string
		run  func() error
	}{
		{NodeCleaned, func() error { _, err := CleanedSales(ctx, r.raw); return err }},
		{NodeDaily, func() error { _, err := DailySalesSummary(ctx, r.cleaned); return err }},
		{NodeQuality, func() error { _, err := DataQualityMetrics(ctx, r.raw, r.cleaned); return err }},
		{NodeEnriched, func() error { _, err := EnrichedDailySummary(ctx, r.daily); return err }},
		{NodeWeekly, func() error { _, err := WeeklyAggregate(ctx, r.enriched); return err }},
		{NodeTrend, func() error { _, err := Trend(ctx, r.enriched); return err }},
		{NodeTop, func() error { _, err := TopPerformingDays(ctx, r.enriched); return err }},
		{"profile", func() error { _ = r.raw.computeProfile(); return nil }},
	}
	for _, n := range nodes {
		b.Run(n.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := n.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPipeline measures the whole chain, read to last node.
func BenchmarkPipeline(b *testing.B) {
	src := benchSource(b)
	b.SetBytes(src.Size)
	b.ReportAllocs()
	for b.Loop() {
		runNodes(b, src, Options{})
	}
}

// BenchmarkParseChunk measures the parser alone on one goroutine: 8 MiB
// of generated rows already in memory, dictionaries warm, output buffers
// reused as ReadSales reuses them. "rows" builds the typed row table (rows
// mode); "stream" reduces the rows as raw_sales_data does by default
// (daily lists, product sets, duplicate entries), "stream+profile" also
// computes the input profile (lineage on).
func BenchmarkParseChunk(b *testing.B) {
	data, err := os.ReadFile(benchFile(b))
	if err != nil {
		b.Fatal(err)
	}
	data = data[:8<<20]
	cut := bytes.LastIndexByte(data, '\n') + 1
	buf := make([]byte, cut+pad)
	copy(buf, data[:cut])
	start := bytes.IndexByte(buf, '\n') + 1
	lay := &layout{nfields: 4, col: [4]int{0, 1, 2, 3}}
	rows := bytes.Count(buf[start:cut], []byte{'\n'})
	for _, mode := range []string{"rows", "stream", "stream+profile"} {
		b.Run(mode, func(b *testing.B) {
			p := newParser(lay, false, 0)
			free := make(chan chunkAgg, 1)
			if mode != "rows" {
				p.agg = newWorkerAgg(free, true, mode == "stream+profile")
			}
			b.SetBytes(int64(cut - start))
			b.ReportAllocs()
			var res chunkResult
			for b.Loop() {
				p.parse(buf, start, cut, 2, &res)
				got := res.seg.len()
				if p.agg != nil {
					got = res.agg.rows
					free <- chunkAgg{dates: res.agg.dates[:0], amts: res.agg.amts[:0]}
					p.agg.dups = &dupParts{} // entries per chunk, as in a read
				}
				if res.fatal != nil || got != rows {
					b.Fatalf("parsed %d of %d rows (%v)", got, rows, res.fatal)
				}
				res = chunkResult{seg: res.seg}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
		})
	}
}
