package pipeline

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/frame"
)

func pct(v float64) *float64 { return &v }

func runChecks(t *testing.T, src Source, opts Options, co CheckOptions) *checks.Runner {
	t.Helper()
	r, err := checks.NewRunner(nil, DefaultChecks(co)...)
	require.NoError(t, err)
	executeAll(t, src, opts, r.Hooks())
	return r
}

func TestDefaultChecksPassOnSample(t *testing.T) {
	r := runChecks(t, SampleSource(), Options{}, CheckOptions{})
	res := r.Results()
	require.NotEmpty(t, res)
	for _, x := range res {
		require.True(t, x.Success, x.String())
	}
	require.NoError(t, r.Err())
	// Every checked node ran and was checked.
	for _, s := range DefaultChecks(CheckOptions{}) {
		_, ok := r.NodeResults(s.Node)
		require.True(t, ok, s.Node)
	}
}

// TestCheckedColumnsAreDeclared: a check on a column the node does not
// have would fail with "no column"; the declarations and the checks must
// agree.
func TestCheckedColumnsAreDeclared(t *testing.T) {
	c := catalog(t)
	for _, s := range DefaultChecks(CheckOptions{MaxDataLoss: pct(1)}) {
		cols, ok := c.Columns(s.Node)
		require.True(t, ok, s.Node)
		for _, ch := range s.Checks {
			if ch.Column != "" {
				require.Contains(t, cols, ch.Column, "%s: check %s", s.Node, ch.Name)
			}
		}
	}
}

func TestMaxDataLoss(t *testing.T) {
	// The sample loses 2 of 45 rows: 4.44%.
	tests := []struct {
		name string
		max  *float64
		fail bool
	}{
		{"no limit", nil, false},
		{"above the loss", pct(5), false},
		{"below the loss", pct(1), true},
		{"zero", pct(0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runChecks(t, SampleSource(), Options{}, CheckOptions{MaxDataLoss: tt.max})
			err := r.Err()
			if !tt.fail {
				require.NoError(t, err)
				return
			}
			var fe *checks.FailedError
			require.ErrorAs(t, err, &fe)
			require.Len(t, fe.Failed, 1)
			require.Equal(t, "max_data_loss", fe.Failed[0].Name)
			require.Equal(t, "4.444444444444445", fe.Failed[0].Actual)
			require.Contains(t, err.Error(), "data_quality_metrics: max_data_loss (data_loss_rate) expected <= ")
		})
	}
}

func TestCheckOptionsValidate(t *testing.T) {
	for _, v := range []float64{0, 4.5, 100} {
		require.NoError(t, CheckOptions{MaxDataLoss: pct(v)}.Validate())
	}
	require.NoError(t, CheckOptions{}.Validate())
	for _, v := range []float64{-1, 100.5, math.NaN()} {
		require.ErrorContains(t, CheckOptions{MaxDataLoss: pct(v)}.Validate(), "--max-data-loss must be a percentage between 0 and 100")
	}
}

func TestDuplicatesWarnOnly(t *testing.T) {
	data := "date,product_id,amount,customer_id\n" +
		"2024-01-01,P1,10.00,C1\n" +
		"2024-01-01,P1,10.0,C1\n" +
		"2024-01-02,P2,5,C2\n"
	r := runChecks(t, stringSource("dups.csv", data), Options{}, CheckOptions{})
	require.NoError(t, r.Err(), "a warning does not fail the run")
	res, ok := r.NodeResults(NodeQuality)
	require.True(t, ok)
	var dup checks.Result
	for _, x := range res {
		if x.Name == "no_duplicate_rows" {
			dup = x
		}
	}
	require.False(t, dup.Success)
	require.Equal(t, checks.Warn, dup.Importance)
	require.Equal(t, "1", dup.Actual)
}

// TestBrokenResultsFail feeds results that break the invariants straight
// to the checks: each broken property is reported, all at once.
func TestBrokenResultsFail(t *testing.T) {
	r, err := checks.NewRunner(nil, DefaultChecks(CheckOptions{})...)
	require.NoError(t, err)
	daily := &DailySummary{
		Date:             []frame.Date{19002, 19001, 19001},
		TotalAmount:      []float64{10, -1, math.NaN()},
		AvgAmount:        []float64{10, 1, 2},
		TransactionCount: []int64{1, 0, 1},
		UniqueProducts:   []int64{1, 1, 1},
	}
	r.Evaluate(NodeDaily, daily)
	r.Evaluate(NodeTop, make([]TopDay, 6))
	r.Evaluate(NodeTrend, TrendAnalysis{MaxSalesAmount: 5, MinSalesAmount: 1, Volatility: frame.SomeFloat(-1)})
	q := int64(3)
	r.Evaluate(NodeQuality, QualityMetrics{RawRecordCount: 10, CleanedRecordCount: 0, DataLossRate: 100, RejectedRecordCount: &q})
	var fe *checks.FailedError
	require.ErrorAs(t, r.Err(), &fe)
	var got []string
	for _, x := range fe.Failed {
		got = append(got, x.Node+"."+x.Name)
	}
	require.Equal(t, []string{
		NodeDaily + ".unique_date",
		NodeDaily + ".ascending_date",
		NodeDaily + ".range_total_amount",
		NodeDaily + ".range_transaction_count",
		NodeDaily + ".not_null_total_amount",
		NodeQuality + ".range_cleaned_record_count",
		NodeTrend + ".range_volatility",
		NodeTop + ".row_count",
		NodeTop + ".unique_date",
	}, got)
	require.True(t, strings.HasPrefix(fe.Error(), "9 data-quality checks failed: "))
}

func TestCheckAccessors(t *testing.T) {
	q := int64(2)
	f := qualityTable(QualityMetrics{RawRecordCount: 5, RejectedRecordCount: &q})
	require.NoError(t, f.Validate())
	require.Equal(t, "rejected_record_count", f.Columns[len(f.Columns)-1].Name)
	tr := trendTable(TrendAnalysis{WeekendPremium: frame.SomeFloat(3)})
	require.NoError(t, tr.Validate())
	require.True(t, tr.Columns[5].IsNull(0), "weekday_avg_sales unset is null")
	require.False(t, tr.Columns[7].IsNull(0))
	top := topTable([]TopDay{{Date: 19000, TotalAmount: 3, DayOfWeek: "Monday"}})
	require.NoError(t, top.Validate())
	require.Equal(t, 1, top.Rows())
	require.Equal(t, "Monday", top.Columns[3].Strings[0])
}
