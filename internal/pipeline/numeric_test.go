package pipeline

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundIsNumpys(t *testing.T) {
	// Expected values are numpy's np.round(x, d).
	cases := []struct {
		x    float64
		d    int
		want float64
	}{
		{0.125, 2, 0.12},   // exact tie in binary: half to even (half-up would give 0.13)
		{0.375, 2, 0.38},   // exact tie: half to even goes up here
		{-0.125, 2, -0.12}, // symmetric
		{1350.125, 2, 1350.12},
		{2.675, 2, 2.68}, // 2.675*100 rounds to 267.5 in float64: numpy says 2.68, Python's round() 2.67
		{1.115, 2, 1.12}, // likewise (round() gives 1.11)
		{1.005, 2, 1.0},
		{2.5, 0, 2},
		{3.5, 0, 4},
		{5927.318181818182, 2, 5927.32},
		{-0.34946, 4, -0.3495},
		{4.444444444444445, 2, 4.44},
	}
	for _, c := range cases {
		require.Equal(t, c.want, round(c.x, c.d), "round(%v, %d)", c.x, c.d)
	}
	require.True(t, math.IsNaN(round(math.NaN(), 2)))
	require.True(t, math.IsInf(round(math.Inf(1), 2), 1))
}

func TestKahanMatchesPandasGroupSum(t *testing.T) {
	var k kahan
	naive := 0.0
	for range 10 {
		k.add(0.1)
		naive += 0.1
	}
	require.Equal(t, 1.0, k.sum) // pandas' groupby sum of ten 0.1
	require.Equal(t, 0.9999999999999999, naive)

	// The result is the running sum, not sum minus the final compensation:
	// two terms give the plain float sum, as pandas does.
	a, b := 734.95, 49.70 // variables: Go folds constant expressions exactly
	k = kahan{}
	k.add(a)
	k.add(b)
	require.Equal(t, a+b, k.sum)
	require.Equal(t, 784.6500000000001, k.sum)
	require.Equal(t, 392.33, round(k.sum/2, 2)) // pandas; the exact decimal mean rounds to 392.32

	// An infinite value keeps the sum infinite instead of NaN (GH#53606).
	k = kahan{}
	k.add(1)
	k.add(math.Inf(1))
	k.add(1)
	require.True(t, math.IsInf(k.sum, 1))
}

func TestPairwiseSumIsNumpys(t *testing.T) {
	require.Equal(t, 0.0, pairwiseSum(nil))
	// Below 8 values numpy adds in order.
	x, y, z := 0.1, 0.2, 0.3
	require.Equal(t, x+y+z, pairwiseSum([]float64{x, y, z}))
	// From 8 to 128 it uses 8 accumulators, combined pairwise.
	a := make([]float64, 10)
	for i := range a {
		a[i] = float64(i) + 0.1
	}
	r := [8]float64{}
	copy(r[:], a[:8])
	want := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + a[8] + a[9]
	require.Equal(t, want, pairwiseSum(a))
	// Above 128 it splits at a multiple of 8 below the middle.
	b := make([]float64, 300)
	for i := range b {
		b[i] = 1.0 / float64(i+1)
	}
	require.Equal(t, pairwise(b[:144])+pairwise(b[144:]), pairwiseSum(b))
	require.InDelta(t, 6.282663880299504, pairwiseSum(b), 1e-12)
}

func TestSeriesStatsArePandas(t *testing.T) {
	require.True(t, math.IsNaN(seriesMean(nil)))
	require.Equal(t, 2.0, seriesMean([]float64{1, 2, 3}))
	require.True(t, math.IsNaN(seriesStd([]float64{5})))
	// Hand-checked: values 2,4,4,4,5,5,7,9 have mean 5 and squared
	// deviations summing to 32; sample variance 32/7.
	require.Equal(t, math.Sqrt(32.0/7), seriesStd([]float64{2, 4, 4, 4, 5, 5, 7, 9}))
	// Large values, small spread: the two-pass algorithm keeps the 0.02
	// pandas reports; sqrt(E[x^2]-E[x]^2) loses it all to cancellation.
	big := []float64{100000000.01, 100000000.02, 100000000.04}
	require.Equal(t, 0.02, round(seriesStd(big), 2))
	m := (big[0] + big[1] + big[2]) / 3
	naive := math.Sqrt(math.Max(0, (big[0]*big[0]+big[1]*big[1]+big[2]*big[2])/3-m*m) * 1.5)
	require.Equal(t, 0.0, round(naive, 2))

	var w welford
	for _, v := range big {
		w.add(v)
	}
	require.Equal(t, 0.02, round(w.std(), 2)) // pandas' groupby std (Welford)
	w = welford{}
	w.add(3)
	require.True(t, math.IsNaN(w.std()))
	w = welford{}
	for _, v := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		w.add(v)
	}
	require.InDelta(t, math.Sqrt(32.0/7), w.std(), 1e-15)
}

func TestRollingMeanIsPandas(t *testing.T) {
	// pandas 77337.19 at index 5; summing each window afresh gives 77337.2.
	vals := []float64{66024.68, 85408.34, 62422.35, 91298.75, 74635.14, 84233.91, 45004.32, 6028.10, 4605.48, 61072.48, 77997.24, 53430.58}
	got := rollingMean(vals, 7)
	require.Equal(t, 77337.19, round(got[5], 2))
	naive := 0.0
	for _, v := range vals[:6] {
		naive += v
	}
	require.Equal(t, 77337.2, round(naive/6, 2))
	require.Equal(t, vals[0], got[0])
	require.Len(t, got, len(vals))

	// A window of equal values gives that value exactly, as pandas does.
	same := rollingMean([]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 7)
	for _, v := range same {
		require.Equal(t, 0.1, v)
	}
	// Windows of one row are re-initialised each time.
	require.Equal(t, []float64{1, 2, 3}, rollingMean([]float64{1, 2, 3}, 1))
	// Sign guards: all non-negative values never average below 0.
	require.Equal(t, 0.0, rollingMean([]float64{1e-300, 0, 0}, 2)[2])
	// NaN values are skipped (never produced by the nodes, but pandas
	// ignores them).
	r := rollingMean([]float64{math.NaN(), 2, 4}, 2)
	require.True(t, math.IsNaN(r[0]))
	require.Equal(t, []float64{2, 3}, r[1:])
	require.Empty(t, rollingMean(nil, 7))
}

func TestPctChangeForm(t *testing.T) {
	prev, cur := 1600.0, 7785.68
	got := pctChange([]float64{prev, cur, 0, 5})
	require.True(t, math.IsNaN(got[0]))
	require.Equal(t, cur/prev-1, got[1])
	require.Equal(t, 3.8661, round(got[1], 4)) // (cur-prev)/prev rounds to 3.866
	require.Equal(t, 3.866, round((cur-prev)/prev, 4))
	require.Equal(t, -1.0, got[2])
	require.True(t, math.IsInf(got[3], 1)) // division by a zero total, as pandas
}

func TestExactSum(t *testing.T) {
	var e exactSum
	require.Equal(t, 0.0, e.value())
	for range 10 {
		e.add(0.1)
	}
	require.Equal(t, 1.0, e.value()) // math.fsum([0.1]*10)
	// Catastrophic cancellation is exact.
	e = exactSum{}
	for _, v := range []float64{1e100, 1, -1e100, 1e-100} {
		e.add(v)
	}
	require.Equal(t, 1.0, e.value())
	// Half-way cases across partials round to even, as CPython's fsum:
	// fsum([1, 1e-16, 1e-16... ]) style inputs.
	e = exactSum{}
	for _, v := range []float64{1, 1.1102230246251565e-16, 1.1102230246251565e-16 / 1024} {
		e.add(v)
	}
	require.Equal(t, 1.0000000000000002, e.value())
	// Merging parts gives the same result in any order.
	rng := []float64{}
	for i := range 1000 {
		rng = append(rng, math.Sin(float64(i))*math.Pow(10, float64(i%20-10)))
	}
	var whole, a, b exactSum
	for _, v := range rng {
		whole.add(v)
	}
	for _, v := range rng[:333] {
		a.add(v)
	}
	for _, v := range rng[333:] {
		b.add(v)
	}
	b.merge(&a)
	require.Equal(t, whole.value(), b.value())
}
