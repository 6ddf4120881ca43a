package cache

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteList(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Header: Header{Node: "daily_sales_summary", Key: "0123456789abcdef0123", Created: now.Add(-50 * time.Hour), Input: "sales.csv"}, Bytes: 14 << 10, LastUsed: now.Add(-90 * time.Second)},
		{Header: Header{Node: "trend_analysis", Key: "abc"}, Bytes: 300, LastUsed: now.Add(-3 * time.Hour), Corrupt: "truncated"},
	}
	var b bytes.Buffer
	require.NoError(t, WriteList(&b, entries, now))
	want := "NODE                                 INPUT      KEY           SIZE      AGE  LAST USED\n" +
		"daily_sales_summary                  sales.csv  0123456789ab  14.0 KiB  2d   1m ago\n" +
		"trend_analysis (corrupt: truncated)  -          abc           300 B     ?    3h ago\n" +
		"2 entries, 14.3 KiB\n"
	require.Equal(t, want, b.String())
}

func TestFormatAge(t *testing.T) {
	ages := []struct {
		d    time.Duration
		want string
	}{{-time.Second, "0s"}, {5 * time.Second, "5s"}, {5 * time.Minute, "5m"}, {5 * time.Hour, "5h"}, {72 * time.Hour, "3d"}}
	for _, tc := range ages {
		require.Equal(t, tc.want, FormatAge(tc.d))
	}
}
