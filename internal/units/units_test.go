package units

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{2048, "2.0 KiB"},
		{5 << 20, "5.0 MiB"},
		{3 << 30, "3.0 GiB"},
		{2 << 40, "2.0 TiB"},
		{-2048, "-2.0 KiB"},
		{1 << 62, "4.0 EiB"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Bytes(c.n), "Bytes(%d)", c.n)
	}
}

func TestCountAndPlural(t *testing.T) {
	counts := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"}, {999999, "999,999"},
		{1000000, "1,000,000"}, {5000000, "5,000,000"}, {-1234, "-1,234"}, {-999, "-999"},
		{math.MaxInt64, "9,223,372,036,854,775,807"}, {math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, c := range counts {
		require.Equal(t, c.want, Count(c.n), "Count(%d)", c.n)
	}
	plurals := []struct {
		n          int64
		noun, want string
	}{
		{1, "row", "1 row"}, {0, "row", "0 rows"}, {2, "file", "2 files"}, {1, "file", "1 file"},
		{5000000, "row", "5,000,000 rows"}, {-1, "row", "-1 rows"},
	}
	for _, c := range plurals {
		require.Equal(t, c.want, Plural(c.n, c.noun), "Plural(%d, %q)", c.n, c.noun)
	}
}
