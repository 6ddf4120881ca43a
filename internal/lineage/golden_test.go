package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenRootEvent pins the exact JSON of a root COMPLETE event (the
// README's example comes from testdata/root_complete_event.json).
func TestGoldenRootEvent(t *testing.T) {
	rec := &lineagetest.Recorder{}
	fixed := time.Date(2025, 3, 14, 9, 26, 53, 589000000, time.UTC)
	in, err := lineage.InputFileDataset(lineage.InputFile{
		Path:     "/data/sales_raw.csv",
		Schema:   []frame.Field{{Name: "date", Type: "date"}, {Name: "product_id", Type: "string"}, {Name: "customer_id", Type: "string"}, {Name: "amount", Type: "float64"}},
		Measured: true, Rows: 1000, Bytes: 41234,
		Columns: map[string]lineage.ColumnMetrics{
			"amount":      {NullCount: lineage.Int(3), DistinctCount: lineage.Int(812), Sum: lineage.Num(152034.5), Min: lineage.Num(-20), Max: lineage.Num(999.99)},
			"customer_id": {NullCount: lineage.Int(0), DistinctCount: lineage.Int(250)},
		},
	})
	require.NoError(t, err)
	out, err := lineage.OutputFileDataset(lineage.OutputFile{Path: "/out/daily_sales_summary.csv", Schema: []frame.Field{{Name: "date", Type: "date"}, {Name: "total_sales", Type: "float64"}}, Rows: 31, Bytes: 1022})
	require.NoError(t, err)
	tr, err := lineage.NewTracker(lineage.TrackerConfig{
		Sink: rec, Namespace: "default", Version: "1.0.0",
		RunID:  uuid.MustParse("0195937a-2b5d-7c1e-8f3a-4b6c8d0e1f20"),
		Parent: &lineage.ParentContext{Parent: lineage.RunRef{Namespace: "airflow", Name: "sales.run_salesdag", RunID: uuid.MustParse(pid)}},
		Now:    func() time.Time { return fixed },
	})
	require.NoError(t, err)
	require.NoError(t, tr.Finish(context.Background(), lineage.Completed, nil, []lineage.InputDataset{in}, []lineage.OutputDataset{out}))
	evs := rec.Events()
	require.Len(t, evs, 2)
	lineagetest.Validate(t, evs[1])
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, evs[1], "", "  "))
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "root_complete_event.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestGoldenRootEvent -update to create it")
	require.Equal(t, string(want), pretty.String())
}
