package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestU64Set(t *testing.T) {
	s := newU64Set(4)
	require.True(t, s.insert(0)) // zero is a key like any other
	require.False(t, s.insert(0))
	require.True(t, s.has(0))
	require.False(t, s.has(7))
	for k := uint64(1); k <= 1000; k++ {
		require.True(t, s.insert(k*0x9E3779B97F4A7C15))
	}
	require.Equal(t, 1001, s.len())
	k500 := uint64(500)
	require.True(t, s.has(k500*0x9E3779B97F4A7C15))
	n := 0
	s.each(func(uint64) { n++ })
	require.Equal(t, 1001, n)

	s.reset(10) // keeps its (larger) table, empties it
	require.Equal(t, 0, s.len())
	require.False(t, s.has(0))
	s.reset(100_000) // grows
	require.GreaterOrEqual(t, len(s.slots), 200_000)
	require.True(t, s.insert(3))
}

func TestParallelFor(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 50} {
		seen := make([]int, 100)
		parallelFor(len(seen), workers, func(w, i int) {
			require.GreaterOrEqual(t, w, 0)
			seen[i]++
		})
		for i, c := range seen {
			require.Equal(t, 1, c, "index %d, %d workers", i, workers)
		}
	}
	parallelFor(0, 4, func(int, int) { t.Fatal("called for n = 0") })
}

func TestBadFieldsAreNotQuotedInMessages(t *testing.T) {
	long := strings.Repeat("9", 45) + "x"
	_, err := ReadSales(context.Background(), stringSource("in.csv", hdr+"2024-01-01,P,"+long+",C\n"), Options{})
	require.EqualError(t, err, `in.csv:2: invalid amount (want a decimal number such as 12.50)`)

	r, err := ReadSales(context.Background(), stringSource("in.csv", hdr+"2024-01-01,P,1,C\n"), Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.True(t, r.SkipMode())
}
