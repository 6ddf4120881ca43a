package pipeline

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProfileAmountsAtRoundingEdges feeds amounts whose product with 100 is
// not exact in float64 (1.1*100 = 110.00000000000001, 0.29*100 =
// 28.999999999999996): the profile once sized its cents bitset with
// ceil(min*100)/100 and floor(max*100)/100 and indexed it out of range.
// Each case is checked against a naive computation, at several worker
// counts and chunk sizes (so that segments are scanned in parallel).
func TestProfileAmountsAtRoundingEdges(t *testing.T) {
	many := func(n int, amount string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = amount
		}
		return out
	}
	cases := []struct {
		name    string
		amounts []string
	}{
		{"min 1.1 rounds up", append(many(5000, "5.00"), "1.1")},
		{"min 1.1 first", append([]string{"1.1"}, many(5000, "5.00")...)},
		{"max 0.29 rounds down", append(many(3000, "0.01"), "0.29", "0.29")},
		{"negative edges", append(many(3000, "-0.29"), "-1.1", "0.57", "-0.57")},
		{"only the edge", []string{"1.1", "1.1"}},
		{"many edges", []string{"0.07", "0.14", "0.28", "0.29", "0.57", "0.58", "1.1", "1.13", "2.01", "4.35", "8.7", "9.95", "1.005", "3"}},
		{"tiny and huge", []string{"1.1", "1e-9", "123456789012.34", "0.000001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(hdr)
			for i, a := range tc.amounts {
				fmt.Fprintf(&b, "2024-01-%02d,P%d,%s,C%d\n", i%28+1, i%7, a, i%11)
			}
			want := naiveAmountProfile(t, tc.amounts)
			for _, w := range []int{1, 2, 8} {
				for _, chunk := range []int{0, 512} {
					r, err := read(t, b.String(), Options{Workers: w, chunkSize: chunk})
					require.NoError(t, err)
					p, err := r.Profile()
					require.NoError(t, err, "workers %d chunk %d", w, chunk)
					require.Equal(t, int64(len(tc.amounts)), p.RowCount)
					require.Equal(t, want.count, p.AmountCount)
					require.Equal(t, want.distinct, p.Columns[colAmount].DistinctCount, "workers %d chunk %d", w, chunk)
					require.Equal(t, want.min, p.AmountMin)
					require.Equal(t, want.max, p.AmountMax)
					require.InEpsilon(t, want.sum, p.AmountSum, 1e-12, "workers %d chunk %d", w, chunk)
				}
			}
		})
	}
}

type amountStats struct {
	count, distinct int64
	min, max, sum   float64
}

func naiveAmountProfile(t *testing.T, amounts []string) amountStats {
	t.Helper()
	s := amountStats{min: math.Inf(1), max: math.Inf(-1)}
	seen := map[float64]bool{}
	sum := new(big.Float).SetPrec(2000)
	for _, a := range amounts {
		v, err := strconv.ParseFloat(a, 64)
		require.NoError(t, err)
		s.count++
		if !seen[v] {
			seen[v] = true
			s.distinct++
		}
		s.min, s.max = min(s.min, v), max(s.max, v)
		sum.Add(sum, new(big.Float).SetFloat64(v))
	}
	s.sum, _ = sum.Float64()
	return s
}

func mustProfile(t *testing.T, r *RawSales) InputProfile {
	t.Helper()
	p, err := r.Profile()
	require.NoError(t, err)
	return p
}
