package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateIsDeterministicAndRealistic(t *testing.T) {
	var a, b, c bytes.Buffer
	require.NoError(t, Generate(&a, 100_000, 9))
	require.NoError(t, Generate(&b, 100_000, 9))
	require.NoError(t, Generate(&c, 100_000, 10))
	require.Equal(t, a.Bytes(), b.Bytes())
	require.NotEqual(t, a.Bytes(), c.Bytes())
	require.True(t, strings.HasPrefix(a.String(), hdr))

	r := runNodes(t, stringSource("gen.csv", a.String()), Options{})
	require.Equal(t, 100_000, r.raw.Len())
	require.Empty(t, r.raw.Rejected())
	p := mustProfile(t, r.raw)
	require.Equal(t, int64(365), p.Columns[colDate].DistinctCount)
	require.Equal(t, int64(500), p.Columns[colProduct].DistinctCount)
	require.InDelta(t, 43_233, p.Columns[colCustomer].DistinctCount, 500) // 100k draws from 50k: 50k*(1-e^-2)
	// About 1% dirty rows, 0.05% duplicates.
	dirty := float64(r.quality.RawRecordCount-r.quality.CleanedRecordCount) / float64(r.quality.RawRecordCount)
	require.InDelta(t, 0.01, dirty, 0.002)
	require.InDelta(t, 50, r.quality.DuplicateCount, 25)
	require.Len(t, r.daily.Date, 365)
	require.Equal(t, "2024-01-01", r.daily.Date[0].String())
	require.Equal(t, "2024-12-30", r.daily.Date[364].String())

	var empty bytes.Buffer
	require.NoError(t, Generate(&empty, 0, 1))
	require.Equal(t, hdr, empty.String())
	require.Error(t, Generate(&empty, -1, 1))
	require.ErrorContains(t, Generate(failWriter{}, 10, 1), "disk full")
	_, err := ReadSales(context.Background(), stringSource("e.csv", empty.String()), Options{})
	require.Error(t, err)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDateString(t *testing.T) {
	for _, d := range []struct {
		y, m, d int
	}{{1970, 1, 1}, {2024, 2, 29}, {1, 1, 1}, {9999, 12, 31}, {1969, 12, 31}, {2000, 3, 1}} {
		days := daysFromCivil(d.y, d.m, d.d)
		want := strings.Join([]string{pad4(d.y), pad2(d.m), pad2(d.d)}, "-")
		require.Equal(t, want, dateString(days))
		got, ok := parseDate([]byte(want))
		require.True(t, ok)
		require.Equal(t, days, got)
	}
}

func pad4(v int) string { return string(appendPadded(nil, v, 4)) }
func pad2(v int) string { return string(appendPadded(nil, v, 2)) }
