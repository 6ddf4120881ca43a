package dbio

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

// cleanedFrame is shaped like cleaned_sales_data: date, product_id,
// amount, customer_id (as written: the personal column redacted).
func cleanedFrame(n int) *frame.Frame {
	dates := make([]frame.Date, n)
	prods := make([]string, n)
	amts := make([]float64, n)
	custs := make([]string, n)
	start := frame.DateOf(2024, 1, 1)
	for i := range n {
		dates[i] = start + frame.Date(i%366)
		prods[i] = fmt.Sprintf("P%04d", i%500)
		amts[i] = float64(i%100000)/100 + 0.01
		custs[i] = "REDACTED"
	}
	return &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: dates},
		{Name: "product_id", Kind: frame.KindString, Strings: prods},
		{Name: "amount", Kind: frame.KindFloat, Floats: amts},
		{Name: "customer_id", Kind: frame.KindString, Strings: custs},
	}}
}

// BenchmarkPostgresCopy1M loads a 1M-row cleaned_sales_data into
// PostgreSQL in replace mode (one transaction, COPY); rows/s is the
// figure of issue 14 (goal: at least 300k).
func BenchmarkPostgresCopy1M(b *testing.B) {
	u := newDB(b)
	f := cleanedFrame(1_000_000)
	ctx := context.Background()
	out, err := OpenOutput(ctx, u, OutputOptions{})
	require.NoError(b, err)
	defer out.Close()
	b.ResetTimer()
	for b.Loop() {
		w, err := out.Write(ctx, []Table{{Name: "cleaned_sales_data", Frame: f}})
		require.NoError(b, err)
		require.Equal(b, int64(1_000_000), w[0].Rows)
	}
	b.ReportMetric(float64(b.N)*1_000_000/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSQLiteInsert1M is the same into a SQLite file.
func BenchmarkSQLiteInsert1M(b *testing.B) {
	f := cleanedFrame(1_000_000)
	ctx := context.Background()
	out, err := OpenOutput(ctx, "sqlite:"+b.TempDir()+"/bench.db", OutputOptions{})
	require.NoError(b, err)
	defer out.Close()
	b.ResetTimer()
	for b.Loop() {
		_, err := out.Write(ctx, []Table{{Name: "cleaned_sales_data", Frame: f}})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(b.N)*1_000_000/b.Elapsed().Seconds(), "rows/s")
}
