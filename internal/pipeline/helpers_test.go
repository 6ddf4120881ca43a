package pipeline

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// results holds every node's output for one input.
type results struct {
	raw      *RawSales
	cleaned  *Sales
	daily    *DailySummary
	quality  QualityMetrics
	enriched *EnrichedSummary
	weekly   *WeeklyAggregation
	trend    TrendAnalysis
	top      []TopDay
}

// runNodes calls the node functions in dependency order.
func runNodes(t testing.TB, src Source, opts Options) *results {
	t.Helper()
	ctx := context.Background()
	var r results
	var err error
	r.raw, err = ReadSales(ctx, src, opts)
	require.NoError(t, err)
	r.cleaned, err = CleanedSales(ctx, r.raw)
	require.NoError(t, err)
	r.daily, err = DailySalesSummary(ctx, r.cleaned)
	require.NoError(t, err)
	r.quality, err = DataQualityMetrics(ctx, r.raw, r.cleaned)
	require.NoError(t, err)
	r.enriched, err = EnrichedDailySummary(ctx, r.daily)
	require.NoError(t, err)
	r.weekly, err = WeeklyAggregate(ctx, r.enriched)
	require.NoError(t, err)
	r.trend, err = Trend(ctx, r.enriched)
	require.NoError(t, err)
	r.top, err = TopPerformingDays(ctx, r.enriched)
	require.NoError(t, err)
	return &r
}

// stringSource is an in-memory input.
func stringSource(name, data string) Source {
	return Source{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
}

// rendered is every output as the bytes the reference writes.
func (r *results) rendered() map[string]string {
	return map[string]string{
		NodeDaily:    renderCSV(r.daily.Table()),
		NodeEnriched: renderCSV(r.enriched.Table()),
		NodeWeekly:   renderCSV(r.weekly.Table()),
		NodeQuality:  renderJSON(r.quality),
		NodeTrend:    renderJSON(r.trend),
		NodeTop:      renderJSON(r.top),
	}
}
