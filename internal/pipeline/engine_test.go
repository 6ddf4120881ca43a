package pipeline

import (
	"bytes"
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// aggregateLikeAnEngine reduces a source as a distributed engine does,
// with the exported pieces only: rows split in two "workers" whose parts
// are merged in the opposite order, exact sums, and the file-order sum for
// the fragile dates.
func aggregateLikeAnEngine(t *testing.T, src Source, opts Options) Aggregates {
	t.Helper()
	opts.KeepRows = true
	raw, err := ReadSales(context.Background(), src, opts)
	require.NoError(t, err)
	type day struct {
		sum   [2]ExactSum
		count int64
		prods map[string]bool
		vals  []float64 // file order
	}
	days := map[int32]*day{}
	keys := map[string]int64{}
	var amounts [2]AmountStats
	distinct := [4]map[string]bool{{}, {}, nil, {}}
	var a Aggregates
	var kb []byte
	raw.EachRow(func(i int64, r *Row) {
		w := i % 2
		a.Rows++
		kb = r.AppendKey(kb[:0])
		keys[string(kb)]++
		amounts[w].Add(r.Amount)
		if r.Date != NullDate {
			distinct[0][strconv.Itoa(int(r.Date))] = true
		}
		if r.HasProduct {
			distinct[1][r.Product] = true
		}
		if r.HasCustomer {
			distinct[3][r.Customer] = true
		}
		if !r.Clean() {
			return
		}
		a.Cleaned++
		d := days[r.Date]
		if d == nil {
			d = &day{prods: map[string]bool{}}
			days[r.Date] = d
		}
		d.sum[w].Add(r.Amount)
		d.count++
		d.prods[r.Product] = true
		d.vals = append(d.vals, r.Amount)
	})
	// Distinct amounts by their key, exactly.
	amts := map[uint64]bool{}
	raw.EachRow(func(_ int64, r *Row) {
		if !math.IsNaN(r.Amount) {
			amts[r.AmountKey()] = true
		}
	})
	a.Distinct = [4]int64{int64(len(distinct[0])), int64(len(distinct[1])), int64(len(amts)), int64(len(distinct[3]))}
	for _, n := range keys {
		a.Duplicates += n - 1
	}
	a.Amounts = amounts[1]
	a.Amounts.Merge(amounts[0])
	for date, d := range days {
		s := d.sum[1]
		s.Merge(d.sum[0])
		sum := s.Value()
		if SumIsFragile(sum, d.count) {
			sum = KahanSum(d.vals)
		}
		a.Daily = append(a.Daily, DaySum{Date: date, Sum: sum, Count: d.count, Products: int64(len(d.prods))})
	}
	a.Nulls, a.Bytes, a.Rejected = raw.Nulls(), raw.BytesRead(), raw.Rejected()
	return a
}

// TestFromAggregatesSameAsNative: the nodes over raw_sales_data built
// from an engine's aggregates give the native engine's results and input
// profile, on random inputs.
func TestFromAggregatesSameAsNative(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		var b bytes.Buffer
		require.NoError(t, GenerateRandom(&b, seed, 1+int(seed*97%4000)))
		src := stringSource("in.csv", b.String())
		want := runNodes(t, src, Options{Workers: 2})
		agg := aggregateLikeAnEngine(t, src, Options{Workers: 2})
		raw := FromAggregates(src, Options{Workers: 2}, agg)
		ctx := context.Background()
		cleaned, err := CleanedSales(ctx, raw)
		require.NoError(t, err)
		daily, err := DailySalesSummary(ctx, cleaned)
		require.NoError(t, err)
		quality, err := DataQualityMetrics(ctx, raw, cleaned)
		require.NoError(t, err)
		require.Equal(t, want.daily, daily, "seed %d", seed)
		require.Equal(t, want.quality, quality, "seed %d", seed)
		wantProf, err := want.raw.Profile()
		require.NoError(t, err)
		gotProf, err := raw.Profile()
		require.NoError(t, err)
		require.Equal(t, wantProf, gotProf, "seed %d", seed)
		require.Equal(t, renderCSV(want.raw.Table()), renderCSV(raw.Table()), "seed %d: rows read again", seed)
	}
}

// TestSumIsFragile: whenever a date is not fragile, the exactly rounded
// sum gives the same total and mean as the compensated sum in any order;
// and some dates are fragile and would differ, so the check is needed.
func TestSumIsFragile(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	differ, fragile := 0, 0
	for range 200_000 {
		n := 3 + r.IntN(40)
		vals := make([]float64, n)
		for i := range vals {
			switch r.IntN(3) {
			case 0: // cents
				vals[i] = float64(1+r.IntN(200_000)) / 100
			case 1: // three decimals, ties at .xx5
				vals[i] = float64(1+r.IntN(2_000_000)) / 1000
			default:
				vals[i] = r.Float64() * math.Pow(10, float64(r.IntN(12)-4))
			}
		}
		var e ExactSum
		for _, v := range vals {
			e.Add(v)
		}
		exact := e.Value()
		k := KahanSum(vals)
		c := float64(n)
		same := round(k, 2) == round(exact, 2) && round(k/c, 2) == round(exact/c, 2)
		if SumIsFragile(exact, int64(n)) {
			fragile++
		} else {
			require.True(t, same, "not fragile but different: %v", vals)
		}
		if !same {
			differ++
		}
	}
	t.Logf("fragile %d, differing %d of 200000", fragile, differ)
	require.Positive(t, differ, "the fallback is never needed: the test draws no hard case")
	require.False(t, SumIsFragile(0.1+0.2, 2), "two amounts: the compensated sum is exact")
}

func TestExactSumAnyOrder(t *testing.T) {
	vals := []float64{1e16, 1, -1e16, 0.1, 0.2, 3.3e-5, 734.95, 49.70}
	var want ExactSum
	for _, v := range vals {
		want.Add(v)
	}
	for range 20 {
		rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		var a, b ExactSum
		for i, v := range vals {
			if i%2 == 0 {
				a.Add(v)
			} else {
				b.Add(v)
			}
		}
		b.Merge(a)
		require.Equal(t, want.Value(), b.Value())
	}
	exact := new(big.Float).SetPrec(2000)
	for _, v := range vals {
		exact.Add(exact, new(big.Float).SetPrec(2000).SetFloat64(v))
	}
	f, _ := exact.Float64()
	require.Equal(t, f, want.Value(), "the exact sum rounded once")
}
