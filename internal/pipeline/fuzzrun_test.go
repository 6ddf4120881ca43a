package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runOutcome is everything a whole run produces from one input: every
// node's output as written, the rejected rows, or the error that stopped
// it.
type runOutcome struct {
	rendered map[string]string
	rejected []RejectedRow
	err      string
}

// runAll calls every node in dependency order and stops at the first
// error, as the engine does. (The input profile, a side computation of
// the lineage, is left out: its own tests cover it.)
func runAll(src Source, opts Options) runOutcome {
	ctx := context.Background()
	var r results
	var err error
	fail := func(node string, err error) runOutcome {
		return runOutcome{err: node + ": " + err.Error()}
	}
	if r.raw, err = ReadSales(ctx, src, opts); err != nil {
		return fail(NodeRaw, err)
	}
	if r.cleaned, err = CleanedSales(ctx, r.raw); err != nil {
		return fail(NodeCleaned, err)
	}
	if r.daily, err = DailySalesSummary(ctx, r.cleaned); err != nil {
		return fail(NodeDaily, err)
	}
	if r.quality, err = DataQualityMetrics(ctx, r.raw, r.cleaned); err != nil {
		return fail(NodeQuality, err)
	}
	if r.enriched, err = EnrichedDailySummary(ctx, r.daily); err != nil {
		return fail(NodeEnriched, err)
	}
	if r.weekly, err = WeeklyAggregate(ctx, r.enriched); err != nil {
		return fail(NodeWeekly, err)
	}
	if r.trend, err = Trend(ctx, r.enriched); err != nil {
		return fail(NodeTrend, err)
	}
	if r.top, err = TopPerformingDays(ctx, r.enriched); err != nil {
		return fail(NodeTop, err)
	}
	out := runOutcome{rendered: r.rendered(), rejected: r.raw.Rejected()}
	if msg := r.consistent(); msg != "" {
		out.err = "inconsistent results: " + msg
	}
	return out
}

// consistent checks what the nodes must agree on whatever the input.
func (r *results) consistent() string {
	q := r.quality
	var tx, wtx int64
	for _, c := range r.daily.TransactionCount {
		tx += c
	}
	for _, c := range r.weekly.WeeklyTransactions {
		wtx += c
	}
	switch {
	case q.RawRecordCount != int64(r.raw.Len()):
		return fmt.Sprintf("raw_record_count %d, %d raw rows", q.RawRecordCount, r.raw.Len())
	case q.CleanedRecordCount != int64(r.cleaned.Len()) || q.CleanedRecordCount > q.RawRecordCount:
		return fmt.Sprintf("cleaned_record_count %d, %d cleaned and %d raw rows", q.CleanedRecordCount, r.cleaned.Len(), r.raw.Len())
	case tx != q.CleanedRecordCount || wtx != tx:
		return fmt.Sprintf("transactions: %d daily, %d weekly, %d cleaned rows", tx, wtx, q.CleanedRecordCount)
	case q.DuplicateCount < 0 || q.DuplicateCount >= max(q.RawRecordCount, 1):
		return fmt.Sprintf("duplicate_count %d of %d rows", q.DuplicateCount, q.RawRecordCount)
	case q.NullCount < 0 || q.NullCount > 4*q.RawRecordCount:
		return fmt.Sprintf("null_count %d of %d rows", q.NullCount, q.RawRecordCount)
	case len(r.top) != min(5, len(r.daily.Date)):
		return fmt.Sprintf("%d top days of %d", len(r.top), len(r.daily.Date))
	}
	return ""
}

// runConfigs are the chunk sizes and worker counts a run must not depend
// on: one chunk, then chunks that cut inside records and fields.
var runConfigs = []struct{ chunk, workers int }{{0, 1}, {7, 2}, {64, 3}, {1000, 8}}

// checkRun runs data with every policy and configuration: no panic, the
// same outcome everywhere, errors that are one clean line, and a skip run
// that equals the fail run when nothing was rejected.
func checkRun(t *testing.T, data string) {
	var byPolicy [2]runOutcome
	for p, policy := range []BadRowPolicy{FailOnBadRows, SkipBadRows} {
		var first runOutcome
		for i, cfg := range runConfigs {
			opts := Options{OnBadRows: policy, Workers: cfg.workers, chunkSize: cfg.chunk}
			got := runAll(stringSource("in.csv", data), opts)
			require.NotContains(t, got.err, "inconsistent", "%v %+v", policy, cfg)
			if got.err != "" {
				require.NotContains(t, got.err, "\n", "an error is one line (%v %+v)", policy, cfg)
				require.NotContains(t, got.err, "\r", "an error is one line (%v %+v)", policy, cfg)
			}
			if i == 0 {
				first = got
				continue
			}
			require.Equal(t, first.err, got.err, "%v: chunk %d, %d workers vs one chunk, one worker", policy, cfg.chunk, cfg.workers)
			require.Equal(t, first.rendered, got.rendered, "%v: chunk %d, %d workers vs one chunk, one worker", policy, cfg.chunk, cfg.workers)
			require.Equal(t, first.rejected, got.rejected, "%v: chunk %d, %d workers vs one chunk, one worker", policy, cfg.chunk, cfg.workers)
		}
		byPolicy[p] = first
	}
	fail, skip := byPolicy[0], byPolicy[1]
	if fail.err == "" {
		require.Empty(t, skip.rejected, "the fail policy read every row")
		require.Empty(t, skip.err)
		// The skip policy adds the count of rejected rows to the metrics.
		skipped := maps.Clone(skip.rendered)
		skipped[NodeQuality] = strings.Replace(skipped[NodeQuality], ",\n  \"rejected_record_count\": 0\n}", "\n}", 1)
		require.Equal(t, fail.rendered, skipped, "no bad row: both policies give the same results")
	}
	if len(skip.rejected) > 0 {
		require.NotEmpty(t, fail.err, "a rejected row fails the run under the fail policy")
	}
}

// fuzzRunSeeds are small random valid inputs of every shape, plus the
// reader's seeds.
func fuzzRunSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, s := range fuzzSeeds {
		out = append(out, []byte(s))
	}
	for seed := int64(1); seed <= 40; seed++ {
		var b bytes.Buffer
		require.NoError(t, GenerateRandom(&b, seed, 1+int(seed%25)))
		out = append(out, b.Bytes())
	}
	return out
}

// FuzzRun runs every node on arbitrary input (make fuzz-run): results do
// not depend on the number of workers or the chunk size, nothing panics,
// errors are clean.
func FuzzRun(f *testing.F) {
	for _, s := range fuzzRunSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<13 {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkRun(t, string(data))
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("running on %d bytes did not finish in 30s", len(data))
		}
	})
}

// TestRunInvariants checks the fuzz seeds and some bigger random inputs
// on every go test.
func TestRunInvariants(t *testing.T) {
	for _, s := range fuzzRunSeeds(t) {
		checkRun(t, string(s))
	}
	for seed := int64(100); seed < 104; seed++ {
		var b strings.Builder
		require.NoError(t, GenerateRandom(&b, seed, 3000))
		checkRun(t, b.String())
	}
}
