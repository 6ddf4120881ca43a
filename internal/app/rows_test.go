package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/pipeline"
)

type lenPanics struct{}

func (*lenPanics) Len() int { panic("boom") }

func TestResultRows(t *testing.T) {
	var nilDaily *pipeline.DailySummary
	for _, tc := range []struct {
		name string
		v    any
		n    int64
		ok   bool
	}{
		{"table", &pipeline.DailySummary{Date: make([]frame.Date, 3)}, 3, true},
		{"slice", []pipeline.TopDay{{}, {}}, 2, true},
		{"record", pipeline.TrendAnalysis{}, 1, true},
		{"pointer to record", &pipeline.QualityMetrics{}, 1, true},
		{"nil", nil, 0, false},
		{"typed nil", nilDaily, 0, false},
		{"scalar", 3, 0, false},
		{"panicking Len", &lenPanics{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := resultRows(tc.v)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.n, n)
		})
	}
}
